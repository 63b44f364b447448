import type Database from 'better-sqlite3'
import type { ReadCache } from './read-cache.js'

/** What the parts of the SQLite store share: one connection, its read cache and its clock. */
export interface SqliteContext {
  db: Database.Database
  /** Runs `body` as a store call: a throw becomes a `StoreUnavailableError` rejection. */
  run: <T>(operation: string, body: () => T) => Promise<T>
  /** Records the caller's clock, by which the periodic sweep judges expiry. */
  observe: (now: number) => void
  /** Throws when the connection is closed: a cache hit must not hide that outage. */
  assertOpen: () => void
  cache: ReadCache
}
