import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { ConfigError, StoreUnavailableError } from '../../packages/server/src/core/errors.js'
import { randomId } from '../../packages/server/src/core/ids.js'
import { openStores, type OpenStores } from '../../packages/server/src/stores/from-url.js'
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js'
import { describeWith, redisUrl } from '../helpers/services.js'
import { deleteRedisPrefix, dropPostgresSchema, postgresUrlWithSchema } from '../helpers/storage.js'

// Every BATON_DATABASE_URL × BATON_SESSION_STORE_URL combination opens, and each store does its
// job: users in the database, sessions and counters in the session store.
await describeWith(['postgres', 'redis', 'redis-binaries'], 'openStores on real servers', () => {
  const suffix = randomBytes(6).toString('hex')
  const schema = `baton_test_${suffix}`
  const sessionSchema = `baton_test_${suffix}_sessions`
  const prefix = `baton-test-${suffix}:`
  const directory = mkdtempSync(join(tmpdir(), 'baton-combinations-'))
  let cluster: RedisCluster | undefined

  const redis = (): string => {
    const url = new URL(redisUrl)
    url.searchParams.set('prefix', prefix)
    return url.toString()
  }
  const databases = (): Record<string, string> => ({
    sqlite: `sqlite:${join(directory, 'baton.db')}`,
    postgres: postgresUrlWithSchema(schema),
    memory: 'memory:',
  })
  const sessionStores = (): Record<string, string> => ({
    sqlite: `sqlite:${join(directory, 'sessions.db')}`,
    postgres: postgresUrlWithSchema(sessionSchema),
    redis: redis(),
    'redis-cluster': `${cluster?.url ?? 'redis-cluster://unstarted'}?prefix=${prefix}`,
    memory: 'memory:',
  })

  beforeAll(async () => {
    cluster = await startRedisCluster()
  })

  afterAll(async () => {
    await cluster?.stop()
    await dropPostgresSchema(schema)
    await dropPostgresSchema(sessionSchema)
    await deleteRedisPrefix(prefix)
    rmSync(directory, { recursive: true, force: true })
  })

  for (const database of ['sqlite', 'postgres', 'memory']) {
    for (const sessions of ['sqlite', 'postgres', 'redis', 'redis-cluster', 'memory']) {
      it(`database ${database}, sessions ${sessions}`, async () => {
        const stores = await openStores({
          databaseUrl: databases()[database] ?? '',
          sessionStoreUrl: sessionStores()[sessions] ?? '',
        })
        try {
          await roundTrip(stores)
          await stores.database.ping()
          await stores.sessions.ping()
        } finally {
          await stores.close()
        }
        await expect(stores.sessions.ping()).rejects.toBeInstanceOf(StoreUnavailableError)
      })
    }
  }

  it('shares one PostgreSQL store when both URLs name the same database', async () => {
    const url = postgresUrlWithSchema(schema)
    const stores = await openStores({ databaseUrl: url, sessionStoreUrl: url })
    try {
      expect(stores.sessions).toBe(stores.database)
    } finally {
      await stores.close()
    }
  })

  it('names the variable when a store cannot be reached at start, without the password', async () => {
    const closed = 'postgres://baton:s3cret@127.0.0.1:1/baton'
    const error = await openStores({ databaseUrl: closed, sessionStoreUrl: 'memory:' }).then(
      () => null,
      (caught: unknown) => caught,
    )
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).variable).toBe('BATON_DATABASE_URL')
    expect((error as ConfigError).message).not.toContain('s3cret')
    const redisError = await openStores({
      databaseUrl: 'memory:',
      sessionStoreUrl: 'redis://:s3cret@127.0.0.1:1',
    }).then(
      () => null,
      (caught: unknown) => caught,
    )
    expect(redisError).toBeInstanceOf(Error)
    expect((redisError as Error).message).toContain('BATON_SESSION_STORE_URL')
    expect((redisError as Error).message).not.toContain('s3cret')
  })
})

async function roundTrip(stores: OpenStores): Promise<void> {
  const now = Date.now()
  const userId = randomId()
  expect(
    await stores.database.createUser({
      id: userId,
      email: `${userId}@example.test`,
      passwordHash: 'hash',
      roles: ['user'],
      createdAt: now,
      disabledAt: null,
      emailVerifiedAt: null,
      passwordChangedAt: null,
      passwordChangedIn: null,
    }),
  ).toBe(true)
  expect((await stores.database.findUserById(userId))?.roles).toEqual(['user'])
  const sessionId = randomId()
  await stores.sessions.create({
    id: sessionId,
    userId,
    createdAt: now,
    lastUsedAt: now,
    expiresAt: now + 86_400_000,
    ip: null,
    userAgent: null,
    scope: '',
    clientId: null,
    currentJti: randomId(),
    currentIssuedAt: Math.floor(now / 1000),
    currentExpiresAt: Math.floor(now / 1000) + 3600,
    previousJti: null,
    rotatedAt: null,
    revokedAt: null,
    revokedReason: null,
    purgeAt: now + 3_600_000,
  })
  expect((await stores.sessions.listForUser(userId, now)).map((session) => session.id)).toEqual([
    sessionId,
  ])
  expect(await stores.sessions.hit(`login:${userId}`, 60_000, now)).toEqual({
    count: 1,
    resetAt: now + 60_000,
  })
}
