import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomId } from '../../packages/server/src/core/ids.js'
import type {
  DatabaseStore,
  SecurityEvent,
  StoredKey,
  StoredOAuthClient,
  UserRecord,
} from '../../packages/server/src/core/ports.js'

export interface DatabaseStoreFixture {
  store: DatabaseStore
  cleanup: () => Promise<void>
}

function user(overrides: Partial<UserRecord> = {}): UserRecord {
  const id = randomId()
  return {
    id,
    email: `${id.toLowerCase()}@example.test`,
    passwordHash: `$argon2id$v=19$m=19456,t=2,p=1$${randomId()}$${randomId()}`,
    roles: ['user'],
    createdAt: Date.now(),
    ...overrides,
  }
}

function key(overrides: Partial<StoredKey> = {}): StoredKey {
  const kid = randomId()
  return {
    kid,
    alg: 'ES256',
    state: 'next',
    privateJwk: JSON.stringify({ kty: 'EC', crv: 'P-256', kid, d: randomId() }),
    publicJwk: JSON.stringify({ kty: 'EC', crv: 'P-256', kid, x: randomId(), y: randomId() }),
    createdAt: Date.now(),
    activatedAt: null,
    retiredAt: null,
    removeAfter: null,
    ...overrides,
  }
}

function client(overrides: Partial<StoredOAuthClient> = {}): StoredOAuthClient {
  return {
    id: `client-${randomId()}`,
    secretHash: `sha256:${randomId()}${randomId()}`,
    createdAt: Date.now(),
    ...overrides,
  }
}

function event(overrides: Partial<SecurityEvent> = {}): SecurityEvent {
  return {
    type: 'login_succeeded',
    at: Date.now(),
    userId: randomId(),
    sessionId: randomId(),
    ip: '203.0.113.7',
    userAgent: 'contract-test/1.0',
    detail: null,
    ...overrides,
  }
}

/**
 * The behaviour every `DatabaseStore` must show, run against each backend. Tests use fresh random
 * ids and emails, so one store may serve the whole suite.
 */
