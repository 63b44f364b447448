import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { ConfigError, StoreUnavailableError } from '../../core/errors.js'
import type {
  CounterState,
  DatabaseStore,
  KeyState,
  SessionRef,
  SessionStore,
  UserRecord,
} from '../../core/ports.js'
import {
  type ClientRow,
  type CounterRow,
  type EventRow,
  type KeyRow,
  type SessionRow,
  fromClientRow,
  fromEventRow,
  fromKeyRow,
  fromSessionRow,
  toSessionRow,
} from '../sql-rows.js'
import { ReadCache } from './read-cache.js'
import { migrate } from './schema.js'

export interface SqliteStoreOptions {
  /** A file path (its directory is created when missing), or `':memory:'` for a private database. */
  path: string
  /**
   * Longest time (ms) a change committed by another process sharing the file may go unseen by
   * the cached deny-list and user reads; changes made through this store are seen at once.
   * @default 10
   */
  readCacheRecheckInterval?: number
  /**
   * The setting to name when the database cannot be opened.
   * @default 'BATON_DATABASE_URL'
   */
  variable?: string
}

/** Every port over one SQLite connection: the zero-dependency default for one machine. */
export interface SqliteStore extends SessionStore, DatabaseStore {}

// Well inside the 2 s in which docs/api.md promises a 503 rather than a hanging request.
const BUSY_TIMEOUT_MS = 1000
const SWEEP_INTERVAL_MS = 60_000

interface UserRow {
  id: string
  email: string
  password_hash: string
  roles: string
  created_at: number
}

/**
 * Opens (creating when needed) a SQLite database in WAL mode and migrates its schema.
 * Throws `ConfigError` naming `options.variable` when the file cannot be created or opened.
 *
 * @example
 * ```ts
 * const store = openSqliteStore({ path: './data/baton.db' }) // one connection for both ports
 * const stores = { database: store, sessions: store }
 * ```
 */
