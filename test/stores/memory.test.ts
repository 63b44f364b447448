import { describe, expect, it } from 'vitest'
import { StoreUnavailableError } from '../../packages/server/src/core/errors.js'
import { randomId } from '../../packages/server/src/core/ids.js'
import { createMemoryStore } from '../../packages/server/src/stores/memory/index.js'
import { describeDatabaseStoreContract } from '../contract/database-store.contract.js'
import { describeSessionStoreContract } from '../contract/session-store.contract.js'

describeSessionStoreContract('memory', () => {
  const store = createMemoryStore()
  return Promise.resolve({ store, cleanup: () => store.close() })
})

describeDatabaseStoreContract('memory', () => {
  const store = createMemoryStore()
  return Promise.resolve({ store, cleanup: () => store.close() })
})

describe('memory store', () => {
  it('serves sessions and the database from one object', async () => {
    const store = createMemoryStore()
    const now = Date.now()
    const userId = randomId()
    await store.createUser({
      id: userId,
      email: `${userId}@example.test`,
      passwordHash: 'hash',
      roles: [],
      createdAt: now,
      disabledAt: null,
      emailVerifiedAt: null,
      passwordChangedAt: null,
      passwordChangedIn: null,
    })
    await store.hit('key', 1000, now)
    expect(await store.findUserById(userId)).not.toBeNull()
    expect(await store.peek('key', now)).toEqual({ count: 1, resetAt: now + 1000 })
    await store.close()
  })

  it('rejects every primitive with StoreUnavailableError once closed', async () => {
    const store = createMemoryStore()
    await store.close()
    await store.close()
    const now = Date.now()
    for (const attempt of [
      store.ping(),
      store.get({ userId: randomId(), sessionId: randomId() }, now),
      store.hit('key', 1000, now),
      store.findUserById(randomId()),
      store.listEvents({ limit: 1 }),
    ]) {
      await expect(attempt).rejects.toBeInstanceOf(StoreUnavailableError)
      await expect(attempt).rejects.toMatchObject({ code: 'store_unavailable' })
    }
  })
})
