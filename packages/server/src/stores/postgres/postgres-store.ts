import { performance } from 'node:perf_hooks'
import pg from 'pg'
import type { CustomTypesConfig, PoolClient, QueryResultRow } from 'pg'
import { ConfigError, StoreUnavailableError } from '../../core/errors.js'
import type { CounterState, DatabaseStore, SessionStore, UserRecord } from '../../core/ports.js'
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
} from '../sql-rows.js'
import { migrate, quoteIdentifier } from './schema.js'
import type { TimedQuery } from './schema.js'
import { parsePostgresUrl, redactUrlSecrets } from './url.js'
import { UserCache } from './user-cache.js'

export interface PostgresStoreOptions {
  /**
   * `postgres://user:password@host:port/database`; `?schema=name` picks the schema (default
   * `baton`), any other parameter goes to the driver (`sslmode`, `application_name`...).
   */
  url: string
  /** The schema for Baton's tables, instead of `?schema=` in the URL. Created when missing. */
  schema?: string
  /**
   * The setting to name when the URL is malformed or the database cannot be opened.
   * @default 'BATON_DATABASE_URL'
   */
  variable?: string
  /**
   * Most connections open at once. Requests beyond it wait, up to the 1 s connect timeout.
   * @default 10
   */
  poolSize?: number
}

/** Every port over one connection pool: for several Baton processes sharing one database. */
export interface PostgresStore extends SessionStore, DatabaseStore {}

// docs/api.md promises a 503 within 2 s rather than a hanging request, so every call has a budget: at
// most CONNECT_TIMEOUT_MS to get a connection (from the pool or a new one), then whatever is left
// of CALL_BUDGET_MS, at most QUERY_TIMEOUT_MS, for the answer.
const CONNECT_TIMEOUT_MS = 1000
const QUERY_TIMEOUT_MS = 1500
const CALL_BUDGET_MS = 1700
// The server gives up a little before the client does: a slow but live server (a lock wait) then
// answers with an error and the connection stays usable, while a silent one is timed out by the
// client and its connection discarded.
const STATEMENT_TIMEOUT_MS = 1200
const MIGRATION_QUERY_TIMEOUT_MS = 35_000
const DEFAULT_POOL_SIZE = 10
const IDLE_TIMEOUT_MS = 30_000
// Without keepalive an idle connection to a vanished host looks healthy until it is used.
const KEEPALIVE_INITIAL_DELAY_MS = 10_000
const SWEEP_INTERVAL_MS = 60_000
// Users read on every refresh and /auth/me; each entry is a few hundred bytes.
const USER_CACHE_ENTRIES = 10_000
const SWEEP_BATCH = 5000
const SWEEP_MAX_BATCHES = 20

// BIGINT columns hold epoch milliseconds, well inside Number's exact range; the driver's default
// would hand them over as strings. Set per pool, not globally, so other pg users are unaffected.
const getTypeParser: CustomTypesConfig['getTypeParser'] = (oid, format) =>
  oid === pg.types.builtins.INT8 ? Number : (pg.types.getTypeParser(oid, format) as unknown)

interface Statement {
  name: string
  text: string
}

interface UserRow {
  id: string
  email: string
  password_hash: string
  roles: string[]
  created_at: number
}

const sessionColumns = `id, user_id, created_at, last_used_at, expires_at, ip, user_agent, scope,
  client_id, current_jti, current_issued_at, current_expires_at, previous_jti, rotated_at,
  revoked_at, revoked_reason, purge_at`
const userColumns = 'id, email, password_hash, roles, created_at'
const keyColumns = `kid, alg, state, private_jwk, public_jwk, created_at, activated_at, retired_at,
  remove_after`
const eventColumns = 'type, at, user_id, session_id, ip, user_agent, detail'

