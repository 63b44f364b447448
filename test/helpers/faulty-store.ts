import { StoreUnavailableError } from '../../packages/server/src/core/errors.js'

/**
 * Wraps a store so a test can make it fail like a dead backend: every call (or only the named
 * methods) rejects with StoreUnavailableError while `down` is set.
 */
export class FaultSwitch {
  down = false
  only: Set<string> | null = null
  /** Fails the next call of this method only, then heals (a failure between two steps). */
  failNext: string | null = null
  /** Runs `action` as the next call of `method` starts; the call then goes ahead. */
  beforeNext: { method: string; action: () => void } | null = null

  wrap<T extends object>(store: T): T {
    return new Proxy(store, {
      get: (target, property, receiver) => {
        const value: unknown = Reflect.get(target, property, receiver)
        if (typeof value !== 'function') return value
        const name = String(property)
        return (...args: unknown[]) => {
          if (this.beforeNext?.method === name) {
            const { action } = this.beforeNext
            this.beforeNext = null
            action()
          }
          if (this.failNext === name) {
            this.failNext = null
            return Promise.reject(new StoreUnavailableError(`injected fault in ${name}`))
          }
          if (this.down && (this.only === null || this.only.has(name))) {
            return Promise.reject(new StoreUnavailableError(`injected outage in ${name}`))
          }
          return (value as (...a: unknown[]) => unknown).apply(target, args)
        }
      },
    })
  }
}
