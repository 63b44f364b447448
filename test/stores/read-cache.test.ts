import { describe, expect, it } from 'vitest'
import { ReadCache } from '../../packages/server/src/stores/sqlite/read-cache.js'

describe('ReadCache', () => {
  it('drops its entries when data_version changes, checking at most once per interval', () => {
    let version = 1
    let checks = 0
    let now = 0
    const cache = new ReadCache({
      dataVersion: () => (checks++, version),
      recheckInterval: 10,
      now: () => now,
    })
    cache.validate()
    cache.remember(cache.denyUntil, 's1', 0)
    now = 5
    version = 2 // another connection committed
    cache.validate()
    expect(checks).toBe(1)
    expect(cache.denyUntil.get('s1')).toBe(0) // not looked at yet: within the interval
    now = 10
    cache.validate()
    expect(checks).toBe(2)
    expect(cache.denyUntil.has('s1')).toBe(false)
    cache.remember(cache.denyUntil, 's1', 5)
    now = 25
    cache.validate() // unchanged version keeps entries
    expect(cache.denyUntil.get('s1')).toBe(5)
  })

  it('stays bounded', () => {
    const cache = new ReadCache({ dataVersion: () => 1, maxEntries: 3 })
    for (const id of ['a', 'b', 'c', 'd']) cache.remember(cache.denyUntil, id, 0)
    expect(cache.denyUntil.size).toBeLessThanOrEqual(3)
    expect(cache.denyUntil.get('d')).toBe(0)
  })
})