/**
 * Opens a connection pool, creates the schema when missing and migrates it. Throws `ConfigError`
 * naming `options.variable` when the URL is malformed or the database cannot be opened; neither
 * message contains the URL.
 *
 * @example
 * ```ts
 * const store = await openPostgresStore({ url: 'postgres://baton:secret@db/baton' })
 * const stores = { database: store, sessions: store } // one pool for both ports
 * ```
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const variable = options.variable ?? 'BATON_DATABASE_URL'
  const { connectionString, schema } = parsePostgresUrl(options.url, {
    schema: options.schema,
    variable,
  })
  const poolSize = options.poolSize ?? DEFAULT_POOL_SIZE
  if (!Number.isSafeInteger(poolSize) || poolSize < 1) {
    throw new ConfigError('poolSize', 'must be a positive integer')
  }

  const pool = new pg.Pool({
    connectionString,
    max: poolSize,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    query_timeout: QUERY_TIMEOUT_MS,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    // A connection left inside a transaction (a migration cut off mid-way) must not hold its locks.
    idle_in_transaction_session_timeout: 10_000,
    idleTimeoutMillis: IDLE_TIMEOUT_MS,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_INITIAL_DELAY_MS,
    application_name: 'baton',
    // Idle connections alone do not keep a process (a CLI command, a test) alive.
    allowExitOnIdle: true,
    types: { getTypeParser },
  })
  // An idle connection that breaks (server restart, network) is already dropped by the pool; the
  // event only needs a listener, or Node would crash the process on it. The next call reconnects.
  pool.on('error', ignoreError)

  try {
    const client = await pool.connect()
    client.on('error', ignoreError)
    try {
      await migrate(client, schema, MIGRATION_QUERY_TIMEOUT_MS)
      client.removeListener('error', ignoreError)
      client.release()
    } catch (error) {
      client.removeListener('error', ignoreError)
      client.release(toError(error))
      throw error
    }
  } catch (error) {
    await pool.end().catch(() => undefined)
    const reason = redactUrlSecrets(messageOf(error), options.url)
    throw new ConfigError(variable, `cannot open PostgreSQL database: ${reason}`)
  }
  const userCache = new UserCache({ connectionString, schema, maxEntries: USER_CACHE_ENTRIES })
  userCache.start()
  return createPostgresStore(pool, schema, userCache)
}

function createPostgresStore(pool: pg.Pool, schema: string, userCache: UserCache): PostgresStore {
  const qualified = (table: string): string => `${quoteIdentifier(schema)}.${table}`
  const sessions = qualified('sessions')
  const denylist = qualified('session_denylist')
  const counters = qualified('counters')
  const users = qualified('users')
  const signingKeys = qualified('signing_keys')
  const auditEvents = qualified('audit_events')
  const oauthClients = qualified('oauth_clients')

  // Named, so each connection parses and plans a statement once and then only binds values.
  const statement = (name: string, text: string): Statement => ({ name: `baton_${name}`, text })

  const insertSession = statement(
    'insert_session',
    `INSERT INTO ${sessions} (${sessionColumns})
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
  )
  const selectSession = statement(
    'select_session',
    `SELECT ${sessionColumns} FROM ${sessions} WHERE id = $1 AND user_id = $2 AND purge_at > $3`,
  )
  // The compare-and-swap is this one statement: of concurrent rotations with the same expected
  // jti, the first takes the row lock; the others wait, re-check the WHERE clause against the
  // row it committed, find another current_jti and update nothing.
  const rotateSession = statement(
    'rotate_session',
    `UPDATE ${sessions} SET
       previous_jti = current_jti,
       current_jti = $4,
       current_issued_at = $5,
       current_expires_at = $6,
       rotated_at = $7,
       last_used_at = $7,
       ip = $8,
       user_agent = $9,
       purge_at = $10
     WHERE id = $1 AND user_id = $2 AND current_jti = $3 AND revoked_at IS NULL AND purge_at > $7
       AND $6::bigint * 1000 <= expires_at AND $10::bigint <= expires_at
     RETURNING ${sessionColumns}`,
  )
  // Deny-lists the session even when it was already revoked (a later revocation may need a later
  // deny-list expiry), and says whether this call is the one that revoked it. Every part sees the
  // same snapshot; the UPDATE alone re-checks `revoked_at IS NULL` after a concurrent revoke, so
  // exactly one of two racing calls returns true.
  const revokeSession = statement(
    'revoke_session',
    `WITH found AS (
       SELECT id FROM ${sessions} WHERE id = $1 AND user_id = $2 AND purge_at > $3
     ), revoked AS (
       UPDATE ${sessions} SET revoked_at = $3, revoked_reason = $4
       WHERE id = $1 AND user_id = $2 AND purge_at > $3 AND revoked_at IS NULL
       RETURNING id
     ), denied AS (
       INSERT INTO ${denylist} (session_id, deny_until)
       SELECT id, $5 FROM found
       ON CONFLICT (session_id) DO UPDATE
         SET deny_until = GREATEST(${denylist}.deny_until, excluded.deny_until)
     )
     SELECT EXISTS (SELECT 1 FROM revoked) AS revoked`,
  )
  const revokeUserSessions = statement(
    'revoke_user_sessions',
    `WITH revoked AS (
       UPDATE ${sessions} SET revoked_at = $2, revoked_reason = $3
       WHERE user_id = $1 AND revoked_at IS NULL AND purge_at > $2 AND expires_at > $2
       RETURNING id
     ), denied AS (
       INSERT INTO ${denylist} (session_id, deny_until)
       SELECT id, $4 FROM revoked
       ON CONFLICT (session_id) DO UPDATE
         SET deny_until = GREATEST(${denylist}.deny_until, excluded.deny_until)
     )
     SELECT id FROM revoked`,
  )
  const selectLiveForUser = statement(
    'select_live_for_user',
    `SELECT ${sessionColumns} FROM ${sessions}
     WHERE user_id = $1 AND revoked_at IS NULL AND purge_at > $2 AND expires_at > $2
     ORDER BY last_used_at DESC, created_at DESC, id`,
  )
  const selectDenied = statement(
    'select_denied',
    `SELECT EXISTS (
       SELECT 1 FROM ${denylist} WHERE session_id = $1 AND deny_until > $2
     ) AS denied`,
  )
  // The window starts at the first hit and lasts windowMs; a hit after it ended starts a new one.
  // ON CONFLICT makes concurrent first hits of a key count once each, not start two windows.
  const hitCounter = statement(
    'hit_counter',
    `INSERT INTO ${counters} AS counter (key, count, reset_at) VALUES ($1, 1, $3)
     ON CONFLICT (key) DO UPDATE SET
       count = CASE WHEN counter.reset_at <= $2 THEN 1 ELSE counter.count + 1 END,
       reset_at = CASE WHEN counter.reset_at <= $2 THEN excluded.reset_at ELSE counter.reset_at END
     RETURNING count, reset_at`,
  )
  const selectCounter = statement(
    'select_counter',
    `SELECT count, reset_at FROM ${counters} WHERE key = $1 AND reset_at > $2`,
  )
  const deleteCounter = statement('delete_counter', `DELETE FROM ${counters} WHERE key = $1`)

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

  const selectOne = statement('ping', 'SELECT 1')
  // Bounded batches that skip rows a request holds: a long backlog never turns into one statement
  // that outlives the statement timeout, and sweeping never makes a rotation wait.
  const sweepExpired = statement(
    'sweep_expired',
    `WITH expired_sessions AS (
       DELETE FROM ${sessions} WHERE id IN (
         SELECT id FROM ${sessions} WHERE purge_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED
       )
       RETURNING 1
     ), expired_denials AS (
       DELETE FROM ${denylist} WHERE session_id IN (
         SELECT session_id FROM ${denylist} WHERE deny_until <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED
       )
       RETURNING 1
     ), expired_counters AS (
       DELETE FROM ${counters} WHERE key IN (
         SELECT key FROM ${counters} WHERE reset_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED
       )
       RETURNING 1
     )
     SELECT GREATEST(
       (SELECT count(*) FROM expired_sessions),
       (SELECT count(*) FROM expired_denials),
       (SELECT count(*) FROM expired_counters)
     ) AS deleted`,
  )

  let closed = false
  let closing: Promise<void> | undefined

  /**
   * Runs one statement on a pooled connection within the call budget. Every failure becomes a
   * `StoreUnavailableError`; a connection that may be mid-protocol (timed out, broken) is
   * discarded so that the next call gets a fresh one.
   */
  async function query<Row extends QueryResultRow>(
    operation: string,
    { name, text }: Statement,
    values: unknown[],
  ): Promise<Row[]> {
    if (closed) throw new StoreUnavailableError(`postgres: ${operation}: the store is closed`)
    const started = performance.now()
    let client: PoolClient
    try {
      client = await pool.connect()
    } catch (error) {
      throw new StoreUnavailableError(`postgres: ${operation}: ${describeFailure(error)}`, error)
    }
    // Errors of a checked-out connection reach the running query too; without a listener the
    // 'error' event itself would crash the process.
    client.on('error', ignoreError)
    const waited = performance.now() - started
    const timed: TimedQuery = {
      name,
      text,
      values,
      query_timeout: Math.max(1, Math.min(QUERY_TIMEOUT_MS, Math.round(CALL_BUDGET_MS - waited))),
    }
    try {
      const result = await client.query<Row>(timed)
      client.removeListener('error', ignoreError)
      client.release()
      return result.rows
    } catch (error) {
      client.removeListener('error', ignoreError)
      // The server's own error answer leaves the connection in a known state; anything else
      // (our timeout, a reset) may not, and pool.release(error) closes it.
      client.release(error instanceof pg.DatabaseError ? undefined : toError(error))
      throw new StoreUnavailableError(`postgres: ${operation}: ${describeFailure(error)}`, error)
    }
  }

  async function queryOne<Row extends QueryResultRow>(
    operation: string,
    statement: Statement,
    values: unknown[],
  ): Promise<Row> {
    const [row] = await query<Row>(operation, statement, values)
    if (row === undefined) {
      throw new StoreUnavailableError(`postgres: ${operation}: the statement returned no row`)
    }
    return row
  }

  // Expiry is judged by the caller's clock (the latest `now` the core passed in), never the
  // database's now(): a core test on a fake clock must not see records vanish because time moved.
  let latestNow: number | undefined
  const observe = (now: number): void => {
    latestNow = now
  }
  const sweep = async (now: number): Promise<void> => {
    for (let batch = 0; batch < SWEEP_MAX_BATCHES && !closed; batch++) {
      const row = await queryOne<{ deleted: number }>('sweep', sweepExpired, [now, SWEEP_BATCH])
      if (row.deleted < SWEEP_BATCH) return
    }
  }
  // Passes cannot pile up: the batches of one take at most SWEEP_MAX_BATCHES call budgets, well
  // under the interval. Two instances sweeping at once skip each other's locked rows.
  const sweepTimer = setInterval(() => {
    if (latestNow === undefined || closed) return
    // Unavailable or contended: the next pass retries, and reads already ignore expired rows.
    sweep(latestNow).catch(ignoreError)
  }, SWEEP_INTERVAL_MS)
  sweepTimer.unref()

  return {
    async create(session) {
      observe(session.createdAt)
      await query('create', insertSession, [
        session.id,
        session.userId,
        session.createdAt,
        session.lastUsedAt,
        session.expiresAt,
        session.ip,
        session.userAgent,
        session.scope,
        session.clientId,
        session.currentJti,
        session.currentIssuedAt,
        session.currentExpiresAt,
        session.previousJti,
        session.rotatedAt,
        session.revokedAt,
        session.revokedReason,
        session.purgeAt,
      ])
    },

    async get(ref, now) {
      observe(now)
      const [row] = await query<SessionRow>('get', selectSession, [ref.sessionId, ref.userId, now])
      return row === undefined ? null : fromSessionRow(row)
    },

    async rotate(ref, expectedJti, next) {
      observe(next.rotatedAt)
      const [row] = await query<SessionRow>('rotate', rotateSession, [
        ref.sessionId,
        ref.userId,
        expectedJti,
        next.jti,
        next.issuedAt,
        next.expiresAt,
        next.rotatedAt,
        next.ip,
        next.userAgent,
        next.purgeAt,
      ])
      return row === undefined ? null : fromSessionRow(row)
    },

    async revoke(ref, revocation) {
      observe(revocation.revokedAt)
      const row = await queryOne<{ revoked: boolean }>('revoke', revokeSession, [
        ref.sessionId,
        ref.userId,
        revocation.revokedAt,
        revocation.reason,
        revocation.denyUntil,
      ])
      return row.revoked
    },

    async revokeAllForUser(userId, revocation) {
      observe(revocation.revokedAt)
      const rows = await query<{ id: string }>('revokeAllForUser', revokeUserSessions, [
        userId,
        revocation.revokedAt,
        revocation.reason,
        revocation.denyUntil,
      ])
      return rows.map((row) => row.id)
    },

    async listForUser(userId, now) {
      observe(now)
      const rows = await query<SessionRow>('listForUser', selectLiveForUser, [userId, now])
      return rows.map(fromSessionRow)
    },

    async isDenied({ sessionId }, now) {
      observe(now)
      const row = await queryOne<{ denied: boolean }>('isDenied', selectDenied, [sessionId, now])
      return row.denied
    },

    async hit(key, windowMs, now) {
      observe(now)
      const row = await queryOne<CounterRow>('hit', hitCounter, [key, now, now + windowMs])
      return { count: row.count, resetAt: row.reset_at }
    },

    async peek(key, now): Promise<CounterState> {
      observe(now)
      const [row] = await query<CounterRow>('peek', selectCounter, [key, now])
      return row === undefined
        ? { count: 0, resetAt: 0 }
        : { count: row.count, resetAt: row.reset_at }
    },

    async resetCounter(key) {
      await query('resetCounter', deleteCounter, [key])
    },

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
      if (closed) throw new StoreUnavailableError('postgres: findUserById: the store is closed')
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

    async ping() {
      await query('ping', selectOne, [])
    },

    close() {
      closed = true
      clearInterval(sweepTimer)
      // pool.end() waits for checked-out connections, which the call budget bounds.
      closing ??= Promise.all([userCache.close(), pool.end()])
        .then(() => undefined)
        .catch((error: unknown) => {
          throw new StoreUnavailableError(`postgres: close: ${describeFailure(error)}`, error)
        })
      return closing
    },
  }
}

function ignoreError(): void {}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** Operator detail: the SQLSTATE for a server error, the driver's message otherwise. */
function describeFailure(error: unknown): string {
  if (error instanceof pg.DatabaseError) return `SQLSTATE ${error.code ?? '?'}: ${error.message}`
  return messageOf(error)
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
