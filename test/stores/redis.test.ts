import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { connect } from 'node:net'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { ConfigError, StoreUnavailableError } from '../../packages/server/src/core/errors.js'
import { randomId } from '../../packages/server/src/core/ids.js'
import type {
  SessionRecord,
  SessionRotation,
  SessionStore,
} from '../../packages/server/src/core/ports.js'
import { openRedisSessionStore } from '../../packages/server/src/stores/redis/index.js'
import type { RedisSessionStore } from '../../packages/server/src/stores/redis/index.js'
import {
  decodeSessionRecord,
  encodeSessionRecord,
} from '../../packages/server/src/stores/redis/record-codec.js'
import { parseRedisUrl } from '../../packages/verify/src/redis/redis-url.js'
import { describeSessionStoreContract } from '../contract/session-store.contract.js'
import {
  DAY,
  HOUR,
  MINUTE,
  SECOND,
  session as baseSession,
  rotation as baseRotation,
  refOf,
} from '../helpers/session-fixtures.js'
import { describeWith, redisUrl } from '../helpers/services.js'
import { freePort } from '../helpers/ports.js'
import { TcpProxy } from '../helpers/tcp-proxy.js'

const CHROME =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'

// A real browser's user agent, so records go through the user-agent compression.
const session = (now: number, overrides: Partial<SessionRecord> = {}): SessionRecord =>
  baseSession(now, { userAgent: CHROME, scope: '', clientId: null, ...overrides })
const rotation = (now: number, overrides: Partial<SessionRotation> = {}): SessionRotation =>
  baseRotation(now, { userAgent: CHROME, ...overrides })

/** Every primitive once, on fresh ids: for outages, where each must fail alike. */
function everyPrimitive(store: SessionStore, now: number): [string, () => Promise<unknown>][] {
  const record = session(now)
  const ref = refOf(record)
  const revocation = { reason: 'logout', revokedAt: now, denyUntil: now + MINUTE }
  return [
    ['create', () => store.create(record)],
    ['get', () => store.get(ref, now)],
    ['rotate', () => store.rotate(ref, record.currentJti, rotation(now))],
    ['revoke', () => store.revoke(ref, revocation)],
    ['revokeAllForUser', () => store.revokeAllForUser(record.userId, revocation)],
    ['listForUser', () => store.listForUser(record.userId, now)],
    ['isDenied', () => store.isDenied(ref, now)],
    ['hit', () => store.hit(`login:${randomId()}`, MINUTE, now)],
    ['peek', () => store.peek(`login:${randomId()}`, now)],
    ['resetCounter', () => store.resetCounter(`login:${randomId()}`)],
    [
      'putOneTimeToken',
      () =>
        store.putOneTimeToken({
          userId: record.userId,
          kind: 'password_reset',
          tokenHash: 'sha256:x',
          email: 'a@example.test',
          createdAt: now,
          expiresAt: now + MINUTE,
        }),
    ],
    [
      'takeOneTimeToken',
      () => store.takeOneTimeToken(record.userId, 'password_reset', 'sha256:x', now),
    ],
    ['dropOneTimeToken', () => store.dropOneTimeToken(record.userId, 'email_verification')],
    ['ping', () => store.ping()],
  ]
}

/** Settles within 2 s as StoreUnavailableError, and nothing else. */
async function expectUnavailable(name: string, attempt: () => Promise<unknown>): Promise<void> {
  const started = Date.now()
  const outcome = await attempt().then(
    () => 'resolved',
    (error: unknown) => error,
  )
  expect(outcome, name).toBeInstanceOf(StoreUnavailableError)
  expect(Date.now() - started, name).toBeLessThan(2000)
}