export function describeDatabaseStoreContract(
  name: string,
  factory: () => Promise<DatabaseStoreFixture>,
): void {
  describe(`DatabaseStore contract: ${name}`, () => {
    let fixture: DatabaseStoreFixture | undefined
    const store = (): DatabaseStore => {
      if (fixture === undefined) throw new Error('the store fixture did not start')
      return fixture.store
    }

    beforeAll(async () => {
      fixture = await factory()
    })

    afterAll(async () => {
      await fixture?.cleanup()
    })

    describe('users', () => {
      it('creates a user and finds it by email and by id', async () => {
        const record = user({ roles: ['user', 'admin'] })
        expect(await store().createUser(record)).toBe(true)
        expect(await store().findUserByEmail(record.email)).toEqual(record)
        expect(await store().findUserById(record.id)).toEqual(record)
      })

      it('returns null for an unknown email or id', async () => {
        expect(await store().findUserByEmail(`${randomId()}@example.test`)).toBeNull()
        expect(await store().findUserById(randomId())).toBeNull()
      })

      it('refuses a taken email and leaves the first user untouched', async () => {
        const first = user()
        const second = user({ email: first.email, roles: ['admin'] })
        expect(await store().createUser(first)).toBe(true)
        expect(await store().createUser(second)).toBe(false)
        expect(await store().findUserByEmail(first.email)).toEqual(first)
        expect(await store().findUserById(first.id)).toEqual(first)
        expect(await store().findUserById(second.id)).toBeNull()
      })

      it('keeps roles in order, including none', async () => {
        const many = user({ roles: ['user', 'support', 'admin', 'billing:read'] })
        const none = user({ roles: [] })
        await store().createUser(many)
        await store().createUser(none)
        expect((await store().findUserById(many.id))?.roles).toEqual([
          'user',
          'support',
          'admin',
          'billing:read',
        ])
        expect((await store().findUserById(none.id))?.roles).toEqual([])
      })

      it('isolates the caller from the stored user', async () => {
        const record = user({ roles: ['user'] })
        await store().createUser(record)
        record.roles.push('admin')
        const found = await store().findUserById(record.id)
        expect(found?.roles).toEqual(['user'])
        found?.roles.push('admin')
        expect((await store().findUserByEmail(record.email))?.roles).toEqual(['user'])
      })
    })

    describe('keys', () => {
      it('inserts keys and lists them with every field', async () => {
        const now = Date.now()
        const current = key({ state: 'current', createdAt: now - 1000, activatedAt: now - 500 })
        const next = key({ state: 'next', alg: 'EdDSA', createdAt: now })
        await store().insertKey(current)
        await store().insertKey(next)
        const listed = await store().listKeys()
        expect(listed.find((stored) => stored.kid === current.kid)).toEqual(current)
        expect(listed.find((stored) => stored.kid === next.kid)).toEqual(next)
      })

      it('keeps a refresh-token secret, which has no public part, beside the signing keys', async () => {
        const secret = key({
          alg: 'HS256',
          state: 'current',
          privateJwk: JSON.stringify({ kty: 'oct', k: randomId() + randomId() }),
          publicJwk: '',
          activatedAt: Date.now(),
        })
        await store().insertKey(secret)
        const listed = await store().listKeys()
        expect(listed.find((stored) => stored.kid === secret.kid)).toEqual(secret)
      })

      it('updates the state and times of a key, nothing else', async () => {
        const now = Date.now()
        const stored = key({ state: 'current', activatedAt: now - 1000 })
        await store().insertKey(stored)
        await store().updateKey(stored.kid, {
          state: 'retired',
          activatedAt: now - 1000,
          retiredAt: now,
          removeAfter: now + 15 * 60_000,
        })
        const listed = await store().listKeys()
        expect(listed.find((candidate) => candidate.kid === stored.kid)).toEqual({
          ...stored,
          state: 'retired',
          retiredAt: now,
          removeAfter: now + 15 * 60_000,
        })
      })

      it('deletes a key and ignores an unknown kid', async () => {
        const kept = key()
        const deleted = key()
        await store().insertKey(kept)
        await store().insertKey(deleted)
        await store().deleteKey(deleted.kid)
        await store().deleteKey(randomId())
        const kids = (await store().listKeys()).map((stored) => stored.kid)
        expect(kids).toContain(kept.kid)
        expect(kids).not.toContain(deleted.kid)
      })
    })

    describe('OAuth clients', () => {
      const find = async (id: string) =>
        (await store().listClients()).find((stored) => stored.id === id)

      it('inserts public and confidential clients and lists them with every field', async () => {
        const confidential = client()
        const open = client({ secretHash: null, createdAt: confidential.createdAt + 1 })
        expect(await store().insertClient(confidential)).toBe(true)
        expect(await store().insertClient(open)).toBe(true)
        expect(await find(confidential.id)).toEqual(confidential)
        expect(await find(open.id)).toEqual(open)
      })

      it('lists clients oldest first', async () => {
        const at = Date.now() - 365 * 86_400_000
        const newer = client({ createdAt: at + 1 })
        const older = client({ createdAt: at })
        await store().insertClient(newer)
        await store().insertClient(older)
        const ids = (await store().listClients()).map((stored) => stored.id)
        expect(ids.indexOf(older.id)).toBeGreaterThanOrEqual(0)
        expect(ids.indexOf(older.id)).toBeLessThan(ids.indexOf(newer.id))
      })

      it('refuses a taken id and leaves the first client untouched', async () => {
        const first = client({ secretHash: null })
        expect(await store().insertClient(first)).toBe(true)
        expect(await store().insertClient({ ...first, secretHash: 'sha256:other' })).toBe(false)
        expect(await find(first.id)).toEqual(first)
      })

      it('deletes a client, saying whether there was one', async () => {
        const kept = client()
        const deleted = client()
        await store().insertClient(kept)
        await store().insertClient(deleted)
        expect(await store().deleteClient(deleted.id)).toBe(true)
        expect(await store().deleteClient(deleted.id)).toBe(false)
        expect(await store().deleteClient(`client-${randomId()}`)).toBe(false)
        expect(await find(deleted.id)).toBeUndefined()
        expect(await find(kept.id)).toEqual(kept)
      })

      it('isolates the caller from the stored client', async () => {
        const stored = client()
        await store().insertClient(stored)
        stored.secretHash = null
        const found = await find(stored.id)
        expect(found?.secretHash).not.toBeNull()
        if (found) found.secretHash = null
        expect((await find(stored.id))?.secretHash).not.toBeNull()
      })
    })

    describe('audit log', () => {
      it("lists a user's events newest first, without anyone else's", async () => {
        const now = Date.now()
        const userId = randomId()
        const login = event({ userId, at: now - 2000, type: 'login_succeeded' })
        const refresh = event({ userId, at: now - 1000, type: 'refresh_token_reused' })
        const logout = event({ userId, at: now, type: 'logout', detail: 'from the account page' })
        const other = event({ at: now + 1000 })
        for (const recorded of [refresh, other, logout, login]) await store().record(recorded)

        expect(await store().listEvents({ userId, limit: 10 })).toEqual([logout, refresh, login])
      })

      it('honours the limit', async () => {
        const now = Date.now()
        const userId = randomId()
        const events = [0, 1, 2, 3].map((offset) => event({ userId, at: now + offset }))
        for (const recorded of events) await store().record(recorded)

        expect(await store().listEvents({ userId, limit: 2 })).toEqual([events[3], events[2]])
        expect(await store().listEvents({ userId, limit: 0 })).toEqual([])
      })

      it('orders events of the same instant by recording order, newest first', async () => {
        const at = Date.now()
        const userId = randomId()
        const first = event({ userId, at, type: 'first' })
        const second = event({ userId, at, type: 'second' })
        await store().record(first)
        await store().record(second)
        expect(await store().listEvents({ userId, limit: 10 })).toEqual([second, first])
      })

      it('lists every user, and events without a user, when no user is given', async () => {
        // Far in the future so that no other test's events sort before these.
        const at = Date.now() + 10 * 365 * 86_400_000
        const anonymous = event({
          at: at + 1,
          type: 'login_failed',
          userId: null,
          sessionId: null,
          ip: null,
          userAgent: null,
          detail: null,
        })
        const someone = event({ at: at + 1 })
        const someoneElse = event({ at })
        for (const recorded of [someoneElse, anonymous, someone]) await store().record(recorded)

        const listed = await store().listEvents({ limit: 3 })
        expect(listed).toEqual([someone, anonymous, someoneElse])
      })
    })

    it('answers ping', async () => {
      await expect(store().ping()).resolves.toBeUndefined()
    })
  })
}
