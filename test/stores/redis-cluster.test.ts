import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomId } from '../../packages/server/src/core/ids.js'
import type { SessionRecord } from '../../packages/server/src/core/ports.js'
import { openRedisSessionStore } from '../../packages/server/src/stores/redis/index.js'
import type { RedisSessionStore } from '../../packages/server/src/stores/redis/index.js'
import { describeSessionStoreContract } from '../contract/session-store.contract.js'
import { refOf, session } from '../helpers/session-fixtures.js'
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js'
import { describeWith } from '../helpers/services.js'

// A cluster of our own (three masters on free ports), so the whole keyspace is this file's.
await describeWith(['redis-binaries'], 'Redis Cluster session store', () => {
  let cluster: RedisCluster | undefined
  const running = (): RedisCluster => {
    if (cluster === undefined) throw new Error('the cluster did not start')
    return cluster
  }

  beforeAll(async () => {
    cluster = await startRedisCluster()
  })

  // Runs even when a test or a nested hook failed; stop() also cleans up a half-started cluster.
  afterAll(async () => {
    await cluster?.stop()
  })

  describeSessionStoreContract('redis cluster', async () => {
    const store = await openRedisSessionStore({ url: running().url })
    return { store, cleanup: () => store.close() }
  })

  describe('across nodes', () => {
    let store: RedisSessionStore | undefined
    let nodes: Redis[] = []

    beforeAll(async () => {
      store = await openRedisSessionStore({ url: running().url })
      nodes = running().urls.map((url) => new Redis(url, { lazyConnect: true }))
      await Promise.all(nodes.map((node) => node.connect()))
    })

    afterAll(async () => {
      await store?.close()
      for (const node of nodes) node.disconnect()
    })

    const anyNode = (): Redis => {
      const [node] = nodes
      if (node === undefined) throw new Error('no node connections')
      return node
    }

    /** The keys of a user on each node: KEYS answers for the node asked, never with MOVED. */
    function keysByNode(userId: string): Promise<string[][]> {
      return Promise.all(nodes.map((node) => node.keys(`baton:{${userId}}:*`)))
    }

    it('spreads users over the nodes, and signs each one out everywhere at once', async () => {
      if (store === undefined) throw new Error('no store')
      const now = Date.now()
      const users = Array.from({ length: 24 }, () => randomId())
      const sessionsOf = new Map<string, SessionRecord[]>()
      for (const userId of users) {
        const records = [
          session(now, { userId }),
          session(now, { userId }),
          session(now, { userId }),
        ]
        for (const record of records) await store.create(record)
        await store.putOneTimeToken({
          userId,
          kind: 'password_reset',
          tokenHash: `sha256:${userId}`,
          email: `${userId.toLowerCase()}@example.test`,
          createdAt: now,
          expiresAt: now + 3_600_000,
        })
        sessionsOf.set(userId, records)
      }

      const homes = new Set<number>()
      for (const userId of users) {
        const byNode = await keysByNode(userId)
        const holders = byNode.flatMap((keys, index) => (keys.length > 0 ? [index] : []))
        expect(holders, `nodes holding ${userId}`).toHaveLength(1)
        const keys = byNode.flat()
        expect(keys, `keys of ${userId}`).toHaveLength(5) // three sessions, their index, a token
        const slots = await Promise.all(keys.map((key) => anyNode().cluster('KEYSLOT', key)))
        expect(new Set(slots).size, `slots of ${userId}`).toBe(1)
        homes.add(holders[0] ?? -1)
      }
      expect(homes.size).toBeGreaterThan(1)

      const revokedAt = now + 60_000
      for (const userId of users) {
        const revocation = { reason: 'logout_all', revokedAt, denyUntil: revokedAt + 900_000 }
        const records = sessionsOf.get(userId) ?? []
        const ids = await store.revokeAllForUser(userId, revocation)
        expect([...ids].sort()).toEqual(records.map((record) => record.id).sort())
        expect(await store.listForUser(userId, revokedAt)).toEqual([])
        expect(
          await store.takeOneTimeToken(userId, 'password_reset', `sha256:${userId}`, revokedAt),
        ).toMatchObject({ userId })
        expect((await keysByNode(userId)).flat(), `keys of ${userId}`).toHaveLength(7)
        for (const record of records) {
          expect(await store.isDenied(refOf(record), revokedAt)).toBe(true)
          expect((await store.get(refOf(record), revokedAt))?.revokedReason).toBe('logout_all')
        }
      }
    })
  })
})
