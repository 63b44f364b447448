import { resolve } from 'node:path'
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
