import fastifyCookie from '@fastify/cookie'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Baton } from '../../core/baton.js'
import { BatonError } from '../../core/errors.js'
import { bearerTokenOf, requireBearer } from '../bearer.js'
import { clientContextOf } from '../client-context.js'
import { deliveryModeOf, type RefreshCookie } from '../refresh-delivery.js'
import { CredentialsBody, RefreshTokenBody } from './schemas.js'
import { sendTokens } from './token-response.js'

export interface AuthRoutesOptions {
  baton: Baton
  cookie: RefreshCookie
}

/**
 * Sign-up, sign-in, refresh and sign-out: the routes that hand out or take back tokens, and the
 * only ones that touch the refresh cookie (so only they pay for cookie parsing).
 */
export const authTokenRoutes: FastifyPluginAsyncTypebox<AuthRoutesOptions> = async (
  app,
  { baton, cookie },
) => {
  await app.register(fastifyCookie)

  app.post('/auth/signup', { schema: { body: CredentialsBody } }, async (request, reply) => {
    const mode = deliveryModeOf(request)
    const tokens = await baton.accounts.signup(
      request.body.email,
      request.body.password,
      clientContextOf(request),
    )
    return sendTokens(reply, 201, tokens, mode, cookie)
  })

  app.post('/auth/login', { schema: { body: CredentialsBody } }, async (request, reply) => {
    const mode = deliveryModeOf(request)
    const tokens = await baton.accounts.login(
      request.body.email,
      request.body.password,
      clientContextOf(request),
    )
    return sendTokens(reply, 200, tokens, mode, cookie)
  })

  app.post('/auth/refresh', { schema: { body: RefreshTokenBody } }, async (request, reply) => {
    const fromBody = request.body?.refreshToken
    const fromCookie = fromBody === undefined ? cookie.read(request) : undefined
    const mode = deliveryModeOf(request, fromCookie !== undefined)
    const refreshToken = fromBody ?? fromCookie
    if (refreshToken === undefined) {
      throw new BatonError('login_required', 'No refresh token was sent; sign in.')
    }
    if (fromCookie !== undefined) cookie.assertSameOrigin(request)
    try {
      const tokens = await baton.sessions.refresh({
        refreshToken,
        accessToken: bearerTokenOf(request),
        context: clientContextOf(request),
      })
      return sendTokens(reply, 200, tokens, mode, cookie)
    } catch (error) {
      // A dead refresh cookie only makes the browser send it again: drop it.
      if (
        fromCookie !== undefined &&
        error instanceof BatonError &&
        error.code !== 'store_unavailable'
      ) {
        cookie.clear(reply)
      }
      throw error
    }
  })

  app.post('/auth/logout', { schema: { body: RefreshTokenBody } }, async (request, reply) => {
    const fromBody = request.body?.refreshToken
    const fromCookie = fromBody === undefined ? cookie.read(request) : undefined
    if (fromCookie !== undefined) cookie.assertSameOrigin(request)
    // Never reveals whether a token was valid: only a store outage changes the answer.
    await baton.sessions.logout({
      refreshToken: fromBody ?? fromCookie ?? null,
      accessToken: bearerTokenOf(request),
    })
    cookie.clear(reply)
    return reply.code(204).header('cache-control', 'no-store').send()
  })

  app.post('/auth/logout-all', { config: { bearer: true } }, async (request, reply) => {
    const claims = await requireBearer(baton, request)
    await baton.sessions.logoutEverywhere(claims.sub)
    cookie.clear(reply)
    return reply.code(204).header('cache-control', 'no-store').send()
  })
}
