import { StoreUnavailableError } from '../../core/errors.js'
import type { DatabaseStore, EventQuery, UserRecord } from '../../core/ports.js'
import {
  decodeEventCursor,
  decodeUserCursor,
  encodeEventCursor,
  encodeUserCursor,
  pageLimit,
  pageOf,
  parseEventId,
} from '../cursor.js'
import {
  type ClientRow,
  type EventRow,
  type KeyRow,
  fromClientRow,
  fromEventRow,
  fromKeyRow,
} from '../sql-rows.js'
import type { PostgresContext, Statement } from './context.js'
import type { UserCache } from './user-cache.js'

export type PostgresDatabasePort = Omit<DatabaseStore, 'ping' | 'close'>

interface UserRow {
  id: string
  email: string
  password_hash: string
  roles: string[]
  created_at: number
  disabled_at: number | null
  email_verified_at: number | null
  password_changed_at: number | null
  password_changed_in: string | null
}

const userColumns = `id, email, password_hash, roles, created_at, disabled_at, email_verified_at,
  password_changed_at, password_changed_in`
const keyColumns = `kid, alg, state, private_jwk, public_jwk, created_at, activated_at, retired_at,
  remove_after`
const eventColumns = 'type, at, user_id, session_id, ip, user_agent, actor, detail'

