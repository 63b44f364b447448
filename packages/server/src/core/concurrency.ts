/**
 * Runs at most `limit` tasks at once; the rest wait their turn in order. Used for password
 * hashing: four or more argon2 hashes in flight fill libuv's thread pool and stall every other
 * crypto and file operation of the process.
 */
export function createLimiter(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0
  const waiting: (() => void)[] = []
  const release = (): void => {
    running--
    waiting.shift()?.()
  }
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve))
    running++
    try {
      return await task()
    } finally {
      release()
    }
  }
}
