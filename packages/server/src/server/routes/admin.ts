import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyRequest } from 'fastify'
import type { Baton } from '../../core/baton.js'
import { BatonError } from '../../core/errors.js'
import type { EventQuery } from '../../core/ports.js'
import type { Actor } from '../../core/users/admin-service.js'
import { eventJson, sessionJson, userJson } from '../admin-views.js'
import { requireBearer } from '../bearer.js'
import { clientContextOf } from '../client-context.js'
import { withoutNul } from './schemas.js'
import type { RouteDoc } from '../openapi.js'

export interface AdminRoutesOptions {
  baton: Baton
  /** `BATON_ACCESS_TOKEN_HEADER`, lower case. */
  accessTokenHeader: string
}

const text = (maxLength: number, description?: string) =>
  Type.String({
    minLength: 1,
    maxLength,
    pattern: withoutNul,
    ...(description === undefined ? {} : { description }),
  })
const UserIdParams = Type.Object({ id: text(256, 'A user id, or an email.') })
const SessionParams = Type.Object({ id: text(256), sessionId: text(256) })
const Limit = Type.Optional(
  Type.String({
    pattern: '^(?:[1-9]|[1-9][0-9]|1[0-9][0-9]|200)$',
    description: '1 to 200; 50 by default.',
  }),
)
const Cursor = Type.Optional(text(512, 'The `next` of the previous page.'))
const Roles = Type.Array(Type.String({ maxLength: 64 }), {
  maxItems: 32,
  description: 'Role names: lower-case letters, digits and _ . : -, starting with a letter.',
})

/**
 * `/admin/*`: what `baton users`, `baton sessions` and `baton events` do, over HTTP, for an
 * access token of a user with the `admin` role; an OAuth client's token also needs the `admin`
 * scope. Every change is audited
 * with the administrator's user id as its actor.
 */