async function eventually(check: () => Promise<unknown>, timeoutMs = 5000): Promise<void> {
  const started = Date.now()
  for (;;) {
    try {
      await check()
      return
    } catch (error) {
      if (Date.now() - started > timeoutMs) throw error
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
}

/** A redis-server child of this file's own, which a test may stop and start again. */
interface OwnRedis {
  url: string
  stop(): Promise<void>
  start(): Promise<void>
}

async function ownRedis(extraArgs: string[] = []): Promise<OwnRedis> {
  const port = await freePort()
  let child: ChildProcess | undefined
  const stop = async (): Promise<void> => {
    const running = child
    child = undefined
    if (running?.pid === undefined || running.exitCode !== null) return
    const exited = new Promise((resolve) => running.once('exit', resolve))
    process.kill(running.pid, 'SIGTERM')
    await exited
  }
  const start = async (): Promise<void> => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']
    child = spawn('redis-server', [...args, ...extraArgs], { stdio: 'ignore' })
    child.once('error', () => undefined) // a missing binary shows as the wait below failing
    // Listening is enough: a password-protected server would refuse a PING.
    await eventually(
      () =>
        new Promise<void>((resolve, reject) => {
          const socket = connect({ host: '127.0.0.1', port }, () => {
            socket.destroy()
            resolve()
          })
          socket.once('error', reject)
        }),
    )
  }
  try {
    await start()
  } catch (error) {
    await stop()
    throw error
  }
  return { url: `redis://127.0.0.1:${port}`, stop, start }
}

async function configErrorOf(attempt: Promise<unknown>): Promise<ConfigError> {
  const error = await attempt.then(
    () => null,
    (caught: unknown) => caught,
  )
  expect(error).toBeInstanceOf(ConfigError)
  return error as ConfigError
}

describe('Redis store URL', () => {
  it('reads host, port, database, credentials, TLS and prefix', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6380/2?prefix=app%3A', 'V')).toEqual({
      cluster: false,
      nodes: [{ host: '127.0.0.1', port: 6380 }],
      tls: false,
      username: undefined,
      password: undefined,
      db: 2,
      keyPrefix: 'app:',
    })
    expect(parseRedisUrl('rediss://alice:p%40ss%2Fw0rd@redis.example.com', 'V')).toMatchObject({
      nodes: [{ host: 'redis.example.com', port: 6379 }],
      tls: true,
      username: 'alice',
      password: 'p@ss/w0rd',
      db: 0,
    })
    // An unencoded @ in a password: the last @ ends the user info.
    expect(parseRedisUrl('REDIS://:se@cret@[::1]:7000/', 'V')).toMatchObject({
      nodes: [{ host: '::1', port: 7000 }],
      username: undefined,
      password: 'se@cret',
    })
  })

  it('reads the seed nodes of a cluster', () => {
    expect(
      parseRedisUrl('redis-cluster://:pw@10.0.0.1:7000,10.0.0.2:7001,node-3?prefix=x:', 'V'),
    ).toEqual({
      cluster: true,
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
        { host: 'node-3', port: 6379 },
      ],
      tls: false,
      username: undefined,
      password: 'pw',
      db: 0,
      keyPrefix: 'x:',
    })
  })

  it.each([
    ['another scheme', 'http://:hunter2XY@127.0.0.1:6379'],
    ['no host', 'redis://:hunter2XY@'],
    ['a port that is not a number', 'redis://:hunter2XY@127.0.0.1:63x9'],
    ['a port out of range', 'redis://:hunter2XY@127.0.0.1:70000'],
    ['a host that is not one', 'redis://:hunter2XY@bad_host!:6379'],
    ['several hosts without cluster', 'redis://:hunter2XY@a:1,b:2'],
    ['a database on a cluster', 'redis-cluster://:hunter2XY@a:1,b:2/1'],
    ['a database that is not a number', 'redis://:hunter2XY@a:1/zero'],
    ['an unknown parameter', 'redis://:hunter2XY@a:1?password=hunter2XY'],
    ['a malformed escape', 'redis://:hunter2XY%zz@a:1'],
    ['an unencoded slash in the password', 'redis://user:hun/ter2XY@a:1'],
  ])('refuses %s, naming the variable and never the password', (_, url) => {
    let error: unknown
    try {
      parseRedisUrl(url, 'BATON_SESSION_STORE_URL')
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).variable).toBe('BATON_SESSION_STORE_URL')
    expect((error as ConfigError).message).toMatch(/^BATON_SESSION_STORE_URL: malformed Redis URL/)
    expect((error as ConfigError).message).not.toMatch(/hun|ter2/)
  })

  it('fails to open on a malformed URL or prefix before connecting anywhere', async () => {
    const malformed = await configErrorOf(
      openRedisSessionStore({ url: 'redis://:hunter2XY@a:x', variable: 'SESSIONS' }),
    )
    expect(malformed.variable).toBe('SESSIONS')
    expect(malformed.message).not.toContain('hunter2XY')
    const braces = await configErrorOf(
      openRedisSessionStore({ url: 'redis://127.0.0.1:1?prefix=app{1}:' }),
    )
    expect(braces.message).toContain('BATON_SESSION_STORE_URL: the Redis key prefix')
  })
})

