import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { ConfigError, StoreUnavailableError, isBatonError } from '../../core/errors.js'
import type { DatabaseStore, SessionStore } from '../../core/ports.js'
import type { SqliteContext } from './context.js'
import { createSqliteCounters } from './counters.js'
import { createSqliteDatabase } from './database.js'
import { ReadCache } from './read-cache.js'
import { migrate } from './schema.js'
import { createSqliteSessions } from './sessions.js'

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

/** Composes the parts over one open, migrated connection; the sweep is the connection's. */
function createSqliteStore(db: Database.Database, options: SqliteStoreOptions): SqliteStore {
  const selectOne = db.prepare('SELECT 1')
  const sweepSessions = db.prepare<{ now: number }>('DELETE FROM sessions WHERE purge_at <= @now')
  const sweepDenylist = db.prepare<{ now: number }>(
    'DELETE FROM session_denylist WHERE deny_until <= @now',
  )
  const sweepCounters = db.prepare<{ now: number }>('DELETE FROM counters WHERE reset_at <= @now')
  const sweepOneTimeTokens = db.prepare<{ now: number }>(
    'DELETE FROM one_time_tokens WHERE expires_at <= @now',
  )

  const sweep = db.transaction((now: number) => {
    sweepSessions.run({ now })
    sweepDenylist.run({ now })
    sweepCounters.run({ now })
    sweepOneTimeTokens.run({ now })
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
      // The caller's mistake (a page cursor this store did not issue) is no outage.
      if (isBatonError(error)) return Promise.reject(error)
      return Promise.reject(new StoreUnavailableError(`sqlite: ${operation}`, error))
    }
  }

  const context: SqliteContext = { db, run, observe, assertOpen, cache }

  return {
    ...createSqliteSessions(context),
    ...createSqliteCounters(context),
    ...createSqliteDatabase(context),

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
