import type {
  DatabaseStore,
  EventQuery,
  KeyState,
  UserChange,
  UserRecord,
} from '../../core/ports.js'
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
import type Database from 'better-sqlite3'
import type { SqliteContext } from './context.js'

export type SqliteDatabasePort = Omit<DatabaseStore, 'ping' | 'close'>

interface UserRow {
  id: string
  email: string
  password_hash: string
  roles: string
  created_at: number
  disabled_at: number | null
  email_verified_at: number | null
  password_changed_at: number | null
  password_changed_in: string | null
}

/** `updateUser`'s parameters: each `set_` flag says whether its column changes. */
interface UserChangeParameters {
  id: string
  set_roles: number
  roles: string | null
  set_password_hash: number
  password_hash: string | null
  set_disabled_at: number
  disabled_at: number | null
  set_email_verified_at: number
  email_verified_at: number | null
  set_password_changed: number
  password_changed_at: number | null
  password_changed_in: string | null
}

/** The parameters of every shape of `listEvents` statement; each binds those it names. */
interface EventParameters {
  userId?: string
  type?: string
  since?: number
  beforeAt?: number
  beforeId?: number
  afterId?: number
  limit: number
}

/** Users, signing keys, OAuth clients and audit events on SQLite. */
export function createSqliteDatabase({
  db,
  run,
  assertOpen,
  cache,
}: SqliteContext): SqliteDatabasePort {
  const insertUser = db.prepare<UserRow>(`
    INSERT INTO users (
      id, email, password_hash, roles, created_at, disabled_at, email_verified_at,
      password_changed_at, password_changed_in
    ) VALUES (
      @id, @email, @password_hash, @roles, @created_at, @disabled_at, @email_verified_at,
      @password_changed_at, @password_changed_in
    )
    ON CONFLICT DO NOTHING
  `)
  const selectUserByEmail = db.prepare<{ email: string }, UserRow>(
    'SELECT * FROM users WHERE email = @email',
  )
  const selectUserById = db.prepare<{ id: string }, UserRow>('SELECT * FROM users WHERE id = @id')
  // Keyset pages in the order of users_created_at_id: a later page seeks to its cursor rather
  // than walk the pages before it. The email filter is a substring (instr, not LIKE, whose % and
  // _ would be wildcards), checked on each user the walk passes.
  const selectFirstUsers = db.prepare<{ email: string | null; limit: number }, UserRow>(`
    SELECT * FROM users
    WHERE (@email IS NULL OR instr(email, @email) > 0)
    ORDER BY created_at, id
    LIMIT @limit
  `)
  const selectUsersAfter = db.prepare<
    { createdAt: number; id: string; email: string | null; limit: number },
    UserRow
  >(`
    SELECT * FROM users
    WHERE created_at >= @createdAt AND (created_at > @createdAt OR id > @id)
      AND (@email IS NULL OR instr(email, @email) > 0)
    ORDER BY created_at, id
    LIMIT @limit
  `)
  const updateUser = db.prepare<UserChangeParameters>(`
    UPDATE users SET
      roles = CASE WHEN @set_roles THEN @roles ELSE roles END,
      password_hash = CASE WHEN @set_password_hash THEN @password_hash ELSE password_hash END,
      disabled_at = CASE WHEN @set_disabled_at THEN @disabled_at ELSE disabled_at END,
      email_verified_at =
        CASE WHEN @set_email_verified_at THEN @email_verified_at ELSE email_verified_at END,
      password_changed_at =
        CASE WHEN @set_password_changed THEN @password_changed_at ELSE password_changed_at END,
      password_changed_in =
        CASE WHEN @set_password_changed THEN @password_changed_in ELSE password_changed_in END
    WHERE id = @id
  `)
  const deleteUser = db.prepare<{ id: string }>('DELETE FROM users WHERE id = @id')

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

  const insertEvent = db.prepare<Omit<EventRow, 'id'>>(`
    INSERT INTO audit_events (type, at, user_id, session_id, ip, user_agent, actor, detail)
    VALUES (@type, @at, @user_id, @session_id, @ip, @user_agent, @actor, @detail)
  `)
  // One statement per shape of query (which filters, which direction), prepared on first use:
  // each WHERE names only the columns it filters on, so SQLite plans it on the index for them.
  const eventStatements = new Map<string, Database.Statement<EventParameters, EventRow>>()
  const eventStatement = (shape: string, sql: () => string) => {
    let prepared = eventStatements.get(shape)
    if (prepared === undefined) {
      prepared = db.prepare<EventParameters, EventRow>(sql())
      eventStatements.set(shape, prepared)
    }
    return prepared
  }
  // The oldest first, a bounded batch: a long backlog never holds the write lock for long.
  const purgeEvents = db.prepare<{ before: number; limit: number }>(`
    DELETE FROM audit_events WHERE id IN (
      SELECT id FROM audit_events WHERE at < @before ORDER BY at, id LIMIT @limit
    )
  `)

  return {
    createUser(user) {
      return run('createUser', () => {
        const result = insertUser.run({
          id: user.id,
          email: user.email,
          password_hash: user.passwordHash,
          roles: JSON.stringify(user.roles),
          created_at: user.createdAt,
          disabled_at: user.disabledAt,
          email_verified_at: user.emailVerifiedAt,
          password_changed_at: user.passwordChangedAt,
          password_changed_in: user.passwordChangedIn,
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

    listUsers(options) {
      return run('listUsers', () => {
        const limit = pageLimit(options.limit)
        const after = options.cursor === undefined ? undefined : decodeUserCursor(options.cursor)
        const email = options.email ?? null
        const rows =
          after === undefined
            ? selectFirstUsers.all({ email, limit: limit + 1 })
            : selectUsersAfter.all({ ...after, email, limit: limit + 1 })
        return pageOf(rows.map(fromUserRow), limit, encodeUserCursor)
      })
    },

    updateUser(id, change) {
      return run('updateUser', () => {
        // Before and after: a read between the two (none can interleave here, but the cache is
        // shared with every call) never keeps the old record.
        cache.users.delete(id)
        const result = updateUser.run({
          id,
          set_roles: change.roles === undefined ? 0 : 1,
          roles: change.roles === undefined ? null : JSON.stringify(change.roles),
          set_password_hash: change.passwordHash === undefined ? 0 : 1,
          password_hash: change.passwordHash ?? null,
          set_disabled_at: change.disabledAt === undefined ? 0 : 1,
          disabled_at: change.disabledAt ?? null,
          set_email_verified_at: change.emailVerifiedAt === undefined ? 0 : 1,
          email_verified_at: change.emailVerifiedAt ?? null,
          ...passwordChangeParameters(change),
        })
        cache.users.delete(id)
        return result.changes === 1
      })
    },

    deleteUser(id) {
      return run('deleteUser', () => {
        cache.users.delete(id)
        const deleted = deleteUser.run({ id }).changes === 1
        cache.users.delete(id)
        return deleted
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
          actor: event.actor,
          detail: event.detail,
        })
      })
    },

    listEvents(query) {
      return run('listEvents', () => {
        const limit = pageLimit(query.limit)
        const parameters: EventParameters = { limit: limit + 1 }
        const filters = eventFilters(query, parameters)
        if (query.afterId !== undefined) {
          parameters.afterId = parseEventId(query.afterId)
          filters.push('id > @afterId')
          const shape = `after:${filters.join(' AND ')}`
          const rows = eventStatement(
            shape,
            () =>
              `SELECT * FROM audit_events WHERE ${filters.join(' AND ')} ORDER BY id LIMIT @limit`,
          ).all(parameters)
          return pageOf(rows.map(fromEventRow), limit, (last) => last.id)
        }
        if (query.cursor !== undefined) {
          const before = decodeEventCursor(query.cursor)
          parameters.beforeAt = before.at
          parameters.beforeId = before.id
          // The range on `at` alone is what the index can seek to; the rest is checked per row.
          filters.push('at <= @beforeAt', '(at < @beforeAt OR id < @beforeId)')
        }
        const where = filters.length === 0 ? '' : `WHERE ${filters.join(' AND ')}`
        const rows = eventStatement(
          `before:${where}`,
          () => `SELECT * FROM audit_events ${where} ORDER BY at DESC, id DESC LIMIT @limit`,
        ).all(parameters)
        return pageOf(rows.map(fromEventRow), limit, (last) =>
          encodeEventCursor({ at: last.at, id: Number(last.id) }),
        )
      })
    },

    purgeEvents(before, limit) {
      return run('purgeEvents', () => {
        const most = pageLimit(limit)
        if (most === 0) return 0
        return purgeEvents.run({ before, limit: most }).changes
      })
    },
  }
}

/** The WHERE conditions of an event query's filters, binding their values in `parameters`. */
function eventFilters(query: EventQuery, parameters: EventParameters): string[] {
  const filters: string[] = []
  if (query.userId !== undefined) {
    parameters.userId = query.userId
    filters.push('user_id = @userId')
  }
  if (query.type !== undefined) {
    parameters.type = query.type
    filters.push('type = @type')
  }
  if (query.since !== undefined) {
    parameters.since = query.since
    filters.push('at >= @since')
  }
  return filters
}

function copyUser(user: UserRecord): UserRecord {
  return { ...user, roles: [...user.roles] }
}

/** When and in which session the password changed: the two always change together. */
function passwordChangeParameters(
  change: UserChange,
): Pick<
  UserChangeParameters,
  'set_password_changed' | 'password_changed_at' | 'password_changed_in'
> {
  return {
    set_password_changed: change.passwordChangedAt === undefined ? 0 : 1,
    password_changed_at: change.passwordChangedAt ?? null,
    password_changed_in: change.passwordChangedIn ?? null,
  }
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
    disabledAt: row.disabled_at,
    emailVerifiedAt: row.email_verified_at,
    passwordChangedAt: row.password_changed_at,
    passwordChangedIn: row.password_changed_in,
  }
}