describe('Redis session record', () => {
  it('round-trips every field, whatever its form', () => {
    const now = Date.now()
    for (const record of [
      session(now),
      session(now, {
        createdAt: -5 * DAY,
        lastUsedAt: 0,
        expiresAt: 2 ** 50,
        ip: '2001:db8::1',
        userAgent: 'ünïcødé agent ✓ '.repeat(40),
        scope: 'openid profile email',
        clientId: 'mobile-app',
        currentJti: 'AAAAAAAAAAAAAAAAAAAAAB', // 22 base64url characters that are no 16 bytes
        previousJti: '',
        rotatedAt: now - MINUTE,
        revokedAt: now,
        revokedReason: 'refresh_token_reused',
      }),
      session(now, { ip: '010.0.0.1', userAgent: 'x', currentJti: 'not-an-id' }),
      session(now, { ip: null, userAgent: null, previousJti: randomId() }),
      session(now, { ip: '255.255.255.255', userAgent: '' }),
    ]) {
      expect(decodeSessionRecord(refOf(record), encodeSessionRecord(record))).toEqual(record)
    }
  })

  it('keeps a typical session within an 80-byte allocation, 96 once rotated', () => {
    // Redis (jemalloc) allocates a string value of n bytes n + 4 bytes, rounded up to 80, 96, …
    const now = Date.now()
    const created = session(now, { ip: '203.0.113.254' })
    expect(encodeSessionRecord(created).length).toBeLessThanOrEqual(76)
    const rotated = {
      ...created,
      lastUsedAt: now + 20 * DAY,
      rotatedAt: now + 20 * DAY,
      previousJti: created.currentJti,
      currentJti: randomId(),
      purgeAt: now + 34 * DAY,
    }
    expect(encodeSessionRecord(rotated).length).toBeLessThanOrEqual(92)
  })
})

