import type { DatabaseStore, KeyState, UserRecord } from '../../core/ports.js'
import {
  type ClientRow,
  type EventRow,
  type KeyRow,
  fromClientRow,
  fromEventRow,
  fromKeyRow,
} from '../sql-rows.js'
import type { SqliteContext } from './context.js'

export type SqliteDatabasePort = Omit<DatabaseStore, 'ping' | 'close'>

interface UserRow {
  id: string
  email: string
  password_hash: string
  roles: string
  created_at: number
}

/** Users, signing keys, OAuth clients and audit events on SQLite. */
export function createSqliteDatabase({
  db,
  run,
  assertOpen,
  cache,
}: SqliteContext): SqliteDatabasePort {
  const insertUser = db.prepare<UserRow>(`
    INSERT INTO users (id, email, password_hash, roles, created_at)
    VALUES (@id, @email, @password_hash, @roles, @created_at)
    ON CONFLICT DO NOTHING
  `)
  const selectUserByEmail = db.prepare<{ email: string }, UserRow>(
    'SELECT * FROM users WHERE email = @email',
  )
  const selectUserById = db.prepare<{ id: string }, UserRow>('SELECT * FROM users WHERE id = @id')

  const selectKeys = db.prepare<[], KeyRow>('SELECT * FROM signing_keys ORDER BY created_at, kid')
  // The kid is the key's thumbprint: a second insert of it is the same key, so the first wins.
  const insertKey = db.prepare<KeyRow>(`
    INSERT INTO signing_keys (
      kid, alg, state, private_jwk, public_jwk, created_at, activated_at, retired_at, remove_after
    ) VALUES (
      @kid, @alg, @state, @private_jwk, @public_jwk, @created_at, @activated_at, @retired_at,
      @remove_after
    )
    ON CONFLICT (kid) DO NOTHING
  `)
  const updateKey = db.prepare<{
    kid: string
    state: KeyState
    activatedAt: number | null
    retiredAt: number | null
    removeAfter: number | null
  }>(`
    UPDATE signing_keys
    SET state = @state, activated_at = @activatedAt, retired_at = @retiredAt,
      remove_after = @removeAfter
    WHERE kid = @kid
  `)
  const deleteKey = db.prepare<{ kid: string }>('DELETE FROM signing_keys WHERE kid = @kid')

  const selectClients = db.prepare<[], ClientRow>(
    'SELECT id, secret_hash, created_at FROM oauth_clients ORDER BY created_at, id',
  )
  const insertClient = db.prepare<ClientRow>(`
    INSERT INTO oauth_clients (id, secret_hash, created_at) VALUES (@id, @secret_hash, @created_at)
    ON CONFLICT (id) DO NOTHING
  `)
  const deleteClient = db.prepare<{ id: string }>('DELETE FROM oauth_clients WHERE id = @id')

  const insertEvent = db.prepare<EventRow>(`
    INSERT INTO audit_events (type, at, user_id, session_id, ip, user_agent, detail)
    VALUES (@type, @at, @user_id, @session_id, @ip, @user_agent, @detail)
  `)
  const selectEvents = db.prepare<{ limit: number }, EventRow>(
    'SELECT * FROM audit_events ORDER BY at DESC, id DESC LIMIT @limit',
  )
  const selectUserEvents = db.prepare<{ userId: string; limit: number }, EventRow>(
    'SELECT * FROM audit_events WHERE user_id = @userId ORDER BY at DESC, id DESC LIMIT @limit',
  )

  return {
    createUser(user) {
      return run('createUser', () => {
        const result = insertUser.run({
          id: user.id,
          email: user.email,
          password_hash: user.passwordHash,
          roles: JSON.stringify(user.roles),
          created_at: user.createdAt,
        })
        return result.changes === 1
      })
    },

    findUserByEmail(email) {
      return run('findUserByEmail', () => {
        const row = selectUserByEmail.get({ email })
        return row === undefined ? null : fromUserRow(row)
      })
    },

    findUserById(id) {
      return run('findUserById', () => {
        assertOpen()
        cache.validate()
        const cached = cache.users.get(id)
        if (cached !== undefined) return copyUser(cached)
        const row = selectUserById.get({ id })
        if (row === undefined) return null
        const user = fromUserRow(row)
        cache.remember(cache.users, id, copyUser(user))
        return user
      })
    },

    listKeys() {
      return run('listKeys', () => selectKeys.all().map(fromKeyRow))
    },

    insertKey(key) {
      return run('insertKey', () => {
        insertKey.run({
          kid: key.kid,
          alg: key.alg,
          state: key.state,
          private_jwk: key.privateJwk,
          public_jwk: key.publicJwk,
          created_at: key.createdAt,
          activated_at: key.activatedAt,
          retired_at: key.retiredAt,
          remove_after: key.removeAfter,
        })
      })
    },

    updateKey(kid, change) {
      return run('updateKey', () => {
        updateKey.run({
          kid,
          state: change.state,
          activatedAt: change.activatedAt,
          retiredAt: change.retiredAt,
          removeAfter: change.removeAfter,
        })
      })
    },

    deleteKey(kid) {
      return run('deleteKey', () => {
        deleteKey.run({ kid })
      })
    },

    listClients() {
      return run('listClients', () => selectClients.all().map(fromClientRow))
    },

    insertClient(client) {
      return run('insertClient', () => {
        const result = insertClient.run({
          id: client.id,
          secret_hash: client.secretHash,
          created_at: client.createdAt,
        })
        return result.changes === 1
      })
    },

    deleteClient(id) {
      return run('deleteClient', () => deleteClient.run({ id }).changes === 1)
    },

    record(event) {
      return run('record', () => {
        insertEvent.run({
          type: event.type,
          at: event.at,
          user_id: event.userId,
          session_id: event.sessionId,
          ip: event.ip,
          user_agent: event.userAgent,
          detail: event.detail,
        })
      })
    },

    listEvents(options) {
      return run('listEvents', () => {
        const limit = Math.max(0, Math.floor(options.limit))
        const rows =
          options.userId === undefined
            ? selectEvents.all({ limit })
            : selectUserEvents.all({ userId: options.userId, limit })
        return rows.map(fromEventRow)
      })
    },
  }
}

function copyUser(user: UserRecord): UserRecord {
  return { ...user, roles: [...user.roles] }
}

function fromUserRow(row: UserRow): UserRecord {
  const roles: unknown = JSON.parse(row.roles)
  if (!Array.isArray(roles) || !roles.every((role) => typeof role === 'string')) {
    throw new Error(`user ${row.id} has malformed roles`)
  }
  return {
    id: row.id,
    email: row.email,
    passwordHash: row.password_hash,
    roles,
    createdAt: row.created_at,
  }
}
