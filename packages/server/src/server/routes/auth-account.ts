import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Baton } from '../../core/baton.js'
import { requireBearer } from '../bearer.js'
import { clientContextOf } from '../client-context.js'
import type { RouteDoc } from '../openapi.js'
import { MeResponse, SessionIdParams, SessionsResponse } from './schemas.js'

export interface AccountRoutesOptions {
  baton: Baton
  /** `BATON_ACCESS_TOKEN_HEADER`, lower case. */
  accessTokenHeader: string
}

const iso = (epochMs: number): string => new Date(epochMs).toISOString()

// `/auth/me` formats the same few creation dates over and over; Date#toISOString is a
// measurable share of a cached bearer request.
const createdAtText = new Map<number, string>()
function isoOfCreation(epochMs: number): string {
  let text = createdAtText.get(epochMs)
  if (text === undefined) {
    if (createdAtText.size >= 10_000) createdAtText.clear()
    text = iso(epochMs)
    createdAtText.set(epochMs, text)
  }
  return text
}

/** Bearer routes about the signed-in user: who am I, my devices. */
export const authAccountRoutes: FastifyPluginAsyncTypebox<AccountRoutesOptions> = async (
  app,
  { baton, accessTokenHeader },
) => {
  const bearerErrors = [
    'invalid_token',
    'access_token_expired',
    'session_revoked',
    'store_unavailable',
  ] as const
  const documented = (openapi: RouteDoc) => ({ config: { bearer: true, openapi } })

  app.get(
    '/auth/me',
    {
      ...documented({
        tag: 'auth',
        summary: 'The signed-in user',
        security: [['bearer']],
        responses: { 200: { description: 'The user of the access token' } },
        errors: bearerErrors,
      }),
      schema: { response: { 200: MeResponse } },
    },
    async (request, reply) => {
      const user = await baton.accounts.me(await requireBearer(baton, request, accessTokenHeader))
      return reply.header('cache-control', 'no-store').send({
        id: user.id,
        email: user.email,
        roles: user.roles,
        createdAt: isoOfCreation(user.createdAt),
      })
    },
  )

  const sessionsDoc = documented({
    tag: 'auth',
    summary: "The user's active sessions (devices)",
    security: [['bearer']],
    responses: { 200: { description: 'Active sessions', schema: SessionsResponse } },
    errors: bearerErrors,
  })
  app.get('/auth/sessions', sessionsDoc, async (request, reply) => {
    const claims = await requireBearer(baton, request, accessTokenHeader)
    const sessions = await baton.sessions.describeSessions(claims.sub, claims.sid)
    const body: SessionsResponse = {
      sessions: sessions.map((session) => ({
        ...session,
        createdAt: iso(session.createdAt),
        lastUsedAt: iso(session.lastUsedAt),
        expiresAt: iso(session.expiresAt),
      })),
    }
    return reply.header('cache-control', 'no-store').send(body)
  })

  app.delete(
    '/auth/sessions/:id',
    {
      ...documented({
        tag: 'auth',
        summary: 'Revoke one of your own sessions',
        description: "Another user's session, an unknown one and a revoked one all answer 404.",
        security: [['bearer']],
        responses: { 204: { description: 'Revoked' } },
        errors: [...bearerErrors, 'invalid_request', 'not_found'],
      }),
      schema: { params: SessionIdParams },
    },
    async (request, reply) => {
      const claims = await requireBearer(baton, request, accessTokenHeader)
      await baton.sessions.deleteOwn(
        { userId: claims.sub, sessionId: request.params.id },
        clientContextOf(request),
      )
      return reply.code(204).header('cache-control', 'no-store').send()
    },
  )
}
