import fastifyCookie from '@fastify/cookie'
import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { maxTokenLength } from '@baton-auth/verify/shared'
import type { preValidationHookHandler } from 'fastify'
import type { Baton } from '../../core/baton.js'
import { BatonError } from '../../core/errors.js'
import { bearerTokenOf, requireBearer } from '../bearer.js'
import { clientContextOf } from '../client-context.js'
import { deliveryModeOf, type RefreshCookie } from '../refresh-delivery.js'
import type { ResponseDoc, RouteDoc } from '../openapi.js'
import {
  CredentialsBody,
  LogoutBody,
  RefreshTokenBody,
  SignupPendingResponse,
  TokenResponse,
} from './schemas.js'
import { sendTokens } from './token-response.js'

export interface AuthRoutesOptions {
  baton: Baton
  cookie: RefreshCookie
  /** `BATON_ACCESS_TOKEN_HEADER`, lower case. */
  accessTokenHeader: string
}

const deliveryHeader: NonNullable<RouteDoc['headers']> = [
  {
    name: 'Baton-Token-Delivery',
    description:
      'Where the refresh token goes: `cookie` (Set-Cookie, HttpOnly) or `body`. Default: `cookie` ' +
      'when the request has an Origin (or, at refresh, the token came in the cookie), else `body`.',
    schema: Type.Union([Type.Literal('cookie'), Type.Literal('body')]),
  },
]

const tokens = (description: string): ResponseDoc => ({
  description,
  schema: TokenResponse,
  headers: {
    'Set-Cookie': { description: 'Cookie mode: the refresh token (docs/api.md, "Delivery").' },
    'Cache-Control': { description: '`no-store`' },
  },
})

/**
 * A `refreshToken` that no token could be (not a string, or longer than any token Baton
 * issues): before the schema check, so it is a bad token (401 `invalid_token`) at refresh, as
 * a forged one is, rather than a malformed request; at logout, which never tells whether a
 * token was valid, no token at all. The schema stays as documentation of the field.
 */
function impossibleRefreshToken(onRefresh: 'refuse' | 'ignore'): preValidationHookHandler {
  return (request, _reply, done) => {
    const body = request.body
    if (typeof body !== 'object' || body === null || !('refreshToken' in body)) return done()
    const token = body.refreshToken
    if (typeof token === 'string' && token.length <= maxTokenLength) return done()
    if (onRefresh === 'refuse')
      return done(new BatonError('invalid_token', 'The token is invalid.'))
    delete (body as { refreshToken?: unknown }).refreshToken
    done()
  }
}

const signedOut: ResponseDoc = {
  description: 'Signed out; the refresh cookie is cleared',
  headers: { 'Set-Cookie': { description: 'Clears the refresh cookie.' } },
}

/**
 * Sign-up, sign-in, refresh and sign-out: the routes that hand out or take back tokens, and the
 * only ones that touch the refresh cookie (so only they pay for cookie parsing).
 */
