import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import type BetterSqlite3 from 'better-sqlite3'
import { ConfigError } from '../core/errors.js'
import type { DatabaseStore, SessionStore } from '../core/ports.js'

export interface OpenStoresOptions {
  /** `BATON_DATABASE_URL`: `sqlite:<path>`, `postgres://…` or `memory:`. */
  databaseUrl: string
  /** `BATON_SESSION_STORE_URL`: anything the database URL takes, or `redis://`, `rediss://`, `redis-cluster://`. */
  sessionStoreUrl: string
}

export interface OpenStores {
  database: DatabaseStore
  sessions: SessionStore
  /** Closes every store opened, once each. */
  close(): Promise<void>
}

type StoreTarget =
  | { kind: 'memory' }
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgres'; url: string }
  | { kind: 'redis'; url: string }

type BothStores = DatabaseStore & SessionStore

const DATABASE_VARIABLE = 'BATON_DATABASE_URL'
const SESSION_VARIABLE = 'BATON_SESSION_STORE_URL'

const redisSchemes = new Set(['redis', 'rediss', 'redis-cluster'])
const acceptedDatabase = 'sqlite:<path>, postgres://… or memory:'
const acceptedSessions =
  'sqlite:<path>, postgres://…, redis://…, rediss://…, redis-cluster://… or memory:'

/**
 * Opens the stores named by `BATON_DATABASE_URL` and `BATON_SESSION_STORE_URL`, in any
 * combination. When both name the same store, one object (one connection or pool) serves both.
 * Drivers load only when a URL needs them, so the SQLite default never loads ioredis or pg, and
 * a memory-only setup never loads better-sqlite3.
 *
 * @example
 * ```ts
 * const { database, sessions, close } = await openStores({
 *   databaseUrl: 'sqlite:./data/baton.db',
 *   sessionStoreUrl: 'memory:',
 * })
 * ```
 */
export async function openStores(options: OpenStoresOptions): Promise<OpenStores> {
  const databaseTarget = parseStoreUrl(options.databaseUrl, DATABASE_VARIABLE, false)
  const sessionTarget = parseStoreUrl(options.sessionStoreUrl, SESSION_VARIABLE, true)

  const database = await openDatabase(databaseTarget, DATABASE_VARIABLE)
  const shared = sameStore(databaseTarget, sessionTarget)
  let sessions: SessionStore
  if (shared) {
    sessions = database
  } else {
    try {
      sessions = await openSessions(sessionTarget, SESSION_VARIABLE)
    } catch (error) {
      await database.close()
      throw error
    }
  }

  let closing: Promise<void> | undefined
  return {
    database,
    sessions,
    close() {
      closing ??= (async () => {
        const results = await Promise.allSettled(
          shared ? [database.close()] : [sessions.close(), database.close()],
        )
        const failure = results.find((result) => result.status === 'rejected')
        if (failure !== undefined) throw failure.reason
      })()
      return closing
    },
  }
}

function parseStoreUrl(url: string, variable: string, forSessions: boolean): StoreTarget {
  const accepted = forSessions ? acceptedSessions : acceptedDatabase
  const match = /^([a-z][a-z0-9+.-]*):(.*)$/is.exec(url.trim())
  if (match === null) {
    // Not echoed: a mistyped URL may still carry a password.
    throw new ConfigError(variable, `not a store URL (no scheme); expected ${accepted}`)
  }
  const scheme = (match[1] ?? '').toLowerCase()
  const rest = match[2] ?? ''
  switch (scheme) {
    case 'memory':
      if (rest !== '' && rest !== '//') {
        throw new ConfigError(variable, `'${url}' is malformed; write memory:`)
      }
      return { kind: 'memory' }
    case 'sqlite':
      if (rest === '') {
        throw new ConfigError(variable, `'${url}' names no file; write sqlite:<path>`)
      }
      return { kind: 'sqlite', path: rest }
    case 'postgres':
    case 'postgresql':
      return { kind: 'postgres', url: url.trim() }
    default:
      if (redisSchemes.has(scheme)) {
        if (!forSessions) {
          throw new ConfigError(
            variable,
            `${scheme}: can hold sessions only, not users, keys and audit events; use ${accepted}`,
          )
        }
        return { kind: 'redis', url: url.trim() }
      }
      // Never echo the URL here: an unsupported one may well carry a password.
      throw new ConfigError(variable, `unsupported store scheme '${scheme}:'; expected ${accepted}`)
  }
}

function sameStore(a: StoreTarget, b: StoreTarget): boolean {
  switch (a.kind) {
    case 'memory':
      return b.kind === 'memory'
    case 'sqlite':
      if (b.kind !== 'sqlite') return false
      // Two ':memory:' connections would be two unrelated databases, so those share only by name.
      if (a.path === ':memory:' || b.path === ':memory:') return a.path === b.path
      return resolve(a.path) === resolve(b.path)
    case 'postgres':
      return b.kind === 'postgres' && a.url === b.url
    case 'redis':
      return false
  }
}

