import { StoreUnavailableError } from '../../core/errors.js'
import type { DatabaseStore, UserRecord } from '../../core/ports.js'
import {
  type ClientRow,
  type EventRow,
  type KeyRow,
  fromClientRow,
  fromEventRow,
  fromKeyRow,
} from '../sql-rows.js'
import type { PostgresContext } from './context.js'
import type { UserCache } from './user-cache.js'

export type PostgresDatabasePort = Omit<DatabaseStore, 'ping' | 'close'>

interface UserRow {
  id: string
  email: string
  password_hash: string
  roles: string[]
  created_at: number
}

const userColumns = 'id, email, password_hash, roles, created_at'
const keyColumns = `kid, alg, state, private_jwk, public_jwk, created_at, activated_at, retired_at,
  remove_after`
const eventColumns = 'type, at, user_id, session_id, ip, user_agent, detail'

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
    `INSERT INTO ${users} (${userColumns}) VALUES ($1, $2, $3, $4, $5)
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
    `INSERT INTO ${auditEvents} (${eventColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
  )
  const selectEvents = statement(
    'select_events',
    `SELECT ${eventColumns} FROM ${auditEvents} ORDER BY at DESC, id DESC LIMIT $1`,
  )
  const selectUserEvents = statement(
    'select_user_events',
    `SELECT ${eventColumns} FROM ${auditEvents} WHERE user_id = $1
     ORDER BY at DESC, id DESC LIMIT $2`,
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
        event.detail,
      ])
    },

    async listEvents(options) {
      const limit = Math.max(0, Math.floor(options.limit))
      const rows =
        options.userId === undefined
          ? await query<EventRow>('listEvents', selectEvents, [limit])
          : await query<EventRow>('listEvents', selectUserEvents, [options.userId, limit])
      return rows.map(fromEventRow)
    },
  }
}

function fromUserRow(row: UserRow): UserRecord {
  return {
    id: row.id,
    email: row.email,
    passwordHash: row.password_hash,
    roles: row.roles,
    createdAt: row.created_at,
  }
}