export const authTokenRoutes: FastifyPluginAsyncTypebox<AuthRoutesOptions> = async (
  app,
  { baton, cookie, accessTokenHeader },
) => {
  await app.register(fastifyCookie)

  const signupDoc: RouteDoc = {
    tag: 'auth',
    summary: 'Create an account and sign in',
    description:
      'With BATON_REQUIRE_VERIFIED_EMAIL=true the account is created and a verification link ' +
      'mailed, and the answer is 202 without tokens: sign in once the link is followed.',
    headers: deliveryHeader,
    responses: {
      201: tokens('Signed up and signed in'),
      202: {
        description: 'Signed up; a verification link is mailed (BATON_REQUIRE_VERIFIED_EMAIL)',
        schema: SignupPendingResponse,
        headers: { 'Cache-Control': { description: '`no-store`' } },
      },
    },
    errors: [
      'invalid_request',
      'invalid_scope',
      'weak_password',
      'email_taken',
      'csrf_origin_mismatch',
      'payload_too_large',
      'store_unavailable',
    ],
  }
  const signup = { schema: { body: CredentialsBody }, config: { openapi: signupDoc } }
  app.post('/auth/signup', signup, async (request, reply) => {
    const mode = deliveryModeOf(request)
    if (mode === 'cookie') cookie.assertNotForeign(request)
    const signedUp = await baton.accounts.signup(
      request.body.email,
      request.body.password,
      clientContextOf(request),
      request.body.scope,
    )
    if ('awaitingVerification' in signedUp) {
      const { id, email, roles } = signedUp.user
      const body: SignupPendingResponse = {
        user: { id, email, roles },
        emailVerificationRequired: true,
      }
      return reply.code(202).header('cache-control', 'no-store').send(body)
    }
    return sendTokens(reply, 201, signedUp, mode, cookie)
  })

  const loginDoc: RouteDoc = {
    tag: 'auth',
    summary: 'Sign in with an email and a password',
    description:
      'An unknown email and a wrong password get the same answer, with the same timing. Failed ' +
      'attempts are counted per email (BATON_LOGIN_MAX_FAILURES), then 429. The right password ' +
      'of an account whose address is not verified yet gets 403 `email_not_verified` while ' +
      'BATON_REQUIRE_VERIFIED_EMAIL=true.',
    headers: deliveryHeader,
    responses: { 200: tokens('Signed in') },
    errors: [
      'invalid_request',
      'invalid_scope',
      'invalid_credentials',
      'csrf_origin_mismatch',
      'account_disabled',
      'email_not_verified',
      'payload_too_large',
      'rate_limited',
      'store_unavailable',
    ],
  }
  const login = { schema: { body: CredentialsBody }, config: { openapi: loginDoc } }
  app.post('/auth/login', login, async (request, reply) => {
    const mode = deliveryModeOf(request)
    if (mode === 'cookie') cookie.assertNotForeign(request)
    const tokens = await baton.accounts.login(
      request.body.email,
      request.body.password,
      clientContextOf(request),
      request.body.scope === undefined ? undefined : { scope: request.body.scope },
    )
    return sendTokens(reply, 200, tokens, mode, cookie)
  })

  const refreshDoc: RouteDoc = {
    tag: 'auth',
    summary: 'Rotate the refresh token; get a new access token',
    description:
      'The refresh token comes from the body or, failing that, the cookie. A bearer access token ' +
      'may be sent too (the two-token table of docs/api.md). A retired token replayed within the ' +
      'grace window gets the same successor; after it, the session is revoked.',
    security: [['refreshCookie'], ['refreshCookie', 'bearer'], ['bearer'], []],
    headers: deliveryHeader,
    responses: { 200: tokens('Refreshed') },
    errors: [
      'invalid_request',
      'invalid_scope',
      'invalid_token',
      'refresh_token_expired',
      'refresh_token_reused',
      'session_revoked',
      'login_required',
      'csrf_origin_mismatch',
      'payload_too_large',
      'store_unavailable',
    ],
  }
  const refresh = {
    schema: { body: RefreshTokenBody },
    preValidation: impossibleRefreshToken('refuse'),
    config: { openapi: refreshDoc },
  }
  app.post('/auth/refresh', refresh, async (request, reply) => {
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
        scope: request.body?.scope,
        accessToken: bearerTokenOf(request, accessTokenHeader),
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

  const logoutDoc: RouteDoc = {
    tag: 'auth',
    summary: 'Sign out of one session',
    description:
      'Revokes the session of the refresh token (body or cookie) and of the bearer token. ' +
      'Answers 204 whatever it was given, expired or invalid tokens included.',
    security: [['refreshCookie'], ['bearer'], []],
    responses: { 204: signedOut },
    errors: ['invalid_request', 'csrf_origin_mismatch', 'payload_too_large', 'store_unavailable'],
  }
  const logout = {
    schema: { body: LogoutBody },
    preValidation: impossibleRefreshToken('ignore'),
    config: { openapi: logoutDoc },
  }
  app.post('/auth/logout', logout, async (request, reply) => {
    const fromBody = request.body?.refreshToken
    const fromCookie = fromBody === undefined ? cookie.read(request) : undefined
    if (fromCookie !== undefined) cookie.assertSameOrigin(request)
    // Never reveals whether a token was valid: only a store outage changes the answer.
    await baton.sessions.logout(
      {
        refreshToken: fromBody ?? fromCookie ?? null,
        accessToken: bearerTokenOf(request, accessTokenHeader),
      },
      clientContextOf(request),
    )
    cookie.clear(reply)
    return reply.code(204).header('cache-control', 'no-store').send()
  })

  const logoutAllDoc: RouteDoc = {
    tag: 'auth',
    summary: 'Sign out of every session of the user',
    security: [['bearer']],
    responses: { 204: signedOut },
    errors: ['invalid_token', 'access_token_expired', 'session_revoked', 'store_unavailable'],
  }
  const logoutAll = { config: { bearer: true, openapi: logoutAllDoc } }
  app.post('/auth/logout-all', logoutAll, async (request, reply) => {
    const claims = await requireBearer(baton, request, accessTokenHeader)
    await baton.sessions.logoutEverywhere(claims.sub, clientContextOf(request), claims.sid)
    cookie.clear(reply)
    return reply.code(204).header('cache-control', 'no-store').send()
  })
}