await describeWith(['redis'], 'Redis session store', () => {
  const prefix = `baton-test-${randomBytes(6).toString('hex')}:`
  let raw: Redis | undefined
  const inspect = (): Redis => {
    if (raw === undefined) throw new Error('no inspection client')
    return raw
  }
  const open: RedisSessionStore[] = []
  const openStore = async (url = redisUrl): Promise<RedisSessionStore> => {
    const store = await openRedisSessionStore({ url, keyPrefix: prefix })
    open.push(store)
    return store
  }
  const keysMatching = async (pattern: string): Promise<string[]> => {
    const keys: string[] = []
    let cursor = '0'
    do {
      const [next, batch] = await inspect().scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
      cursor = next
      keys.push(...batch)
    } while (cursor !== '0')
    return keys
  }

  beforeAll(async () => {
    raw = new Redis(redisUrl, { lazyConnect: true })
    await raw.connect()
  })

  afterAll(async () => {
    for (const store of open) await store.close()
    if (raw === undefined) return
    const keys = await keysMatching(`${prefix}*`)
    if (keys.length > 0) await raw.unlink(...keys)
    raw.disconnect()
  })

  describeSessionStoreContract('redis', async () => {
    const store = await openRedisSessionStore({ url: redisUrl, keyPrefix: prefix })
    return { store, cleanup: () => store.close() }
  })

  describe('on a single server', () => {
    it('gives each key a TTL of its contents’ remaining life, by the caller’s clock', async () => {
      const store = await openStore()
      // A clock far from Redis's, as a core test's fake clock may be.
      for (const now of [Date.now(), Date.now() - 400 * DAY, Date.now() + 40 * DAY]) {
        const userId = randomId()
        const first = session(now, { userId })
        const second = session(now, { userId, purgeAt: now + 3 * DAY })
        await store.create(first)
        await store.create(second)
        const next = rotation(now + MINUTE, { purgeAt: now + 20 * DAY })
        expect(await store.rotate(refOf(second), second.currentJti, next)).not.toBeNull()
        await store.revoke(refOf(first), {
          reason: 'logout',
          revokedAt: now,
          denyUntil: now + 15 * MINUTE,
        })
        const counter = `login:${userId}`
        await store.hit(counter, 10 * MINUTE, now)

        const stem = `${prefix}{${userId}}:`
        const expected = new Map([
          [`${stem}session:${first.id}`, first.purgeAt - now],
          [`${stem}session:${second.id}`, next.purgeAt - next.rotatedAt],
          [`${stem}sessions`, next.purgeAt - next.rotatedAt],
          [`${stem}denied:${first.id}`, 15 * MINUTE],
          [`${prefix}counter:${counter}`, 10 * MINUTE],
        ])
        expect(new Set(await keysMatching(`${stem}*`))).toEqual(
          new Set([...expected.keys()].filter((key) => key.startsWith(stem))),
        )
        for (const [key, remaining] of expected) {
          const ttl = await inspect().pttl(key)
          expect(ttl, key).toBeLessThanOrEqual(remaining)
          expect(ttl, key).toBeGreaterThan(remaining - 5 * SECOND)
        }
        expect(await store.get(refOf(first), now)).not.toBeNull()
        expect(await store.isDenied(refOf(first), now)).toBe(true)
      }
    })

    it('keeps a one-time token in its user’s slot until it expires, by the caller’s clock', async () => {
      const store = await openStore()
      for (const now of [Date.now(), Date.now() - 400 * DAY, Date.now() + 40 * DAY]) {
        const userId = randomId()
        const token = {
          userId,
          kind: 'email_verification' as const,
          tokenHash: `sha256:${randomId()}`,
          email: `${userId.toLowerCase()}@example.test`,
          createdAt: now,
          expiresAt: now + 2 * DAY,
        }
        await store.putOneTimeToken(token)
        const key = `${prefix}{${userId}}:onetime:email_verification`
        expect(await keysMatching(`${prefix}{${userId}}:*`)).toEqual([key])
        const ttl = await inspect().pttl(key)
        expect(ttl).toBeLessThanOrEqual(2 * DAY)
        expect(ttl).toBeGreaterThan(2 * DAY - 5 * SECOND)
        // A new token restarts the clock.
        await store.putOneTimeToken({ ...token, createdAt: now + DAY, tokenHash: 'sha256:new' })
        expect(await inspect().pttl(key)).toBeLessThanOrEqual(DAY)
        expect(await store.takeOneTimeToken(userId, token.kind, token.tokenHash, now)).toBeNull()
        expect(await store.takeOneTimeToken(userId, token.kind, 'sha256:new', now)).not.toBeNull()
        expect(await inspect().exists(key)).toBe(0)
      }
    })

    it('lets exactly one of 20 takes of a one-time token over two connections win', async () => {
      const [a, b] = [await openStore(), await openStore()]
      const now = Date.now()
      const token = {
        userId: randomId(),
        kind: 'password_reset' as const,
        tokenHash: `sha256:${randomId()}`,
        email: 'race@example.test',
        createdAt: now,
        expiresAt: now + HOUR,
      }
      await a.putOneTimeToken(token)
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, index) =>
          (index % 2 === 0 ? a : b).takeOneTimeToken(
            token.userId,
            token.kind,
            token.tokenHash,
            now,
          ),
        ),
      )
      expect(results.filter((result) => result !== null)).toEqual([token])
    })

    it('ends the index with its longest-lived session, and drops purged ones from it', async () => {
      const store = await openStore()
      const now = Date.now()
      const userId = randomId()
      const short = session(now, { userId, purgeAt: now + HOUR, expiresAt: now + HOUR })
      const long = session(now, { userId, purgeAt: now + 2 * DAY })
      await store.create(long)
      await store.create(short)
      const index = `${prefix}{${userId}}:sessions`
      expect(await inspect().pttl(index)).toBeGreaterThan(2 * DAY - 5 * SECOND)
      expect(await inspect().zcard(index)).toBe(2)
      expect((await store.listForUser(userId, now + HOUR)).map(({ id }) => id)).toEqual([long.id])
      expect(await inspect().zrange(index, '0', '-1')).toEqual([long.id])
    })

    it('keeps all of a user’s keys under one hash tag, so in one cluster slot', async () => {
      const store = await openStore()
      const now = Date.now()
      const userId = randomId()
      const records = [session(now, { userId }), session(now, { userId })]
      for (const record of records) await store.create(record)
      await store.revokeAllForUser(userId, { reason: 'x', revokedAt: now, denyUntil: now + MINUTE })
      const keys = await keysMatching(`${prefix}{${userId}}:*`)
      expect(keys).toHaveLength(5) // two sessions, their index, two deny-list entries
      for (const key of keys) {
        // Redis Cluster hashes only what lies between the first { and the next }.
        const tagStart = key.indexOf('{')
        expect(key.slice(tagStart + 1, key.indexOf('}', tagStart))).toBe(userId)
      }
    })

    it('lets exactly one of 20 rotations over two connections win', async () => {
      const [a, b] = [await openStore(), await openStore()]
      const now = Date.now()
      const record = session(now)
      await a.create(record)
      const attempts = Array.from({ length: 20 }, () => rotation(now + MINUTE))
      const results = await Promise.all(
        attempts.map((next, index) =>
          (index % 2 === 0 ? a : b).rotate(refOf(record), record.currentJti, next),
        ),
      )
      const winners = results.filter((result) => result !== null)
      expect(winners).toHaveLength(1)
      expect((await b.get(refOf(record), now + MINUTE))?.currentJti).toBe(winners[0]?.currentJti)
    })

    it('rotates 100 sessions of one turn together; an unreadable record fails its own alone', async () => {
      const store = await openStore()
      const now = Date.now()
      // Several script calls' worth (16 each), and one record Redis holds but cannot be read.
      const records = Array.from({ length: 100 }, () => session(now))
      for (const record of records) await store.create(record)
      const broken = records[37]!
      const brokenKey = `${prefix}{${broken.userId}}:session:${broken.id}`
      await inspect().set(brokenKey, 'not a session record', 'KEEPTTL')
      const nexts = records.map(() => rotation(now + MINUTE))
      const results = await Promise.allSettled(
        records.map((record, index) =>
          store.rotate(refOf(record), record.currentJti, nexts[index]!),
        ),
      )
      results.forEach((result, index) => {
        if (index === 37) {
          expect(result.status).toBe('rejected')
          expect((result as PromiseRejectedResult).reason).toBeInstanceOf(StoreUnavailableError)
        } else {
          expect(result.status === 'fulfilled' && result.value?.currentJti).toBe(nexts[index]!.jti)
        }
      })
      expect(await inspect().get(brokenKey)).toBe('not a session record')
      for (const [index, record] of records.entries()) {
        if (index === 37) continue
        expect((await store.get(refOf(record), now + MINUTE))?.currentJti).toBe(nexts[index]!.jti)
      }
    })

    it('fails a rotation it cannot encode alone, and rotates the others of its turn', async () => {
      const store = await openStore()
      const now = Date.now()
      const [kept, refused] = [session(now), session(now)]
      for (const record of [kept, refused]) await store.create(record)
      const next = rotation(now + MINUTE)
      const [rotated, failed] = await Promise.allSettled([
        store.rotate(refOf(kept), kept.currentJti, next),
        // Past the 64 KiB a field may take in a rotation request, even deflated (HTTP caps user
        // agents far lower).
        store.rotate(refOf(refused), refused.currentJti, {
          ...next,
          userAgent: randomBytes(80_000).toString('base64'),
        }),
      ])
      expect(rotated.status === 'fulfilled' && rotated.value?.currentJti).toBe(next.jti)
      expect(failed.status).toBe('rejected')
      expect((failed as PromiseRejectedResult).reason).toBeInstanceOf(StoreUnavailableError)
      expect(await store.get(refOf(refused), now + MINUTE)).toEqual(refused)
    })

    it('refuses a rotation that reaches Redis after its caller gave up, changing nothing', async () => {
      const store = await openStore()
      const now = Date.now()
      const record = session(now)
      await store.create(record)
      // As if sent a minute ago and held since in a frozen connection or an offline queue.
      const sentAt = vi.spyOn(Date, 'now').mockReturnValue(now - 60_000)
      try {
        await expect(
          store.rotate(refOf(record), record.currentJti, rotation(now + MINUTE)),
        ).rejects.toBeInstanceOf(StoreUnavailableError)
      } finally {
        sentAt.mockRestore()
      }
      expect(await store.get(refOf(record), now + MINUTE)).toEqual(record)
      expect(
        await store.rotate(refOf(record), record.currentJti, rotation(now + MINUTE)),
      ).not.toBeNull()
    })

    it('closes idempotently, and then rejects every call with StoreUnavailableError', async () => {
      const store = await openRedisSessionStore({ url: redisUrl, keyPrefix: prefix })
      await store.close()
      await store.close()
      for (const [name, attempt] of everyPrimitive(store, Date.now())) {
        await expectUnavailable(name, attempt)
      }
    })

    it('refuses to open when Redis does not answer, without the password', async () => {
      const port = await freePort()
      const started = Date.now()
      const error = await configErrorOf(
        openRedisSessionStore({ url: `redis://:hunter2XY@127.0.0.1:${port}`, connectTimeout: 800 }),
      )
      expect(Date.now() - started).toBeLessThan(3000)
      expect(error.variable).toBe('BATON_SESSION_STORE_URL')
      expect(error.message).toContain(`cannot connect to Redis at 127.0.0.1:${port}`)
      expect(error.message).not.toContain('hunter2XY')
    })

    it('leaves no key without a TTL', async () => {
      const keys = await keysMatching(`${prefix}*`)
      expect(keys.length).toBeGreaterThan(50)
      const ttls = await Promise.all(keys.map((key) => inspect().pttl(key)))
      expect(keys.filter((_, index) => (ttls[index] ?? -1) < 0)).toEqual([])
    })
  })

  describe('through a relay that fails', () => {
    let proxy: TcpProxy | undefined
    let store: RedisSessionStore | undefined
    const relay = (): TcpProxy => {
      if (proxy === undefined) throw new Error('no relay')
      return proxy
    }
    const proxied = (): RedisSessionStore => {
      if (store === undefined) throw new Error('no store')
      return store
    }

    beforeAll(async () => {
      const target = new URL(redisUrl)
      proxy = await TcpProxy.start({
        host: target.hostname || '127.0.0.1',
        port: Number(target.port || 6379),
      })
      target.hostname = '127.0.0.1'
      target.port = String(proxy.port)
      store = await openStore(target.toString())
    })

    afterAll(async () => {
      await proxy?.close()
    })

    it('rejects every call within 2 s while Redis is gone, then serves again', async () => {
      // ioredis prints "[ioredis] Unhandled error event" when no one listens for errors.
      const printed = vi.spyOn(console, 'error')
      try {
        const now = Date.now()
        const before = session(now)
        await proxied().create(before)

        relay().cut()
        for (const [name, attempt] of everyPrimitive(proxied(), now)) {
          await expectUnavailable(name, attempt)
        }

        relay().restore()
        await eventually(() => proxied().ping())
        const rotated = await proxied().rotate(refOf(before), before.currentJti, rotation(now + 1))
        expect(rotated?.previousJti).toBe(before.currentJti)
        expect(printed.mock.calls.flat().join(' ')).not.toContain('ioredis')
      } finally {
        printed.mockRestore()
      }
    })

    it('rejects every call within 2 s while Redis hangs, then serves again', async () => {
      const now = Date.now()
      const before = session(now)
      await proxied().create(before)

      relay().freeze()
      await Promise.all(
        everyPrimitive(proxied(), now).map(([name, attempt]) => expectUnavailable(name, attempt)),
      )

      relay().restore()
      await eventually(() => proxied().ping())
      expect(await proxied().get(refOf(before), now)).toEqual(before)
      expect(
        await proxied().rotate(refOf(before), before.currentJti, rotation(now + 1)),
      ).not.toBeNull()
    })
  })
})