export const adminRoutes: FastifyPluginAsyncTypebox<AdminRoutesOptions> = async (
  app,
  { baton, accessTokenHeader },
) => {
  const errors = [
    'invalid_token',
    'access_token_expired',
    'session_revoked',
    'insufficient_scope',
    'store_unavailable',
  ] as const
  const documented = (
    openapi: Omit<RouteDoc, 'tag' | 'security'>,
  ): { config: { bearer: true; requiredScopes: string[]; openapi: RouteDoc } } => ({
    config: {
      bearer: true,
      requiredScopes: ['admin'],
      openapi: { ...openapi, tag: 'admin', security: [['bearer']] },
    },
  })

  /**
   * The administrator, or 401 / 403 `insufficient_scope`. The token must say admin, and so must
   * the account now: a role taken away, or an account disabled, stops its tokens here at once
   * rather than when they expire (this API is rare enough to read the user each time).
   */
  async function administrator(request: FastifyRequest): Promise<Exclude<Actor, 'cli'>> {
    const claims = await requireBearer(baton, request, accessTokenHeader)
    // The role always; an OAuth client's token also needs the scope, so that a client the
    // administrator signed in to for something else cannot act as them here.
    if (!claims.roles.includes('admin')) {
      throw new BatonError(
        'insufficient_scope',
        'The admin API needs an access token of a user with the admin role.',
      )
    }
    if (claims.client_id !== undefined && !claims.scope.split(' ').includes('admin')) {
      throw new BatonError(
        'insufficient_scope',
        'The admin API needs an OAuth access token with the admin scope.',
      )
    }
    const current = await baton.admin.getUser(claims.sub).catch((error: unknown) => {
      if (error instanceof BatonError && error.code === 'not_found') {
        throw new BatonError('invalid_token', 'The account no longer exists.')
      }
      throw error
    })
    if (!current.roles.includes('admin') || current.disabledAt !== null) {
      throw new BatonError(
        'insufficient_scope',
        'This account no longer has the admin role; its token still says so until it expires.',
      )
    }
    const { ip, userAgent } = clientContextOf(request)
    return { id: claims.sub, ip, userAgent }
  }

  // Before the body is read or validated: whoever may not use this API learns nothing of what
  // a valid request would look like (401 or 403, never 400).
  const actors = new WeakMap<FastifyRequest, Exclude<Actor, 'cli'>>()
  app.addHook('onRequest', async (request) => {
    actors.set(request, await administrator(request))
  })
  const actorOf = (request: FastifyRequest): Exclude<Actor, 'cli'> => {
    const actor = actors.get(request)
    if (actor === undefined) throw new Error('an admin route ran without its onRequest hook')
    return actor
  }

  const limitOf = (text: string | undefined): number => (text === undefined ? 50 : Number(text))

  app.get(
    '/admin/users',
    {
      ...documented({
        summary: 'Users, oldest first, a page at a time',
        responses: {
          200: { description: '`{users, next}`: pass `next` as `cursor` for the following page' },
        },
        errors: [...errors, 'invalid_request'],
      }),
      schema: {
        querystring: Type.Object({
          limit: Limit,
          cursor: Cursor,
          // Empty: every user, as a search box left blank.
          email: Type.Optional(
            Type.String({
              maxLength: 254,
              pattern: withoutNul,
              description: 'Addresses containing this.',
            }),
          ),
        }),
      },
    },
    async (request, reply) => {
      const page = await baton.admin.listUsers({
        limit: limitOf(request.query.limit),
        cursor: request.query.cursor,
        email: request.query.email,
      })
      return reply
        .header('cache-control', 'no-store')
        .send({ users: page.items.map(userJson), next: page.next })
    },
  )

  app.post(
    '/admin/users',
    {
      ...documented({
        summary: 'Create a user',
        description: 'The password policy of sign-up applies. Audited as `user_created`.',
        responses: { 201: { description: 'The new user' } },
        errors: [...errors, 'invalid_request', 'weak_password', 'email_taken'],
      }),
      schema: {
        body: Type.Object(
          {
            email: Type.String({ maxLength: 1024 }),
            password: Type.String({ maxLength: 4096 }),
            roles: Type.Optional(Roles),
            emailVerified: Type.Optional(
              Type.Boolean({ description: 'The address is known to be the user’s.' }),
            ),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const actor = actorOf(request)
      const user = await baton.admin.createUser(
        {
          email: request.body.email,
          password: request.body.password,
          roles: request.body.roles ?? ['user'],
          emailVerified: request.body.emailVerified === true,
        },
        actor,
      )
      return reply.code(201).header('cache-control', 'no-store').send(userJson(user))
    },
  )

  app.get(
    '/admin/users/:id',
    {
      ...documented({
        summary: 'One user',
        responses: { 200: { description: 'The user' } },
        errors: [...errors, 'not_found'],
      }),
      schema: { params: UserIdParams },
    },
    async (request, reply) => {
      const user = await baton.admin.getUser(request.params.id)
      return reply.header('cache-control', 'no-store').send(userJson(user))
    },
  )

  app.put(
    '/admin/users/:id/roles',
    {
      ...documented({
        summary: "Replace a user's roles",
        description:
          'Access tokens carry the new roles from the next refresh of each session. Audited as `roles_changed`.',
        responses: { 200: { description: 'The user, with the new roles' } },
        errors: [...errors, 'invalid_request', 'not_found'],
      }),
      schema: {
        params: UserIdParams,
        body: Type.Object({ roles: Roles }, { additionalProperties: false }),
      },
    },
    async (request, reply) => {
      const actor = actorOf(request)
      const user = await baton.admin.setRoles(request.params.id, request.body.roles, actor)
      return reply.header('cache-control', 'no-store').send(userJson(user))
    },
  )

  app.post(
    '/admin/users/:id/disable',
    {
      ...documented({
        summary: 'Disable a user and sign out every session of theirs',
        description:
          'Sign-in then answers `account_disabled`; every session is revoked, deny-listed and announced on the revocation channel at once.',
        responses: { 200: { description: '`{user, sessionsRevoked}`' } },
        errors: [...errors, 'not_found'],
      }),
      schema: { params: UserIdParams },
    },
    async (request, reply) => {
      const actor = actorOf(request)
      const result = await baton.admin.disable(request.params.id, actor)
      return reply
        .header('cache-control', 'no-store')
        .send({ user: userJson(result.user), sessionsRevoked: result.sessionsRevoked })
    },
  )

  app.post(
    '/admin/users/:id/enable',
    {
      ...documented({
        summary: 'Let a disabled user sign in again',
        responses: { 200: { description: 'The user' } },
        errors: [...errors, 'not_found'],
      }),
      schema: { params: UserIdParams },
    },
    async (request, reply) => {
      const actor = actorOf(request)
      const user = await baton.admin.enable(request.params.id, actor)
      return reply.header('cache-control', 'no-store').send(userJson(user))
    },
  )

  app.delete(
    '/admin/users/:id',
    {
      ...documented({
        summary: 'Delete a user after signing out their sessions',
        description: 'Their audit events stay. Audited as `user_deleted`.',
        responses: { 204: { description: 'Deleted' } },
        errors: [...errors, 'not_found'],
      }),
      schema: { params: UserIdParams },
    },
    async (request, reply) => {
      const actor = actorOf(request)
      await baton.admin.deleteUser(request.params.id, actor)
      return reply.code(204).header('cache-control', 'no-store').send()
    },
  )

  app.get(
    '/admin/users/:id/sessions',
    {
      ...documented({
        summary: "A user's live sessions",
        responses: { 200: { description: '`{sessions}`, most recently used first' } },
        errors: [...errors, 'not_found'],
      }),
      schema: { params: UserIdParams },
    },
    async (request, reply) => {
      const sessions = await baton.admin.listSessions(request.params.id)
      return reply.header('cache-control', 'no-store').send({ sessions: sessions.map(sessionJson) })
    },
  )

  app.delete(
    '/admin/users/:id/sessions',
    {
      ...documented({
        summary: 'Sign out every session of a user',
        responses: { 200: { description: '`{revoked}`: how many' } },
        errors: [...errors, 'not_found'],
      }),
      schema: { params: UserIdParams },
    },
    async (request, reply) => {
      const actor = actorOf(request)
      const revoked = await baton.admin.revokeAllSessions(request.params.id, actor)
      return reply.header('cache-control', 'no-store').send({ revoked })
    },
  )

  app.delete(
    '/admin/users/:id/sessions/:sessionId',
    {
      ...documented({
        summary: 'Sign out one session of a user',
        responses: { 204: { description: 'Revoked' } },
        errors: [...errors, 'not_found'],
      }),
      schema: { params: SessionParams },
    },
    async (request, reply) => {
      const actor = actorOf(request)
      const user = await baton.admin.getUser(request.params.id)
      await baton.admin.revokeSession(user.id, request.params.sessionId, actor)
      return reply.code(204).header('cache-control', 'no-store').send()
    },
  )

  app.delete(
    '/admin/sessions/:sessionId',
    {
      ...documented({
        summary: 'Sign out one session, known by its id alone',
        responses: { 200: { description: '`{sessionId, userId}`' } },
        errors: [...errors, 'not_found'],
      }),
      schema: { params: Type.Object({ sessionId: SessionParams.properties.sessionId }) },
    },
    async (request, reply) => {
      const actor = actorOf(request)
      const userId = await baton.admin.revokeSessionById(request.params.sessionId, actor)
      return reply
        .header('cache-control', 'no-store')
        .send({ sessionId: request.params.sessionId, userId })
    },
  )

  app.get(
    '/admin/events',
    {
      ...documented({
        summary: 'The audit log, newest first',
        responses: { 200: { description: '`{events, next}`' } },
        errors: [...errors, 'invalid_request', 'not_found'],
      }),
      schema: {
        querystring: Type.Object({
          user: Type.Optional(text(256, 'A user id or email.')),
          type: Type.Optional(text(64, 'An event type (docs/admin.md lists them).')),
          since: Type.Optional(text(64, 'An ISO-8601 time, e.g. 2026-12-01T00:00:00Z.')),
          limit: Limit,
          cursor: Cursor,
        }),
      },
    },
    async (request, reply) => {
      const { user, type, since, cursor } = request.query
      const query: EventQuery = { limit: limitOf(request.query.limit) }
      if (user !== undefined) {
        query.userId = user.includes('@') ? (await baton.admin.getUser(user)).id : user
      }
      if (type !== undefined) query.type = type
      if (cursor !== undefined) query.cursor = cursor
      if (since !== undefined) {
        const at = Date.parse(since)
        if (Number.isNaN(at)) throw new BatonError('invalid_request', 'since must be an ISO time.')
        query.since = at
      }
      const page = await baton.admin.events(query)
      return reply
        .header('cache-control', 'no-store')
        .send({ events: page.items.map(eventJson), next: page.next })
    },
  )
}
