import type { CounterState, SessionStore } from '../../core/ports.js'
import type { MemoryContext } from './context.js'

export type MemoryCounterPort = Pick<SessionStore, 'hit' | 'peek' | 'resetCounter'>

export interface MemoryCounters {
  port: MemoryCounterPort
  sweep(now: number): void
  clear(): void
}

const noCounter: CounterState = { count: 0, resetAt: 0 }

/** Fixed-window counters (rate limits, lockouts), in memory. */
export function createMemoryCounters({ run, sweepIfDue }: MemoryContext): MemoryCounters {
  const counters = new Map<string, CounterState>()

  function liveCounter(key: string, now: number): CounterState | undefined {
    const state = counters.get(key)
    if (state === undefined) return undefined
    if (now >= state.resetAt) {
      counters.delete(key)
      return undefined
    }
    return state
  }

  const port: MemoryCounterPort = {
    hit(key, windowMs, now) {
      return run('hit', () => {
        sweepIfDue(now)
        const state = liveCounter(key, now)
        const next =
          state === undefined
            ? { count: 1, resetAt: now + windowMs }
            : { count: state.count + 1, resetAt: state.resetAt }
        counters.set(key, next)
        return { ...next }
      })
    },

    peek(key, now) {
      return run('peek', () => {
        sweepIfDue(now)
        return { ...(liveCounter(key, now) ?? noCounter) }
      })
    },

    resetCounter(key) {
      return run('resetCounter', () => {
        counters.delete(key)
      })
    },
  }

  return {
    port,
    sweep(now) {
      for (const [key, state] of counters) {
        if (now >= state.resetAt) counters.delete(key)
      }
    },
    clear() {
      counters.clear()
    },
  }
}
