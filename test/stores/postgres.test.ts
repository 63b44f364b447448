import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { ConfigError, StoreUnavailableError } from '../../packages/server/src/core/errors.js'
import { randomId } from '../../packages/server/src/core/ids.js'
import type { SessionRecord } from '../../packages/server/src/core/ports.js'
import { openPostgresStore } from '../../packages/server/src/stores/postgres/index.js'
import type {
  PostgresStore,
  PostgresStoreOptions,
} from '../../packages/server/src/stores/postgres/index.js'
import { migrations, migrationsTable } from '../../packages/server/src/stores/postgres/schema.js'
import { DEFAULT_SCHEMA, parsePostgresUrl } from '../../packages/server/src/stores/postgres/url.js'
import { describeDatabaseStoreContract } from '../contract/database-store.contract.js'
import { describeSessionStoreContract } from '../contract/session-store.contract.js'
import { DAY, MINUTE, refOf, rotation, session } from '../helpers/session-fixtures.js'
import { describeWith, postgresUrl } from '../helpers/services.js'
import { freePort } from '../helpers/ports.js'
import { postgresUrlWithSchema, withPostgresClient } from '../helpers/storage.js'
import { TcpProxy } from '../helpers/tcp-proxy.js'

// What docs/api.md promises for a dead or hanging store: a 503 within 2 s, never a hang.
const OUTAGE_BUDGET_MS = 2000

const schemas: string[] = []

/** A schema of this file's own, dropped when the file is done. */
function freshSchema(suffix = ''): string {
  const schema = `baton_test_${randomBytes(6).toString('hex')}${suffix}`
  schemas.push(schema)
  return schema
}

