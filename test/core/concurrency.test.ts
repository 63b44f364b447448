import { describe, expect, it } from 'vitest'
import { createLimiter } from '../../packages/server/src/core/concurrency.js'
import {
  argon2Parameters,
  createArgon2Hasher,
} from '../../packages/server/src/passwords/argon2-hasher.js'

describe('createLimiter', () => {
  it('runs at most the limit at once and the rest in order', async () => {
    const limit = createLimiter(2)
    let running = 0
    let peak = 0
    const order: number[] = []
    const task = (id: number) =>
      limit(async () => {
        running++
        peak = Math.max(peak, running)
        await new Promise((resolve) => setTimeout(resolve, 5))
        order.push(id)
        running--
        return id
      })
    const results = await Promise.all([1, 2, 3, 4, 5, 6].map(task))
    expect(results).toEqual([1, 2, 3, 4, 5, 6])
    expect(peak).toBe(2)
    expect(order).toEqual([1, 2, 3, 4, 5, 6])
  })

  it('frees the slot when a task fails', async () => {
    const limit = createLimiter(1)
    await expect(limit(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
    await expect(limit(() => Promise.resolve('next'))).resolves.toBe('next')
  })
})

describe('argon2id hasher', () => {
  it('uses OWASP parameters and verifies', async () => {
    expect(argon2Parameters).toMatchObject({ memoryCost: 19_456, timeCost: 2, parallelism: 1 })
    const hasher = createArgon2Hasher()
    const hash = await hasher.hash('a long passphrase')
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
    expect(await hasher.verify(hash, 'a long passphrase')).toBe(true)
    expect(await hasher.verify(hash, 'a wrong passphrase')).toBe(false)
    expect(await hasher.verify('not a hash', 'x')).toBe(false)
  })

  it('keeps at most two hashes in flight while the event loop stays free', async () => {
    const hasher = createArgon2Hasher({ concurrency: 2 })
    let ticks = 0
    const timer = setInterval(() => ticks++, 1)
    const started = Date.now()
    await Promise.all(Array.from({ length: 6 }, (_, i) => hasher.hash(`password number ${i}`)))
    clearInterval(timer)
    // Hashing ran off the event loop: the 1 ms timer kept firing throughout.
    expect(ticks).toBeGreaterThan((Date.now() - started) / 10)
  })
})
