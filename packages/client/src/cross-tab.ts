import type { User } from './types.js'

/** What one tab tells the others of its origin about the session they share. */
export type TabMessage =
  | {
      type: 'token'
      token: string
      /** Server time, ms. */
      expiresAt: number
      lifetime: number
      sessionId: string
      user: User | null
    }
  | { type: 'ended'; code: string; sessionId: string | null }

export interface Tabs {
  /**
   * Runs `work` while holding a lock all tabs of the origin share, so one of them refreshes and
   * the others receive its result. `contended` is true when another tab held the lock first:
   * its answer may have arrived meanwhile. A lock that does not come within the timeout is not
   * waited for: the work runs anyway, and the server's same-successor grace covers the race.
   */
  exclusive<T>(work: (contended: boolean) => Promise<T>): Promise<T>
  post(message: TabMessage): void
  close(): void
}

/**
 * The little of the Web Locks API used here, typed locally: the client is built and linted
 * without the DOM's types, for runtimes that have none of it (React Native).
 */
interface Locks {
  request<T>(
    name: string,
    options: { ifAvailable?: boolean; signal?: AbortSignal },
    callback: (lock: object | null) => T | Promise<T>,
  ): Promise<T>
}

interface Channel {
  onmessage: ((event: { data: TabMessage }) => void) | null
  postMessage(message: TabMessage): void
  close(): void
}

const platform = globalThis as unknown as {
  BroadcastChannel?: new (name: string) => Channel
  navigator?: { locks?: Locks }
}

/** `null` where there is no `BroadcastChannel` (React Native, old browsers): one tab, no peers. */
export function openTabs(
  name: string,
  lockTimeout: number,
  receive: (message: TabMessage) => void,
): Tabs | null {
  if (typeof platform.BroadcastChannel !== 'function') return null
  const channel = new platform.BroadcastChannel(name)
  channel.onmessage = (event) => receive(event.data)
  const locks = platform.navigator?.locks
  return {
    post: (message) => channel.postMessage(message),
    close: () => channel.close(),
    async exclusive(work) {
      if (locks === undefined) return work(false)
      const free = await locks.request(name, { ifAvailable: true }, (lock) =>
        lock === null ? null : work(false).then((value) => ({ value })),
      )
      if (free !== null) return free.value
      const controller = new AbortController()
      const timer = setTimeout(() => controller.abort(), lockTimeout)
      let granted = false
      try {
        return await locks.request(name, { signal: controller.signal }, () => {
          granted = true
          clearTimeout(timer)
          return work(true)
        })
      } catch (error) {
        if (granted) throw error
        return work(false)
      } finally {
        clearTimeout(timer)
      }
    },
  }
}
