import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { StoreUnavailableError } from '../../packages/server/src/core/errors.js'
import { randomId } from '../../packages/server/src/core/ids.js'
import type { UserRecord } from '../../packages/server/src/core/ports.js'
import {
  openPostgresStore,
  type PostgresStore,
} from '../../packages/server/src/stores/postgres/index.js'
import { describeWith, postgresUrl } from '../helpers/services.js'
import { dropPostgresSchema } from '../helpers/storage.js'
import { TcpProxy } from '../helpers/tcp-proxy.js'

// The PostgreSQL store keeps users in memory and drops one the moment the database reports a
// change to it, whoever made the change.
await describeWith(['postgres'], 'PostgreSQL user cache', () => {
  const schema = `baton_test_${randomBytes(6).toString('hex')}`
  const target = new URL(postgresUrl)
  let proxy: TcpProxy
  let admin: pg.Client
  const stores: PostgresStore[] = []

  const open = async (): Promise<PostgresStore> => {
    const url = new URL(postgresUrl)
    url.port = String(proxy.port)
    url.searchParams.set('schema', schema)
    const store = await openPostgresStore({ url: url.toString() })
    stores.push(store)
    // The change feed connects in the background; the cache serves once it listens.
    await new Promise((resolve) => setTimeout(resolve, 300))
    return store
  }

  const newUser = async (store: PostgresStore): Promise<UserRecord> => {
    const id = randomId()
    const user = {
      id,
      email: `${id}@example.test`,
      passwordHash: 'hash',
      roles: ['user'],
      createdAt: Date.now(),
      disabledAt: null,
      emailVerifiedAt: null,
      passwordChangedAt: null,
      passwordChangedIn: null,
    }
    expect(await store.createUser(user)).toBe(true)
    return user
  }

  const eventually = async (check: () => Promise<boolean>, withinMs: number): Promise<number> => {
    const started = Date.now()
    while (Date.now() - started < withinMs) {
      if (await check()) return Date.now() - started
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    throw new Error(`not within ${withinMs} ms`)
  }

  beforeAll(async () => {
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) })
    admin = new pg.Client({ connectionString: postgresUrl })
    await admin.connect()
  })

  afterEach(() => proxy.restore())

  afterAll(async () => {
    for (const store of stores) await store.close()
    await admin?.end()
    await proxy?.close()
    await dropPostgresSchema(schema)
  })

  it("drops a user as soon as anyone's SQL changes or deletes it", async () => {
    const store = await open()
    const user = await newUser(store)
    expect((await store.findUserById(user.id))?.roles).toEqual(['user'])
    await admin.query(`UPDATE "${schema}".users SET roles = $2 WHERE id = $1`, [
      user.id,
      ['user', 'admin'],
    ])
    const seenAfter = await eventually(
      async () => (await store.findUserById(user.id))?.roles.includes('admin') === true,
      1000,
    )
    expect(seenAfter).toBeLessThan(200)
    await admin.query(`DELETE FROM "${schema}".users WHERE id = $1`, [user.id])
    await eventually(async () => (await store.findUserById(user.id)) === null, 200)
  })

  it('sees its own updateUser and deleteUser at once, and another instance’s within moments', async () => {
    const [store, other] = [await open(), await open()]
    const user = await newUser(store)
    expect(await store.findUserById(user.id)).toEqual(user)
    expect(await other.findUserById(user.id)).toEqual(user)
    const now = Date.now()
    // Its own change: no waiting for the trigger's notice.
    expect(await store.updateUser(user.id, { disabledAt: now })).toBe(true)
    expect(await store.findUserById(user.id)).toEqual({ ...user, disabledAt: now })
    // Another instance's cache hears of it from the trigger.
    await eventually(async () => (await other.findUserById(user.id))?.disabledAt === now, 500)
    expect(await other.updateUser(user.id, { roles: ['auditor'], emailVerifiedAt: now })).toBe(true)
    expect((await other.findUserById(user.id))?.roles).toEqual(['auditor'])
    await eventually(async () => (await store.findUserById(user.id))?.emailVerifiedAt === now, 500)
    expect(await store.deleteUser(user.id)).toBe(true)
    expect(await store.findUserById(user.id)).toBeNull()
    await eventually(async () => (await other.findUserById(user.id)) === null, 500)
  })

  it('forgets every user on TRUNCATE', async () => {
    const store = await open()
    const user = await newUser(store)
    expect(await store.findUserById(user.id)).not.toBeNull()
    await admin.query(`TRUNCATE "${schema}".users`)
    await eventually(async () => (await store.findUserById(user.id)) === null, 200)
  })

  it('serves from memory, but steps aside within a second when the database goes silent', async () => {
    const store = await open()
    const cached = await newUser(store)
    const uncached = await newUser(store)
    expect(await store.findUserById(cached.id)).toEqual(cached)
    proxy.freeze()
    // No round trip: the database cannot answer, yet the cached user comes back at once.
    expect(await store.findUserById(cached.id)).toEqual(cached)
    await expect(store.findUserById(uncached.id)).rejects.toBeInstanceOf(StoreUnavailableError)
    // By now (the failed read took its whole budget) the heartbeat is overdue.
    await expect(store.findUserById(cached.id)).rejects.toBeInstanceOf(StoreUnavailableError)
    proxy.restore()
    await eventually(async () => {
      try {
        return (await store.findUserById(cached.id))?.id === cached.id
      } catch {
        return false
      }
    }, 5000)
  })

  it('empties when its change feed is cut, and fills again once it is back', async () => {
    const store = await open()
    const user = await newUser(store)
    expect(await store.findUserById(user.id)).toEqual(user)
    proxy.cut()
    // The feed's connection learns of the cut as soon as its socket closes.
    await new Promise((resolve) => setTimeout(resolve, 50))
    await expect(store.findUserById(user.id)).rejects.toBeInstanceOf(StoreUnavailableError)
    // A change made while nobody listened must not be missed.
    await admin.query(`UPDATE "${schema}".users SET roles = $2 WHERE id = $1`, [
      user.id,
      ['auditor'],
    ])
    proxy.restore()
    await eventually(async () => {
      try {
        return (await store.findUserById(user.id))?.roles[0] === 'auditor'
      } catch {
        return false
      }
    }, 5000)
  })
})