/** Users (read through the shared user cache), signing keys, OAuth clients and audit events. */
export function createPostgresDatabase(
  context: PostgresContext,
  userCache: UserCache,
): PostgresDatabasePort {
  const { query, table, statement } = context
  const users = table('users')
  const signingKeys = table('signing_keys')
  const auditEvents = table('audit_events')
  const oauthClients = table('oauth_clients')

  const insertUser = statement(
    'insert_user',
    `INSERT INTO ${users} (${userColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT DO NOTHING
     RETURNING id`,
  )
  const selectUserByEmail = statement(
    'select_user_by_email',
    `SELECT ${userColumns} FROM ${users} WHERE email = $1`,
  )
  const selectUserById = statement(
    'select_user_by_id',
    `SELECT ${userColumns} FROM ${users} WHERE id = $1`,
  )
  // Keyset pages in the order of users_created_at_id: a later page seeks to its cursor rather
  // than walk the pages before it. The email filter is a substring (strpos, not LIKE, whose % and
  // _ would be wildcards), checked on each user the walk passes.
  const selectFirstUsers = statement(
    'select_first_users',
    `SELECT ${userColumns} FROM ${users}
     WHERE ($1::text IS NULL OR strpos(email, $1) > 0)
     ORDER BY created_at, id
     LIMIT $2`,
  )
  const selectUsersAfter = statement(
    'select_users_after',
    `SELECT ${userColumns} FROM ${users}
     WHERE (created_at, id) > ($3::bigint, $4::text)
       AND ($1::text IS NULL OR strpos(email, $1) > 0)
     ORDER BY created_at, id
     LIMIT $2`,
  )
  // Each column changes only when its flag is set. The users_changed trigger tells every
  // instance's user cache, this one's included; this one also drops its own entry at once.
  const updateUser = statement(
    'update_user',
    `UPDATE ${users} SET
       roles = CASE WHEN $2::boolean THEN $3::text[] ELSE roles END,
       password_hash = CASE WHEN $4::boolean THEN $5::text ELSE password_hash END,
       disabled_at = CASE WHEN $6::boolean THEN $7::bigint ELSE disabled_at END,
       email_verified_at = CASE WHEN $8::boolean THEN $9::bigint ELSE email_verified_at END,
       password_changed_at = CASE WHEN $10::boolean THEN $11::bigint ELSE password_changed_at END,
       password_changed_in = CASE WHEN $10::boolean THEN $12::text ELSE password_changed_in END
     WHERE id = $1
     RETURNING id`,
  )
  const deleteUser = statement('delete_user', `DELETE FROM ${users} WHERE id = $1 RETURNING id`)

  const selectKeys = statement(
    'select_keys',
    `SELECT ${keyColumns} FROM ${signingKeys} ORDER BY created_at, kid`,
  )
  // The kid is the key's thumbprint: a second insert of it is the same key, so the first wins.
  const insertKey = statement(
    'insert_key',
    `INSERT INTO ${signingKeys} (${keyColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (kid) DO NOTHING`,
  )
  const updateKey = statement(
    'update_key',
    `UPDATE ${signingKeys} SET state = $2, activated_at = $3, retired_at = $4, remove_after = $5
     WHERE kid = $1`,
  )
  const deleteKey = statement('delete_key', `DELETE FROM ${signingKeys} WHERE kid = $1`)

  const selectClients = statement(
    'select_clients',
    `SELECT id, secret_hash, created_at FROM ${oauthClients} ORDER BY created_at, id`,
  )
  const insertClient = statement(
    'insert_client',
    `INSERT INTO ${oauthClients} (id, secret_hash, created_at) VALUES ($1, $2, $3)
     ON CONFLICT (id) DO NOTHING
     RETURNING id`,
  )
  const deleteClient = statement(
    'delete_client',
    `DELETE FROM ${oauthClients} WHERE id = $1 RETURNING id`,
  )

  const insertEvent = statement(
    'insert_event',
    `INSERT INTO ${auditEvents} (${eventColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
  )
  // One named statement per shape of query (which filters, which direction): each WHERE names
  // only the columns it filters on, so every plan is an index scan on the index for them.
  const eventStatements = new Map<string, Statement>()
  const eventStatement = (shape: string, text: () => string): Statement => {
    let named = eventStatements.get(shape)
    if (named === undefined) {
      named = statement(`list_events_${eventStatements.size}`, text())
      eventStatements.set(shape, named)
    }
    return named
  }
  // The oldest first, a bounded batch: a long backlog never becomes one statement that outlives
  // the statement timeout. Rows another purge holds are skipped, not waited for.
  const purgeEvents = statement(
    'purge_events',
    `DELETE FROM ${auditEvents} WHERE id IN (
       SELECT id FROM ${auditEvents} WHERE at < $1 ORDER BY at, id LIMIT $2
         FOR UPDATE SKIP LOCKED
     )
     RETURNING 1`,
  )

  return {
    async createUser(user) {
      // ON CONFLICT DO NOTHING rather than catching a unique violation: a taken email (or id)
      // inserts nothing and returns no row, without an error that would abort anything.
      const rows = await query<{ id: string }>('createUser', insertUser, [
        user.id,
        user.email,
        user.passwordHash,
        user.roles,
        user.createdAt,
        user.disabledAt,
        user.emailVerifiedAt,
        user.passwordChangedAt,
        user.passwordChangedIn,
      ])
      return rows.length === 1
    },

    async findUserByEmail(email) {
      const [row] = await query<UserRow>('findUserByEmail', selectUserByEmail, [email])
      return row === undefined ? null : fromUserRow(row)
    },

    async findUserById(id) {
      if (context.isClosed()) {
        throw new StoreUnavailableError('postgres: findUserById: the store is closed')
      }
      const cached = userCache.get(id)
      if (cached !== undefined) return cached
      const generation = userCache.generation
      const [row] = await query<UserRow>('findUserById', selectUserById, [id])
      if (row === undefined) return null
      const user = fromUserRow(row)
      userCache.remember(user, generation)
      return user
    },

    async listUsers(options) {
      const limit = pageLimit(options.limit)
      const after = options.cursor === undefined ? undefined : decodeUserCursor(options.cursor)
      const email = options.email ?? null
      const rows =
        after === undefined
          ? await query<UserRow>('listUsers', selectFirstUsers, [email, limit + 1])
          : await query<UserRow>('listUsers', selectUsersAfter, [
              email,
              limit + 1,
              after.createdAt,
              after.id,
            ])
      return pageOf(rows.map(fromUserRow), limit, encodeUserCursor)
    },

    async updateUser(id, change) {
      try {
        const rows = await query<{ id: string }>('updateUser', updateUser, [
          id,
          change.roles !== undefined,
          change.roles ?? null,
          change.passwordHash !== undefined,
          change.passwordHash ?? null,
          change.disabledAt !== undefined,
          change.disabledAt ?? null,
          change.emailVerifiedAt !== undefined,
          change.emailVerifiedAt ?? null,
          // The two change together.
          change.passwordChangedAt !== undefined,
          change.passwordChangedAt ?? null,
          change.passwordChangedIn ?? null,
        ])
        return rows.length === 1
      } finally {
        // Whatever the outcome (a timed-out UPDATE may still commit): the trigger's notice
        // reaches this instance only a moment later, and its own next read must not be stale.
        userCache.invalidate(id)
      }
    },

    async deleteUser(id) {
      try {
        const rows = await query<{ id: string }>('deleteUser', deleteUser, [id])
        return rows.length === 1
      } finally {
        userCache.invalidate(id)
      }
    },

    async listKeys() {
      const rows = await query<KeyRow>('listKeys', selectKeys, [])
      return rows.map(fromKeyRow)
    },

    async insertKey(key) {
      await query('insertKey', insertKey, [
        key.kid,
        key.alg,
        key.state,
        key.privateJwk,
        key.publicJwk,
        key.createdAt,
        key.activatedAt,
        key.retiredAt,
        key.removeAfter,
      ])
    },

    async updateKey(kid, change) {
      await query('updateKey', updateKey, [
        kid,
        change.state,
        change.activatedAt,
        change.retiredAt,
        change.removeAfter,
      ])
    },

    async deleteKey(kid) {
      await query('deleteKey', deleteKey, [kid])
    },

    async listClients() {
      const rows = await query<ClientRow>('listClients', selectClients, [])
      return rows.map(fromClientRow)
    },

    async insertClient(client) {
      const rows = await query<{ id: string }>('insertClient', insertClient, [
        client.id,
        client.secretHash,
        client.createdAt,
      ])
      return rows.length === 1
    },

    async deleteClient(id) {
      const rows = await query<{ id: string }>('deleteClient', deleteClient, [id])
      return rows.length === 1
    },

    async record(event) {
      await query('record', insertEvent, [
        event.type,
        event.at,
        event.userId,
        event.sessionId,
        event.ip,
        event.userAgent,
        event.actor,
        event.detail,
      ])
    },

    async listEvents(eventQuery) {
      const limit = pageLimit(eventQuery.limit)
      const values: unknown[] = []
      const bind = (value: unknown): string => {
        values.push(value)
        return `$${values.length}`
      }
      const filters = eventFilters(eventQuery, bind)
      if (eventQuery.afterId !== undefined) {
        filters.push(`id > ${bind(parseEventId(eventQuery.afterId))}::bigint`)
        const limitParameter = bind(limit + 1)
        const where = filters.join(' AND ')
        const rows = await query<EventRow>(
          'listEvents',
          eventStatement(
            `after:${where}`,
            () =>
              `SELECT id, ${eventColumns} FROM ${auditEvents} WHERE ${where}
             ORDER BY id LIMIT ${limitParameter}`,
          ),
          values,
        )
        return pageOf(rows.map(fromEventRow), limit, (last) => last.id)
      }
      if (eventQuery.cursor !== undefined) {
        const before = decodeEventCursor(eventQuery.cursor)
        // A row comparison: PostgreSQL seeks the (…, at, id) index to it.
        filters.push(`(at, id) < (${bind(before.at)}::bigint, ${bind(before.id)}::bigint)`)
      }
      const limitParameter = bind(limit + 1)
      const where = filters.length === 0 ? '' : `WHERE ${filters.join(' AND ')}`
      const rows = await query<EventRow>(
        'listEvents',
        eventStatement(
          `before:${where}`,
          () =>
            `SELECT id, ${eventColumns} FROM ${auditEvents} ${where}
           ORDER BY at DESC, id DESC LIMIT ${limitParameter}`,
        ),
        values,
      )
      return pageOf(rows.map(fromEventRow), limit, (last) =>
        encodeEventCursor({ at: last.at, id: Number(last.id) }),
      )
    },

    async purgeEvents(before, limit) {
      const most = pageLimit(limit)
      if (most === 0) return 0
      const rows = await query('purgeEvents', purgeEvents, [before, most])
      return rows.length
    },
  }
}

/** The WHERE conditions of an event query's filters, each value bound by `bind`. */
function eventFilters(query: EventQuery, bind: (value: unknown) => string): string[] {
  const filters: string[] = []
  if (query.userId !== undefined) filters.push(`user_id = ${bind(query.userId)}::text`)
  if (query.type !== undefined) filters.push(`type = ${bind(query.type)}::text`)
  if (query.since !== undefined) filters.push(`at >= ${bind(query.since)}::bigint`)
  return filters
}

function fromUserRow(row: UserRow): UserRecord {
  return {
    id: row.id,
    email: row.email,
    passwordHash: row.password_hash,
    roles: row.roles,
    createdAt: row.created_at,
    disabledAt: row.disabled_at,
    emailVerifiedAt: row.email_verified_at,
    passwordChangedAt: row.password_changed_at,
    passwordChangedIn: row.password_changed_in,
  }
}