async function openDatabase(target: StoreTarget, variable: string): Promise<BothStores> {
  switch (target.kind) {
    case 'memory': {
      const { createMemoryStore } = await import('./memory/index.js')
      return createMemoryStore()
    }
    case 'sqlite': {
      const { openSqliteStore } = await import('./sqlite/index.js')
      return openSqliteStore({ path: target.path, variable })
    }
    case 'postgres': {
      const { openPostgresStore } = await import('./postgres/index.js')
      return openPostgresStore({ url: target.url, variable })
    }
    case 'redis':
      throw new Error('unreachable: parseStoreUrl refuses Redis for the database')
  }
}

async function openSessions(target: StoreTarget, variable: string): Promise<SessionStore> {
  if (target.kind !== 'redis') return openDatabase(target, variable)
  const { openRedisSessionStore } = await import('./redis/index.js')
  return openRedisSessionStore({ url: target.url, variable })
}

/** A store as `baton` commands name it to an operator, found without creating anything. */
export interface StoreLocation {
  kind: 'memory' | 'sqlite' | 'postgres' | 'redis'
  /** A SQLite file's absolute path, or a PostgreSQL schema and server (never the password). */
  where: string
  /**
   * False when Baton's tables are not there yet, so that opening the store would make a new,
   * empty one; null where there is nothing to look for (memory:, Redis).
   */
  exists: boolean | null
  /** When `exists` is false, what is wrong with `where`: does not exist, has no Baton tables. */
  missing?: string
}

/**
 * Finds the stores `openStores` would open, and whether Baton has made its tables there, without
 * creating anything: the `baton` commands must not take a mistyped URL for a new, empty store.
 * `sessions` is null when the database holds the sessions.
 */
export async function locateStores(
  options: OpenStoresOptions,
): Promise<{ database: StoreLocation; sessions: StoreLocation | null }> {
  const databaseTarget = parseStoreUrl(options.databaseUrl, DATABASE_VARIABLE, false)
  const sessionTarget = parseStoreUrl(options.sessionStoreUrl, SESSION_VARIABLE, true)
  return {
    database: await locate(databaseTarget, DATABASE_VARIABLE),
    sessions: sameStore(databaseTarget, sessionTarget)
      ? null
      : await locate(sessionTarget, SESSION_VARIABLE),
  }
}

async function locate(target: StoreTarget, variable: string): Promise<StoreLocation> {
  switch (target.kind) {
    case 'memory':
      return { kind: 'memory', where: 'memory:', exists: null }
    case 'redis':
      return { kind: 'redis', where: withoutSecrets(target.url), exists: null }
    case 'sqlite': {
      if (target.path === ':memory:') return { kind: 'memory', where: ':memory:', exists: null }
      const where = resolve(target.path)
      if (!existsSync(where)) {
        return { kind: 'sqlite', where, exists: false, missing: 'does not exist' }
      }
      // The driver is CommonJS (`export =`): its constructor is the module's default export.
      const { default: Database } = (await import('better-sqlite3')) as unknown as {
        default: typeof BetterSqlite3
      }
      let db: InstanceType<typeof Database> | undefined
      try {
        // Not read-only: a read-only connection cannot read a WAL database whose -shm is missing.
        db = new Database(where, { fileMustExist: true, timeout: 1000 })
        const version = Number(db.pragma('user_version', { simple: true }))
        return version > 0
          ? { kind: 'sqlite', where, exists: true }
          : { kind: 'sqlite', where, exists: false, missing: 'has no Baton tables' }
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error)
        throw new ConfigError(variable, `cannot open SQLite database at ${target.path}: ${reason}`)
      } finally {
        db?.close()
      }
    }
    case 'postgres': {
      const { parsePostgresUrl, redactUrlSecrets } = await import('./postgres/url.js')
      const { migrationsTable, quoteIdentifier } = await import('./postgres/schema.js')
      const { default: pg } = await import('pg')
      const { connectionString, schema } = parsePostgresUrl(target.url, { variable })
      const where = `schema "${schema}" in ${withoutSecrets(connectionString)}`
      const client = new pg.Client({
        connectionString,
        connectionTimeoutMillis: 5000,
        query_timeout: 5000,
        application_name: 'baton',
      })
      // A connection that breaks is reported by the query that uses it.
      client.on('error', () => undefined)
      try {
        await client.connect()
        const found = await client.query<{ schema: boolean; tables: boolean }>(
          `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS schema,
                  to_regclass($2) IS NOT NULL AS tables`,
          [schema, `${quoteIdentifier(schema)}.${migrationsTable}`],
        )
        const row = found.rows[0]
        if (row?.tables === true) return { kind: 'postgres', where, exists: true }
        const missing = row?.schema === true ? 'has no Baton tables' : 'does not exist'
        return { kind: 'postgres', where, exists: false, missing }
      } catch (error) {
        const reason = redactUrlSecrets(
          error instanceof Error ? error.message : String(error),
          target.url,
        )
        throw new ConfigError(variable, `cannot open PostgreSQL database: ${reason}`)
      } finally {
        await client.end().catch(() => undefined)
      }
    }
  }
}

/** A server URL to show an operator: no password, no query (which may hold one too). */
function withoutSecrets(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') parsed.password = '***'
    parsed.search = ''
    return parsed.href
  } catch {
    return url.replace(/\/\/[^/@]*@/, '//***@')
  }
}
