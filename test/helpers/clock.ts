import type { Clock } from '../../packages/server/src/core/clock.js'

/** A clock tests move by hand: expiry, grace and sliding are tested without sleeping. */
export class ManualClock implements Clock {
  #now: number

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start
  }

  now(): number {
    return this.#now
  }

  advance(seconds: number): void {
    this.#now += seconds * 1000
  }
}
