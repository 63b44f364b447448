import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Baton } from '../../core/baton.js'
import { requireBearer } from '../bearer.js'
import { MeResponse, SessionIdParams } from './schemas.js'

export interface AccountRoutesOptions {
  baton: Baton
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
  { baton },
) => {
  const bearer = { config: { bearer: true } }

  app.get(
    '/auth/me',
    { ...bearer, schema: { response: { 200: MeResponse } } },
    async (request, reply) => {
      const user = await baton.accounts.me(await requireBearer(baton, request))
      return reply.header('cache-control', 'no-store').send({
        id: user.id,
        email: user.email,
        roles: user.roles,
        createdAt: isoOfCreation(user.createdAt),
      })
    },
  )

  app.get('/auth/sessions', bearer, async (request, reply) => {
    const claims = await requireBearer(baton, request)
    const sessions = await baton.sessions.describeSessions(claims.sub, claims.sid)
    return reply.header('cache-control', 'no-store').send({
      sessions: sessions.map((session) => ({
        ...session,
        createdAt: iso(session.createdAt),
        lastUsedAt: iso(session.lastUsedAt),
        expiresAt: iso(session.expiresAt),
      })),
    })
  })

  app.delete(
    '/auth/sessions/:id',
    { ...bearer, schema: { params: SessionIdParams } },
    async (request, reply) => {
      const claims = await requireBearer(baton, request)
      await baton.sessions.deleteOwn({ userId: claims.sub, sessionId: request.params.id })
      return reply.code(204).header('cache-control', 'no-store').send()
    },
  )
}