/** One call of every method of both ports; mutating ones name random records, not `kept`. */
function everyCall(store: PostgresStore, kept: SessionRecord): [string, () => Promise<unknown>][] {
  const now = Date.now()
  const stranger = { userId: randomId(), sessionId: randomId() }
  const userId = randomId()
  return [
    ['create', () => store.create(session(now))],
    ['get', () => store.get(refOf(kept), now)],
    ['rotate', () => store.rotate(stranger, randomId(), rotation(now))],
    ['revoke', () => store.revoke(stranger, { reason: 'x', revokedAt: now, denyUntil: now + 1 })],
    [
      'revokeAllForUser',
      () => store.revokeAllForUser(randomId(), { reason: 'x', revokedAt: now, denyUntil: now + 1 }),
    ],
    ['listForUser', () => store.listForUser(kept.userId, now)],
    ['isDenied', () => store.isDenied(refOf(kept), now)],
    ['hit', () => store.hit(`login:${randomId()}`, MINUTE, now)],
    ['peek', () => store.peek(`login:${randomId()}`, now)],
    ['resetCounter', () => store.resetCounter(`login:${randomId()}`)],
    [
      'createUser',
      () =>
        store.createUser({
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
    ],
    ['findUserByEmail', () => store.findUserByEmail(`${randomId()}@example.test`)],
    ['findUserById', () => store.findUserById(randomId())],
    ['listKeys', () => store.listKeys()],
    [
      'insertKey',
      () =>
        store.insertKey({
          kid: randomId(),
          alg: 'ES256',
          state: 'next',
          privateJwk: '{}',
          publicJwk: '{}',
          createdAt: now,
          activatedAt: null,
          retiredAt: null,
          removeAfter: null,
        }),
    ],
    [
      'updateKey',
      () =>
        store.updateKey(randomId(), {
          state: 'retired',
          activatedAt: now,
          retiredAt: now,
          removeAfter: now,
        }),
    ],
    ['deleteKey', () => store.deleteKey(randomId())],
    [
      'record',
      () =>
        store.record({
          type: 'outage_test',
          at: now,
          userId: null,
          sessionId: null,
          ip: null,
          userAgent: null,
          actor: null,
          detail: null,
        }),
    ],
    ['listEvents', () => store.listEvents({ limit: 1 })],
    ['purgeEvents', () => store.purgeEvents(now - 400 * 86_400_000, 1)],
    ['listUsers', () => store.listUsers({ limit: 1 })],
    ['updateUser', () => store.updateUser(randomId(), { disabledAt: now })],
    ['deleteUser', () => store.deleteUser(randomId())],
    [
      'putOneTimeToken',
      () =>
        store.putOneTimeToken({
          userId: randomId(),
          kind: 'password_reset',
          tokenHash: 'sha256:x',
          email: 'a@example.test',
          createdAt: now,
          expiresAt: now + MINUTE,
        }),
    ],
    [
      'takeOneTimeToken',
      () => store.takeOneTimeToken(randomId(), 'password_reset', 'sha256:x', now),
    ],
    ['dropOneTimeToken', () => store.dropOneTimeToken(randomId(), 'email_verification')],
    ['ping', () => store.ping()],
  ]
}

/** Starts every call at once; each must reject with StoreUnavailableError within the budget. */
async function expectEveryCallUnavailable(calls: [string, () => Promise<unknown>][]) {
  const outcomes = await Promise.all(
    calls.map(async ([name, call]) => {
      const started = performance.now()
      const error = await call().then(
        () => null,
        (caught: unknown) => caught,
      )
      return { name, error, elapsed: performance.now() - started }
    }),
  )
  for (const { name, error, elapsed } of outcomes) {
    expect(error, `${name} should reject`).toBeInstanceOf(StoreUnavailableError)
    expect((error as StoreUnavailableError).code, name).toBe('store_unavailable')
    expect(elapsed, `${name} took ${Math.round(elapsed)} ms`).toBeLessThan(OUTAGE_BUDGET_MS)
  }
}

async function openError(options: PostgresStoreOptions): Promise<ConfigError> {
  const error = await openPostgresStore(options).then(
    async (store) => {
      await store.close()
      return null
    },
    (caught: unknown) => caught,
  )
  expect(error).toBeInstanceOf(ConfigError)
  return error as ConfigError
}

await describeWith(['postgres'], 'PostgreSQL store', () => {
  const schema = freshSchema()
  const url = postgresUrlWithSchema(schema)
  const open: PostgresStore[] = []

  async function openStore(options: Partial<PostgresStoreOptions> = {}): Promise<PostgresStore> {
    const store = await openPostgresStore({ url, ...options })
    open.push(store)
    return store
  }

  afterEach(async () => {
    vi.useRealTimers()
    await Promise.allSettled(open.splice(0).map((store) => store.close()))
  })

  afterAll(async () => {
    await withPostgresClient(async (client) => {
      for (const name of schemas) {
        await client.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`)
      }
    })
  })

  describeSessionStoreContract('postgres', async () => {
    const store = await openPostgresStore({ url })
    return { store, cleanup: () => store.close() }
  })

  describeDatabaseStoreContract('postgres', async () => {
    const store = await openPostgresStore({ url })
    return { store, cleanup: () => store.close() }
  })

  describe('migrations', () => {
    it('lets several stores open one fresh schema at once; each migration runs once', async () => {
      const fresh = freshSchema()
      const stores = await Promise.all(
        Array.from({ length: 6 }, () => openStore({ url: postgresUrlWithSchema(fresh) })),
      )
      await Promise.all(stores.map((store) => store.ping()))
      const versions = await withPostgresClient(async (client) => {
        const result = await client.query<{ version: number }>(
          `SELECT version FROM "${fresh}".${migrationsTable} ORDER BY version`,
        )
        return result.rows.map((row) => row.version)
      })
      expect(versions).toEqual(migrations.map((_, index) => index + 1))

      // Opening an up-to-date schema again changes nothing.
      await openStore({ url: postgresUrlWithSchema(fresh) })
      const count = await withPostgresClient(async (client) => {
        const result = await client.query<{ count: string }>(
          `SELECT count(*) FROM "${fresh}".${migrationsTable}`,
        )
        return Number(result.rows[0]?.count)
      })
      expect(count).toBe(migrations.length)
    })

    it('refuses a schema newer than this build, naming the variable', async () => {
      const fresh = freshSchema()
      await (await openStore({ url: postgresUrlWithSchema(fresh) })).close()
      await withPostgresClient((client) =>
        client.query(`INSERT INTO "${fresh}".${migrationsTable} (version) VALUES ($1)`, [
          migrations.length + 1,
        ]),
      )
      const error = await openError({
        url: postgresUrlWithSchema(fresh),
        variable: 'BATON_SESSION_STORE_URL',
      })
      expect(error.variable).toBe('BATON_SESSION_STORE_URL')
      expect(error.message).toMatch(/^BATON_SESSION_STORE_URL: .*newer than this build/)
    })

    it('quotes the schema name: mixed case is kept as given', async () => {
      const mixed = freshSchema('_MiXed')
      const store = await openStore({ url: postgresUrlWithSchema(mixed) })
      const now = Date.now()
      const record = session(now)
      await store.create(record)
      const count = await withPostgresClient(async (client) => {
        const result = await client.query<{ count: string }>(
          `SELECT count(*) FROM "${mixed}".sessions WHERE id = $1`,
          [record.id],
        )
        return Number(result.rows[0]?.count)
      })
      expect(count).toBe(1)
    })
  })

  describe('URL and schema', () => {
    const password = 's3cret-Pa55word'
    const withPassword = `postgres://baton:${password}@127.0.0.1:5432/test`

    it('takes the schema from ?schema= and hands the driver the rest of the URL', () => {
      const target = parsePostgresUrl(
        `${withPassword}?sslmode=disable&schema=tenant_one&application_name=x`,
        { variable: 'BATON_DATABASE_URL' },
      )
      expect(target.schema).toBe('tenant_one')
      const handed = new URL(target.connectionString)
      expect(handed.searchParams.has('schema')).toBe(false)
      expect(handed.searchParams.get('sslmode')).toBe('disable')
      expect(handed.searchParams.get('application_name')).toBe('x')
      expect(handed.password).toBe(password)
    })

    it(`defaults to the '${DEFAULT_SCHEMA}' schema, or the schema option`, () => {
      const variable = 'BATON_DATABASE_URL'
      expect(parsePostgresUrl(withPassword, { variable }).schema).toBe(DEFAULT_SCHEMA)
      expect(parsePostgresUrl(withPassword, { variable, schema: 'other' }).schema).toBe('other')
      expect(
        parsePostgresUrl(`${withPassword}?schema=other`, { variable, schema: 'other' }).schema,
      ).toBe('other')
      expect(parsePostgresUrl(`postgresql://h/db?schema=x`, { variable }).schema).toBe('x')
    })

    it.each([
      ['a name with a dash', '?schema=bad-name'],
      ['an empty name', '?schema='],
      ['a leading digit', '?schema=1tenant'],
      ['a reserved pg_ name', '?schema=pg_catalog'],
      ['64 characters', `?schema=${'a'.repeat(64)}`],
      ['a quote', `?schema=${encodeURIComponent('x"; DROP SCHEMA public CASCADE; --')}`],
      ['two schemas', '?schema=one&schema=two'],
    ])('refuses %s, naming the variable and never the password', async (_, query) => {
      const error = await openError({
        url: `${withPassword}${query}`,
        variable: 'BATON_SESSION_STORE_URL',
      })
      expect(error.variable).toBe('BATON_SESSION_STORE_URL')
      expect(error.message).toMatch(/^BATON_SESSION_STORE_URL: .*schema/)
      expect(error.message).not.toContain(password)
    })

    it('refuses a schema option that disagrees with ?schema=', async () => {
      const error = await openError({ url: `${withPassword}?schema=one`, schema: 'two' })
      expect(error.message).toMatch(/^BATON_DATABASE_URL: .*disagrees/)
    })

    it.each([
      ['a bad port', `postgres://baton:${password}@127.0.0.1:notaport/test`],
      ['no scheme', `baton:${password}@127.0.0.1/test`],
      ['another scheme', `mysql://baton:${password}@127.0.0.1/test`],
      ['no URL at all', `host=127.0.0.1 password=${password}`],
    ])('refuses %s without echoing the URL', async (_, malformed) => {
      const error = await openError({ url: malformed })
      expect(error.variable).toBe('BATON_DATABASE_URL')
      expect(error.message).not.toContain(password)
      expect(error.message).not.toContain(malformed)
    })

    it('names the variable when nothing listens, without the password, at once', async () => {
      const port = await freePort()
      const started = performance.now()
      const error = await openError({
        url: `postgres://baton:${password}@127.0.0.1:${port}/test?schema=x`,
        variable: 'BATON_SESSION_STORE_URL',
      })
      expect(performance.now() - started).toBeLessThan(OUTAGE_BUDGET_MS)
      expect(error.message).toMatch(/^BATON_SESSION_STORE_URL: cannot open PostgreSQL database: /)
      expect(error.message).not.toContain(password)
    })

    it('names the variable when the database does not exist, without the password', async () => {
      const missing = new URL(postgresUrl)
      missing.password = password
      missing.pathname = `/baton_missing_${randomBytes(4).toString('hex')}`
      const error = await openError({ url: missing.href })
      expect(error.message).toMatch(/^BATON_DATABASE_URL: cannot open PostgreSQL database: .*/)
      expect(error.message).toContain('does not exist')
      expect(error.message).not.toContain(password)
    })

    it('refuses a pool size that is not a positive integer', async () => {
      for (const poolSize of [0, -1, 1.5, Number.NaN]) {
        const error = await openError({ url, poolSize })
        expect(error.variable).toBe('poolSize')
      }
    })
  })

  describe('values', () => {
    it('returns BIGINT columns as numbers', async () => {
      const store = await openStore()
      const now = Date.now()
      const record = session(now, { rotatedAt: now - 1, revokedAt: null })
      await store.create(record)
      const stored = await store.get(refOf(record), now)
      for (const field of [
        'createdAt',
        'lastUsedAt',
        'expiresAt',
        'currentIssuedAt',
        'currentExpiresAt',
        'rotatedAt',
        'purgeAt',
      ] as const) {
        expect(typeof stored?.[field], field).toBe('number')
      }
      const counter = await store.hit(`login:${randomId()}`, MINUTE, now)
      expect(counter).toEqual({ count: 1, resetAt: now + MINUTE })
    })

    it('keeps roles with characters that PostgreSQL arrays escape', async () => {
      const store = await openStore()
      const id = randomId()
      const roles = ['a,b', '{braces}', 'quote"d', 'back\\slash', 'NULL', '', 'ünïcødé']
      await store.createUser({
        id,
        email: `${id}@example.test`,
        passwordHash: 'h',
        roles,
        createdAt: Date.now(),
        disabledAt: null,
        emailVerifiedAt: null,
        passwordChangedAt: null,
        passwordChangedIn: null,
      })
      expect((await store.findUserById(id))?.roles).toEqual(roles)
    })
  })

  describe('rotation and revocation', () => {
    it('lets exactly one of 20 concurrent rotations from two pools win, every time', async () => {
      const [a, b] = [await openStore(), await openStore()]
      const now = Date.now()
      for (let round = 0; round < 10; round += 1) {
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
        const stored = await b.get(refOf(record), now + MINUTE)
        expect(stored?.currentJti).toBe(winners[0]?.currentJti)
        expect(stored?.previousJti).toBe(record.currentJti)
      }
    })

    it('sends the rotations of one turn as one statement, and batches from two pools never deadlock', async () => {
      const [a, b] = [await openStore(), await openStore()]
      const now = Date.now()
      // Enough other sessions that the planner walks the wanted rows through the primary key,
      // locking in the order each batch lists them, as it does in production.
      await withPostgresClient(async (client) => {
        await client.query(
          `INSERT INTO "${schema}".sessions
             SELECT 'other-' || n, 'other-user', $1, $1, $2, NULL, NULL, '', NULL, 'jti-' || n,
               1, 2, NULL, NULL, NULL, NULL, $2
             FROM generate_series(1, 20000) AS n`,
          [now, now + DAY],
        )
        await client.query(`ANALYZE "${schema}".sessions`)
      })
      for (let round = 0; round < 4; round += 1) {
        const user = randomId()
        const records = Array.from({ length: 12 }, () => session(now, { userId: user }))
        for (const record of records) await a.create(record)
        // Both pools rotate every session at once, in opposite orders, while a third call signs
        // the user out everywhere: without one lock order this is the textbook deadlock.
        const reversed = [...records].reverse()
        const results = await Promise.all([
          ...records.map((record) => a.rotate(refOf(record), record.currentJti, rotation(now + 1))),
          ...reversed.map((record) =>
            b.rotate(refOf(record), record.currentJti, rotation(now + 1)),
          ),
          a.revokeAllForUser(user, {
            reason: 'logout_all',
            revokedAt: now + 1,
            denyUntil: now + 2,
          }),
        ])
        const rotations = results.slice(0, 2 * records.length) as (SessionRecord | null)[]
        const revokedIds = results[2 * records.length] as string[]
        for (const record of records) {
          const won = rotations.filter((result) => result?.id === record.id)
          const stored = await b.get(refOf(record), now + 1)
          // Each session: at most one rotation won, and if the revocation came first, none did.
          expect(won.length).toBeLessThanOrEqual(1)
          expect(stored?.revokedAt).toBe(now + 1)
          expect(won.length + (revokedIds.includes(record.id) ? 1 : 0)).toBeGreaterThanOrEqual(1)
          if (won.length === 1) expect(stored?.currentJti).toBe(won[0]?.currentJti)
        }
      }
    })

    it('writes nothing at all when a rotation fails', async () => {
      const store = await openStore()
      const now = Date.now()
      const record = session(now)
      const revoked = session(now)
      await store.create(record)
      await store.create(revoked)
      await store.revoke(refOf(revoked), { reason: 'x', revokedAt: now, denyUntil: now + 1 })
      // xmin is the transaction that wrote the row version: unchanged means not rewritten.
      const rowOf = (id: string) =>
        withPostgresClient(async (client) => {
          const result = await client.query(
            `SELECT xmin::text AS version, * FROM "${schema}".sessions WHERE id = $1`,
            [id],
          )
          return result.rows[0] as Record<string, unknown>
        })
      const before = await rowOf(record.id)
      const revokedBefore = await rowOf(revoked.id)

      const later = now + MINUTE
      expect(await store.rotate(refOf(record), randomId(), rotation(later))).toBeNull()
      const wrongUser = { userId: randomId(), sessionId: record.id }
      expect(await store.rotate(wrongUser, record.currentJti, rotation(later))).toBeNull()
      expect(
        await store.rotate(refOf(record), record.currentJti, rotation(record.purgeAt)),
      ).toBeNull()
      expect(await store.rotate(refOf(revoked), revoked.currentJti, rotation(later))).toBeNull()

      expect(await rowOf(record.id)).toEqual(before)
      expect(await rowOf(revoked.id)).toEqual(revokedBefore)
      expect(await store.get(refOf(record), later)).toEqual(record)
    })

    it('lets exactly one of 10 concurrent revocations report the revocation', async () => {
      const [a, b] = [await openStore(), await openStore()]
      const now = Date.now()
      const record = session(now)
      await a.create(record)
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, index) =>
          (index % 2 === 0 ? a : b).revoke(refOf(record), {
            reason: `reason-${index}`,
            revokedAt: now,
            denyUntil: now + (index + 1) * MINUTE,
          }),
        ),
      )
      expect(results.filter(Boolean)).toHaveLength(1)
      // Whichever call won, the deny-list keeps the latest expiry any of them asked for.
      expect(await a.isDenied(refOf(record), now + 10 * MINUTE - 1)).toBe(true)
      expect(await a.isDenied(refOf(record), now + 10 * MINUTE)).toBe(false)
    })
  })

  describe('sweeping', () => {
    it('deletes expired rows every minute by the clock the caller passes in', async () => {
      vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
      const fresh = freshSchema()
      const store = await openStore({ url: postgresUrlWithSchema(fresh) })
      const now = Date.now()
      const expired = session(now, { purgeAt: now + 1000 })
      const live = session(now)
      await store.create(expired)
      await store.create(live)
      await store.revoke(refOf(live), { reason: 'x', revokedAt: now, denyUntil: now + 1000 })
      await store.hit('short', 1000, now)
      await store.hit('long', MINUTE, now)
      const rows = (sql: string) =>
        withPostgresClient(async (client) => {
          const result = await client.query<{ value: string }>(sql)
          return result.rows.map((row) => row.value)
        })

      vi.advanceTimersByTime(MINUTE)
      // Nothing had expired by the latest `now` seen; wait for that pass to finish before moving on.
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(await rows(`SELECT id AS value FROM "${fresh}".sessions`)).toHaveLength(2)

      expect(await store.get(refOf(live), now + 2000)).not.toBeNull()
      vi.advanceTimersByTime(MINUTE)

      await vi.waitFor(
        async () => {
          expect(await rows(`SELECT id AS value FROM "${fresh}".sessions`)).toEqual([live.id])
        },
        { timeout: 5000, interval: 50 },
      )
      expect(await rows(`SELECT session_id AS value FROM "${fresh}".session_denylist`)).toEqual([])
      expect(await rows(`SELECT key AS value FROM "${fresh}".counters`)).toEqual(['long'])
    })
  })

  describe('outages', () => {
    let proxy: TcpProxy
    let proxiedUrl: string

    beforeAll(async () => {
      const target = new URL(postgresUrl)
      proxy = await TcpProxy.start({
        host: target.hostname,
        port: Number(target.port || 5432),
      })
      const proxied = new URL(url)
      proxied.hostname = '127.0.0.1'
      proxied.port = String(proxy.port)
      proxiedUrl = proxied.href
    })

    afterEach(() => {
      proxy.restore()
    })

    afterAll(async () => {
      await proxy.close()
    })

    async function expectServesAgain(store: PostgresStore, kept: SessionRecord) {
      await store.ping()
      const next = rotation(Date.now())
      const rotated = await store.rotate(refOf(kept), kept.currentJti, next)
      expect(rotated?.currentJti).toBe(next.jti)
      expect(rotated?.previousJti).toBe(kept.currentJti)
    }

    it('rejects every call within 2 s while cut off, then the same store serves again', async () => {
      const store = await openStore({ url: proxiedUrl })
      const kept = session(Date.now())
      await store.create(kept)
      // Several idle connections, so that the cut also breaks connections nobody is using.
      await Promise.all(Array.from({ length: 4 }, () => store.ping()))

      proxy.cut()
      await expectEveryCallUnavailable(everyCall(store, kept))
      // Sequentially too: a failed call must not leave the next one waiting on it.
      for (const [, call] of everyCall(store, kept).slice(0, 5)) {
        await expect(call()).rejects.toBeInstanceOf(StoreUnavailableError)
      }

      proxy.restore()
      await expectServesAgain(store, kept)
    })

    it('rejects every call within 2 s when connections hang, then discards them', async () => {
      const store = await openStore({ url: proxiedUrl, poolSize: 32 })
      const kept = session(Date.now())
      await store.create(kept)
      // As many idle connections as there will be calls, so that every call gets one that hangs.
      await Promise.all(everyCall(store, kept).map(() => store.ping()))

      proxy.freezeExisting()
      await expectEveryCallUnavailable(everyCall(store, kept))
      // The hung connections were discarded: fresh ones (the proxy relays new connections while
      // the old ones stay frozen) serve before anything is restored.
      await expectServesAgain(store, kept)
    })

    it('also rejects the calls waiting for a connection that hangs', async () => {
      const store = await openStore({ url: proxiedUrl, poolSize: 1 })
      const kept = session(Date.now())
      await store.create(kept)

      proxy.freeze()
      await expectEveryCallUnavailable(everyCall(store, kept))
      proxy.restore()
      await expectServesAgain(store, kept)
    })

    it('gives up on a statement stuck behind a lock within 2 s, then serves again', async () => {
      const store = await openStore({ poolSize: 1 })
      const kept = session(Date.now())
      await store.create(kept)
      await withPostgresClient(async (client) => {
        await client.query('BEGIN')
        await client.query(`SELECT 1 FROM "${schema}".sessions WHERE id = $1 FOR UPDATE`, [kept.id])
        try {
          const started = performance.now()
          const attempt = store.rotate(refOf(kept), kept.currentJti, rotation(Date.now()))
          // 57014: the server's statement timeout, so the server (not only the client) gave up.
          const error = await attempt.then(
            () => null,
            (caught: unknown) => caught,
          )
          expect(error).toBeInstanceOf(StoreUnavailableError)
          expect((error as StoreUnavailableError).detail).toContain('SQLSTATE 57014')
          expect(performance.now() - started).toBeLessThan(OUTAGE_BUDGET_MS)
        } finally {
          await client.query('ROLLBACK')
        }
      })
      await expectServesAgain(store, kept)
    })

    it('survives idle connections breaking, and answers ping only while the server does', async () => {
      const store = await openStore({ url: proxiedUrl })
      await Promise.all(Array.from({ length: 4 }, () => store.ping()))
      proxy.cut()
      // Nobody is using them: the breaks arrive as 'error' events of idle connections, which
      // must not crash the process.
      await new Promise((resolve) => setTimeout(resolve, 200))
      await expect(store.ping()).rejects.toMatchObject({ code: 'store_unavailable' })
      proxy.restore()
      await expect(store.ping()).resolves.toBeUndefined()
    })
  })

  describe('close', () => {
    it('closes idempotently; afterwards every call rejects with StoreUnavailableError', async () => {
      const store = await openPostgresStore({ url })
      const kept = session(Date.now())
      await store.create(kept)
      await Promise.all([store.close(), store.close()])
      await store.close()
      await expectEveryCallUnavailable(everyCall(store, kept))
    })

    it('refuses to overwrite an existing session with StoreUnavailableError', async () => {
      const store = await openStore()
      const record = session(Date.now())
      await store.create(record)
      const attempt = store.create({ ...record, currentJti: randomId() })
      const error = await attempt.then(
        () => null,
        (caught: unknown) => caught,
      )
      expect(error).toBeInstanceOf(StoreUnavailableError)
      expect((error as StoreUnavailableError).detail).toContain('SQLSTATE 23505')
      expect(await store.get(refOf(record), Date.now())).toEqual(record)
    })
  })
})
