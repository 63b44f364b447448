import { StoreUnavailableError } from '../../core/errors.js'
import type { DatabaseStore, SessionStore } from '../../core/ports.js'
import type { MemoryContext } from './context.js'
import { createMemoryCounters } from './counters.js'
import { createMemoryDatabase } from './database.js'
import { createMemorySessions } from './sessions.js'

/**
 * Every port in one process-local object: for tests, development and single-process embedding.
 * Nothing survives a restart, and two processes never see each other's sessions.
 */
export interface MemoryStore extends SessionStore, DatabaseStore {}

// Measured in the caller's clock (the `now` the core passes in), never Date.now(): a core test on
// a frozen or fake clock must not see records vanish because the wall clock moved on.
const SWEEP_INTERVAL_MS = 60_000

/**
 * Creates an empty in-memory store implementing `SessionStore` and `DatabaseStore`.
 *
 * @example
 * ```ts
 * const store = createMemoryStore() // one object for both ports
 * const stores = { database: store, sessions: store }
 * ```
 */
export function createMemoryStore(): MemoryStore {
  let lastSweepAt: number | undefined
  let closed = false

  const context: MemoryContext = {
    run: (operation, body) => {
      if (closed) {
        return Promise.reject(new StoreUnavailableError(`memory: ${operation}: store is closed`))
      }
      // The executor turns a throw into a rejection, as an async function would.
      return new Promise((resolve) => resolve(body()))
    },
    sweepIfDue: (now) => {
      // A clock that went backwards (another fake clock) sweeps at once: an earlier `now` can only
      // remove less, never something still live for a later one.
      if (
        lastSweepAt !== undefined &&
        now >= lastSweepAt &&
        now - lastSweepAt < SWEEP_INTERVAL_MS
      ) {
        return
      }
      lastSweepAt = now
      sessions.sweep(now)
      counters.sweep(now)
    },
  }
  const sessions = createMemorySessions(context)
  const counters = createMemoryCounters(context)
  const database = createMemoryDatabase(context)

  return {
    ...sessions.port,
    ...counters.port,
    ...database.port,

    ping() {
      return context.run('ping', () => undefined)
    },

    close() {
      closed = true
      sessions.clear()
      counters.clear()
      database.clear()
      return Promise.resolve()
    },
  }
}
