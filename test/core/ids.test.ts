import { describe, expect, it } from 'vitest'
import { randomId } from '../../packages/server/src/core/ids.js'

describe('randomId', () => {
  it('gives 128-bit base64url ids, never the same twice, across many refills of its pool', () => {
    const ids = Array.from({ length: 10_000 }, () => randomId())
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(new Set(ids).size).toBe(ids.length)
    // Every bit position varies: no byte of the pool is stuck or handed out unfilled.
    const bytes = ids.map((id) => Buffer.from(id, 'base64url'))
    for (let index = 0; index < 16; index++) {
      expect(new Set(bytes.map((id) => id[index])).size).toBeGreaterThan(200)
    }
  })
})
