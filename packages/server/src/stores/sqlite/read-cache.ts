import type { UserRecord } from '../../core/ports.js'

export interface ReadCacheOptions {
  /** `PRAGMA data_version` of the connection: changes when another connection commits. */
  dataVersion: () => number
  /** Longest time a change committed by another process may go unseen (ms). */
  recheckInterval?: number
  maxEntries?: number
  /** Monotonic milliseconds. */
  now?: () => number
}

/**
 * The two reads of every bearer request (is the session deny-listed? who is the user?) served
 * from memory. Each SQLite read is its own locked transaction, which costs more than the rest of
 * the request; the cached answer is exact for changes made through this store (they invalidate
 * the entries they touch) and is dropped whole when another connection has committed, which
 * SQLite's `data_version` reveals. That is checked at most once per `recheckInterval`, so another
 * process sharing the file is seen within it (10 ms by default).
 */
export class ReadCache {
  readonly #options: Required<ReadCacheOptions>
  #version: number | undefined
  #checkedAt = Number.NEGATIVE_INFINITY
  /** Session id → deny-list expiry (0 when not denied). */
  readonly denyUntil = new Map<string, number>()
  readonly users = new Map<string, UserRecord>()

  constructor(options: ReadCacheOptions) {
    this.#options = {
      dataVersion: options.dataVersion,
      recheckInterval: options.recheckInterval ?? 10,
      maxEntries: options.maxEntries ?? 100_000,
      now: options.now ?? (() => performance.now()),
    }
  }

  /** Call before trusting an entry: drops everything another connection may have changed. */
  validate(): void {
    const now = this.#options.now()
    if (now - this.#checkedAt < this.#options.recheckInterval) return
    const version = this.#options.dataVersion()
    this.#checkedAt = now
    if (version !== this.#version) this.clear()
    this.#version = version
  }

  remember<K, V>(map: Map<K, V>, key: K, value: V): void {
    // Bounded by forgetting everything at once: rare, and cheaper than tracking recency.
    if (map.size >= this.#options.maxEntries) map.clear()
    map.set(key, value)
  }

  clear(): void {
    this.denyUntil.clear()
    this.users.clear()
  }
}