// Servers of this file's own, for what must not happen to the shared one: dying, a password.
await describeWith(['redis-binaries'], 'Redis session store on a server of its own', () => {
  const servers: OwnRedis[] = []
  const stores: RedisSessionStore[] = []

  afterAll(async () => {
    for (const store of stores) await store.close()
    for (const server of servers) await server.stop()
  })

  it('rejects every call while Redis is down, and serves again once it has restarted', async () => {
    const server = await ownRedis()
    servers.push(server)
    const store = await openRedisSessionStore({ url: server.url })
    stores.push(store)
    const now = Date.now()
    await store.create(session(now))

    await server.stop()
    for (const [name, attempt] of everyPrimitive(store, now)) await expectUnavailable(name, attempt)

    // Same port, empty server: the scripts it forgot are sent again (NOSCRIPT).
    await server.start()
    await eventually(() => store.ping())
    const record = session(now)
    await store.create(record)
    expect(await store.rotate(refOf(record), record.currentJti, rotation(now + 1))).not.toBeNull()
    expect(await store.hit('login:x', MINUTE, now)).toEqual({ count: 1, resetAt: now + MINUTE })
  })

  it('gives up at once on a wrong password, and never repeats it', async () => {
    const server = await ownRedis(['--requirepass', 'right-horse-battery'])
    servers.push(server)
    const url = new URL(server.url)
    url.password = 'wrong-horse-battery'
    const started = Date.now()
    const error = await configErrorOf(
      openRedisSessionStore({ url: url.toString(), connectTimeout: 5000 }),
    )
    expect(Date.now() - started).toBeLessThan(2000)
    expect(error.message).toContain('WRONGPASS')
    expect(error.message).not.toContain('wrong-horse')

    url.password = 'right-horse-battery'
    const store = await openRedisSessionStore({ url: url.toString() })
    stores.push(store)
    await store.ping()
  })
})