export function openSqliteStore(options: SqliteStoreOptions): SqliteStore {
  const variable = options.variable ?? 'BATON_DATABASE_URL'
  const { path } = options
  let db: Database.Database | undefined
  try {
    if (path === '') throw new Error('the path is empty')
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
    db = new Database(path, { timeout: BUSY_TIMEOUT_MS })
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`)
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    db.pragma('foreign_keys = ON')
    migrate(db)
  } catch (error) {
    db?.close()
    const reason = error instanceof Error ? error.message : String(error)
    throw new ConfigError(variable, `cannot open SQLite database at ${path}: ${reason}`)
  }
  return createSqliteStore(db, options)
}

function createSqliteStore(db: Database.Database, options: SqliteStoreOptions): SqliteStore {
  const insertSession = db.prepare<SessionRow>(`
    INSERT INTO sessions (
      id, user_id, created_at, last_used_at, expires_at, ip, user_agent, scope, client_id,
      current_jti, current_issued_at, current_expires_at, previous_jti, rotated_at, revoked_at,
      revoked_reason, purge_at
    ) VALUES (
      @id, @user_id, @created_at, @last_used_at, @expires_at, @ip, @user_agent, @scope, @client_id,
      @current_jti, @current_issued_at, @current_expires_at, @previous_jti, @rotated_at,
      @revoked_at, @revoked_reason, @purge_at
    )
  `)
  const selectSession = db.prepare<{ id: string; userId: string; now: number }, SessionRow>(
    'SELECT * FROM sessions WHERE id = @id AND user_id = @userId AND purge_at > @now',
  )
  const rotateSession = db.prepare<
    {
      id: string
      userId: string
      expectedJti: string
      jti: string
      issuedAt: number
      expiresAt: number
      rotatedAt: number
      ip: string | null
      userAgent: string | null
      purgeAt: number
    },
    SessionRow
  >(`
    UPDATE sessions SET
      previous_jti = current_jti,
      current_jti = @jti,
      current_issued_at = @issuedAt,
      current_expires_at = @expiresAt,
      rotated_at = @rotatedAt,
      last_used_at = @rotatedAt,
      ip = @ip,
      user_agent = @userAgent,
      purge_at = @purgeAt
    WHERE id = @id AND user_id = @userId AND current_jti = @expectedJti AND revoked_at IS NULL
      AND purge_at > @rotatedAt AND @expiresAt * 1000 <= expires_at AND @purgeAt <= expires_at
    RETURNING *
  `)
  const markRevoked = db.prepare<{ id: string; revokedAt: number; reason: string }>(
    'UPDATE sessions SET revoked_at = @revokedAt, revoked_reason = @reason WHERE id = @id',
  )
  const markUserRevoked = db.prepare<
    { userId: string; revokedAt: number; reason: string },
    { id: string }
  >(`
    UPDATE sessions SET revoked_at = @revokedAt, revoked_reason = @reason
    WHERE user_id = @userId AND revoked_at IS NULL AND purge_at > @revokedAt
      AND expires_at > @revokedAt
    RETURNING id
  `)
  const selectLiveForUser = db.prepare<{ userId: string; now: number }, SessionRow>(`
    SELECT * FROM sessions
    WHERE user_id = @userId AND revoked_at IS NULL AND purge_at > @now AND expires_at > @now
    ORDER BY last_used_at DESC, created_at DESC
  `)
  const upsertDeny = db.prepare<{ sessionId: string; denyUntil: number }>(`
    INSERT INTO session_denylist (session_id, deny_until) VALUES (@sessionId, @denyUntil)
    ON CONFLICT (session_id) DO UPDATE SET deny_until = max(deny_until, excluded.deny_until)
  `)
  const selectDeniedUntil = db
    .prepare<{ sessionId: string }, number>(
      'SELECT deny_until FROM session_denylist WHERE session_id = @sessionId',
    )
    .pluck()
  const hitCounter = db.prepare<{ key: string; now: number; resetAt: number }, CounterRow>(`
    INSERT INTO counters (key, count, reset_at) VALUES (@key, 1, @resetAt)
    ON CONFLICT (key) DO UPDATE SET
      count = CASE WHEN reset_at <= @now THEN 1 ELSE count + 1 END,
      reset_at = CASE WHEN reset_at <= @now THEN excluded.reset_at ELSE reset_at END
    RETURNING count, reset_at
  `)
  const selectCounter = db.prepare<{ key: string; now: number }, CounterRow>(
    'SELECT count, reset_at FROM counters WHERE key = @key AND reset_at > @now',
  )
  const deleteCounter = db.prepare<{ key: string }>('DELETE FROM counters WHERE key = @key')

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

  const selectOne = db.prepare('SELECT 1')
  const sweepSessions = db.prepare<{ now: number }>('DELETE FROM sessions WHERE purge_at <= @now')
  const sweepDenylist = db.prepare<{ now: number }>(
    'DELETE FROM session_denylist WHERE deny_until <= @now',
  )
  const sweepCounters = db.prepare<{ now: number }>('DELETE FROM counters WHERE reset_at <= @now')

  const revokeOne = db.transaction(
    (ref: SessionRef, revokedAt: number, reason: string, denyUntil: number) => {
      const id = ref.sessionId
      const session = selectSession.get({ id, userId: ref.userId, now: revokedAt })
      if (session === undefined) return false
      // Deny even when already revoked: a later revocation may need a later deny-list expiry.
      upsertDeny.run({ sessionId: id, denyUntil })
      if (session.revoked_at !== null) return false
      markRevoked.run({ id, revokedAt, reason })
      return true
    },
  )
  const revokeUser = db.transaction(
    (userId: string, revokedAt: number, reason: string, denyUntil: number) => {
      const ids = markUserRevoked.all({ userId, revokedAt, reason }).map((row) => row.id)
      for (const sessionId of ids) upsertDeny.run({ sessionId, denyUntil })
      return ids
    },
  )
  const sweep = db.transaction((now: number) => {
    sweepSessions.run({ now })
    sweepDenylist.run({ now })
    sweepCounters.run({ now })
  })

  // Expiry is judged by the caller's clock (the latest `now` the core passed in), never Date.now():
  // a core test on a frozen or fake clock must not see records vanish because the wall clock moved.
  let latestNow: number | undefined
  const observe = (now: number): void => {
    latestNow = now
  }
  const sweepTimer = setInterval(() => {
    if (latestNow === undefined || !db.open) return
    try {
      sweep.immediate(latestNow)
    } catch {
      // Busy or failing: the next pass retries, and reads already ignore expired rows.
    }
  }, SWEEP_INTERVAL_MS)
  sweepTimer.unref()
  let closed = false

  const dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck()
  // A cache hit must not hide a closed database: that is an outage, not an answer.
  const assertOpen = (): void => {
    if (!db.open) throw new Error('the database connection is closed')
  }
  const cache = new ReadCache({
    dataVersion: () => dataVersion.get() ?? 0,
    recheckInterval: options.readCacheRecheckInterval,
  })

  function run<T>(operation: string, body: () => T): Promise<T> {
    try {
      return Promise.resolve(body())
    } catch (error) {
      return Promise.reject(new StoreUnavailableError(`sqlite: ${operation}`, error))
    }
  }

  return {
    create(session) {
      return run('create', () => {
        observe(session.createdAt)
        insertSession.run(toSessionRow(session))
      })
    },

    get(ref, now) {
      return run('get', () => {
        observe(now)
        const row = selectSession.get({ id: ref.sessionId, userId: ref.userId, now })
        return row === undefined ? null : fromSessionRow(row)
      })
    },

    rotate(ref, expectedJti, next) {
      return run('rotate', () => {
        observe(next.rotatedAt)
        const row = rotateSession.get({
          id: ref.sessionId,
          userId: ref.userId,
          expectedJti,
          jti: next.jti,
          issuedAt: next.issuedAt,
          expiresAt: next.expiresAt,
          rotatedAt: next.rotatedAt,
          ip: next.ip,
          userAgent: next.userAgent,
          purgeAt: next.purgeAt,
        })
        return row === undefined ? null : fromSessionRow(row)
      })
    },

    revoke(ref, revocation) {
      return run('revoke', () => {
        observe(revocation.revokedAt)
        cache.denyUntil.delete(ref.sessionId)
        return revokeOne.immediate(
          ref,
          revocation.revokedAt,
          revocation.reason,
          revocation.denyUntil,
        )
      })
    },

    revokeAllForUser(userId, revocation) {
      return run('revokeAllForUser', () => {
        observe(revocation.revokedAt)
        const revoked = revokeUser.immediate(
          userId,
          revocation.revokedAt,
          revocation.reason,
          revocation.denyUntil,
        )
        for (const sessionId of revoked) cache.denyUntil.delete(sessionId)
        return revoked
      })
    },

    listForUser(userId, now) {
      return run('listForUser', () => {
        observe(now)
        return selectLiveForUser.all({ userId, now }).map(fromSessionRow)
      })
    },

    isDenied({ sessionId }, now) {
      return run('isDenied', () => {
        observe(now)
        assertOpen()
        cache.validate()
        let until = cache.denyUntil.get(sessionId)
        if (until === undefined) {
          until = selectDeniedUntil.get({ sessionId }) ?? 0
          cache.remember(cache.denyUntil, sessionId, until)
        }
        return now < until
      })
    },

    hit(key, windowMs, now) {
      return run('hit', () => {
        observe(now)
        const row = hitCounter.get({ key, now, resetAt: now + windowMs })
        // RETURNING always yields the upserted row.
        if (row === undefined) throw new Error('counter upsert returned no row')
        return { count: row.count, resetAt: row.reset_at }
      })
    },

    peek(key, now) {
      return run('peek', (): CounterState => {
        observe(now)
        const row = selectCounter.get({ key, now })
        return row === undefined
          ? { count: 0, resetAt: 0 }
          : { count: row.count, resetAt: row.reset_at }
      })
    },

    resetCounter(key) {
      return run('resetCounter', () => {
        deleteCounter.run({ key })
      })
    },

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

    ping() {
      return run('ping', () => {
        selectOne.get()
      })
    },

    close() {
      if (closed) return Promise.resolve()
      closed = true
      clearInterval(sweepTimer)
      cache.clear()
      return run('close', () => {
        db.close()
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
