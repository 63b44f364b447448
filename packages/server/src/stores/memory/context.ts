/** What the parts of the memory store share: the closed check and one sweep schedule. */
export interface MemoryContext {
  /** Runs `body` as a store call: rejects once the store is closed, and turns a throw into one. */
  run: <T>(operation: string, body: () => T) => Promise<T>
  /** Forgets whatever expired by `now`, at most once a sweep interval. */
  sweepIfDue: (now: number) => void
}
