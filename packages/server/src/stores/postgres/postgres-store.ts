import pg from 'pg'
import type { CustomTypesConfig } from 'pg'
import { ConfigError, StoreUnavailableError } from '../../core/errors.js'
import type { DatabaseStore, SessionStore } from '../../core/ports.js'
import type { PostgresContext, Statement } from './context.js'
import { createPostgresCounters } from './counters.js'
import { createPostgresDatabase } from './database.js'
import { migrate, quoteIdentifier } from './schema.js'
import {
  QUERY_TIMEOUT_MS,
  createPooledQueries,
  describeFailure,
  ignoreError,
  messageOf,
  toError,
} from './query.js'
import { parsePostgresUrl, redactUrlSecrets } from './url.js'
import { createPostgresSessions } from './sessions.js'
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
// of CALL_BUDGET_MS, at most QUERY_TIMEOUT_MS, for the answer (query.ts).
const CONNECT_TIMEOUT_MS = 1000
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
  const table = (name: string): string => `${quoteIdentifier(schema)}.${name}`
  const sessions = table('sessions')
  const denylist = table('session_denylist')
  const counters = table('counters')
  const oneTimeTokens = table('one_time_tokens')

  // Named, so each connection parses and plans a statement once and then only binds values.
  const statement = (name: string, text: string): Statement => ({ name: `baton_${name}`, text })

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
     ), expired_tokens AS (
       DELETE FROM ${oneTimeTokens} WHERE (user_id, kind) IN (
         SELECT user_id, kind FROM ${oneTimeTokens} WHERE expires_at <= $1 LIMIT $2
           FOR UPDATE SKIP LOCKED
       )
       RETURNING 1
     )
     SELECT GREATEST(
       (SELECT count(*) FROM expired_sessions),
       (SELECT count(*) FROM expired_denials),
       (SELECT count(*) FROM expired_counters),
       (SELECT count(*) FROM expired_tokens)
     ) AS deleted`,
  )

  let closed = false
  let closing: Promise<void> | undefined

  const { query, queryOne } = createPooledQueries(pool, () => closed)

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

  const context: PostgresContext = {
    query,
    queryOne,
    observe,
    table,
    statement,
    isClosed: () => closed,
  }

  return {
    ...createPostgresSessions(context),
    ...createPostgresCounters(context),
    ...createPostgresDatabase(context, userCache),

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
