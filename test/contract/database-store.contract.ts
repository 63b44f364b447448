import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomId } from '../../packages/server/src/core/ids.js'
import type {
  DatabaseStore,
  EventQuery,
  Page,
  SecurityEvent,
  StoredKey,
  StoredOAuthClient,
  StoredSecurityEvent,
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
    disabledAt: null,
    emailVerifiedAt: null,
    passwordChangedAt: null,
    passwordChangedIn: null,
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
    actor: null,
    detail: null,
    ...overrides,
  }
}

/** A recorded event as a page lists it: with the store's id, whatever it is. */
function stored(recorded: SecurityEvent): StoredSecurityEvent {
  // An asymmetric matcher in place of the id: any string of digits.
  const id = expect.stringMatching(/^\d+$/) as string
  return { ...recorded, id }
}

/** Every page of a listing, following `next` until null, with a bound in case it never is. */
async function allPages<T>(
  first: () => Promise<Page<T>>,
  following: (next: string) => Promise<Page<T>>,
): Promise<Page<T>[]> {
  const pages = [await first()]
  for (let next = pages[0]!.next; next !== null; next = pages.at(-1)!.next) {
    if (pages.length > 100) throw new Error('the listing never ends')
    pages.push(await following(next))
  }
  return pages
}

const ancient = Date.UTC(1971, 0, 1)

/** The events of a page as they were recorded, without the store's ids. */
function recordedOf(page: Page<StoredSecurityEvent>): SecurityEvent[] {
  return page.items.map((item) => {
    const event: Partial<StoredSecurityEvent> = { ...item }
    delete event.id
    return event as SecurityEvent
  })
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

    describe('listing users', () => {
      /** Users whose addresses share a marker of this test's own, so a filter finds only them. */
      async function createMarked(
        createdAts: number[],
      ): Promise<{ marker: string; users: UserRecord[] }> {
        const marker = `m${randomId()
          .toLowerCase()
          .replace(/[^a-z0-9]/g, '')}`
        const users = createdAts.map((createdAt, index) =>
          user({ email: `${index}.${marker}.${randomId().toLowerCase()}@example.test`, createdAt }),
        )
        // Created out of order: the listing goes by createdAt, not by insertion.
        for (const record of [...users].reverse())
          expect(await store().createUser(record)).toBe(true)
        return { marker, users }
      }

      it('lists users oldest first, in pages, with no user twice and none left out', async () => {
        const at = Date.now() - 86_400_000
        // Ties on createdAt fall across page boundaries: the cursor must tell them apart by id.
        const { marker, users } = await createMarked([
          at,
          at + 5,
          at + 5,
          at + 5,
          at + 1,
          at + 9,
          at + 5,
        ])
        const everything = (await store().listUsers({ email: marker, limit: 100 })).items
        expect(everything).toHaveLength(users.length)
        expect(new Set(everything.map((found) => found.id))).toEqual(
          new Set(users.map((created) => created.id)),
        )
        expect(everything.map((found) => found.createdAt - at)).toEqual([0, 1, 5, 5, 5, 5, 9])
        for (const found of everything) {
          expect(found).toEqual(users.find((created) => created.id === found.id))
        }

        for (const limit of [1, 2, 3, 7]) {
          const pages = await allPages(
            () => store().listUsers({ email: marker, limit }),
            (cursor) => store().listUsers({ email: marker, limit, cursor }),
          )
          expect(pages.flatMap((page) => page.items)).toEqual(everything)
          expect(pages.at(-1)?.next).toBeNull()
          expect(pages.every((page) => page.items.length <= limit)).toBe(true)
          expect(pages.length).toBe(Math.ceil(users.length / limit))
        }
      })

      it('pages through every user when no filter is given', async () => {
        // Long ago, so that these come first of every user this suite created.
        const { users } = await createMarked([ancient + 2, ancient, ancient + 1])
        const first = await store().listUsers({ limit: 2 })
        expect(first.items.map((found) => found.id)).toEqual([users[1]!.id, users[2]!.id])
        expect(first.next).not.toBeNull()
        const second = await store().listUsers({ limit: 1, cursor: first.next! })
        expect(second.items.map((found) => found.id)).toEqual([users[0]!.id])
      })

      it('filters on any part of the address, literally', async () => {
        const now = Date.now()
        const { marker, users } = await createMarked([now, now + 1, now + 2])
        const middle = marker.slice(3, 10)
        expect(
          (await store().listUsers({ email: middle, limit: 10 })).items.map((found) => found.id),
        ).toEqual(users.map((created) => created.id))
        const exact = await store().listUsers({ email: users[1]!.email, limit: 10 })
        expect(exact).toEqual({ items: [users[1]], next: null })
        expect(await store().listUsers({ email: `${marker}-nobody`, limit: 10 })).toEqual({
          items: [],
          next: null,
        })
        // % and _ are characters to find, not wildcards.
        const tricky = user({ email: `a_b%c.${marker}@example.test` })
        await store().createUser(tricky)
        const lookalike = user({ email: `axbyc.${marker}@example.test` })
        await store().createUser(lookalike)
        expect((await store().listUsers({ email: 'a_b%c', limit: 10 })).items).toEqual([tricky])
        expect((await store().listUsers({ email: `_${marker}`, limit: 10 })).items).toEqual([])
      })

      it('refuses a cursor it did not issue, as the caller’s mistake', async () => {
        for (const cursor of ['not a cursor', '', Buffer.from('u.x').toString('base64url')]) {
          await expect(store().listUsers({ limit: 10, cursor }), cursor).rejects.toMatchObject({
            code: 'invalid_request',
          })
        }
      })
    })

    describe('changing and deleting users', () => {
      it('keeps a disabled and verified user as created', async () => {
        const now = Date.now()
        const record = user({ disabledAt: now - 10, emailVerifiedAt: now - 20 })
        await store().createUser(record)
        expect(await store().findUserById(record.id)).toEqual(record)
        expect(await store().findUserByEmail(record.email)).toEqual(record)
      })

      it('changes each field alone, leaving the others as they were', async () => {
        const now = Date.now()
        const record = user({ roles: ['user'] })
        await store().createUser(record)
        // Read first, so a store that caches users has this one cached.
        expect(await store().findUserById(record.id)).toEqual(record)
        let expected: UserRecord = { ...record }
        const changes = [
          { roles: ['user', 'admin'] },
          { disabledAt: now },
          { passwordHash: `$argon2id$v=19$m=19456,t=2,p=1$${randomId()}$${randomId()}` },
          { emailVerifiedAt: now + 1 },
          { disabledAt: null },
          { roles: [] },
          { emailVerifiedAt: null },
          { passwordChangedAt: now + 2, passwordChangedIn: randomId() },
          { passwordChangedAt: now + 3, passwordChangedIn: null },
          {},
        ]
        for (const change of changes) {
          expect(await store().updateUser(record.id, change), JSON.stringify(change)).toBe(true)
          expected = { ...expected, ...change }
          expect(await store().findUserById(record.id), JSON.stringify(change)).toEqual(expected)
          expect(await store().findUserByEmail(record.email)).toEqual(expected)
        }
      })

      it('changes several fields at once', async () => {
        const record = user()
        await store().createUser(record)
        const change = { roles: ['auditor'], disabledAt: Date.now(), emailVerifiedAt: 1 }
        expect(await store().updateUser(record.id, change)).toBe(true)
        expect(await store().findUserById(record.id)).toEqual({ ...record, ...change })
        const [listed] = (await store().listUsers({ email: record.email, limit: 1 })).items
        expect(listed).toEqual({ ...record, ...change })
      })

      it('says false, changing nothing, for an unknown user', async () => {
        expect(await store().updateUser(randomId(), { disabledAt: Date.now() })).toBe(false)
        expect(await store().updateUser(randomId(), {})).toBe(false)
      })

      it('isolates the stored roles from the change', async () => {
        const record = user()
        await store().createUser(record)
        const roles = ['user', 'support']
        await store().updateUser(record.id, { roles })
        roles.push('admin')
        expect((await store().findUserById(record.id))?.roles).toEqual(['user', 'support'])
      })

      it('deletes a user, saying whether there was one, and frees the address', async () => {
        const kept = user()
        const deleted = user()
        await store().createUser(kept)
        await store().createUser(deleted)
        expect(await store().findUserById(deleted.id)).toEqual(deleted)
        expect(await store().deleteUser(deleted.id)).toBe(true)
        expect(await store().deleteUser(deleted.id)).toBe(false)
        expect(await store().deleteUser(randomId())).toBe(false)
        expect(await store().findUserById(deleted.id)).toBeNull()
        expect(await store().findUserByEmail(deleted.email)).toBeNull()
        expect(await store().updateUser(deleted.id, { roles: [] })).toBe(false)
        expect((await store().listUsers({ email: deleted.email, limit: 10 })).items).toEqual([])
        expect(await store().findUserById(kept.id)).toEqual(kept)
        const successor = user({ email: deleted.email })
        expect(await store().createUser(successor)).toBe(true)
        expect(await store().findUserByEmail(deleted.email)).toEqual(successor)
      })

      it('keeps the audit events of a deleted user', async () => {
        const record = user()
        await store().createUser(record)
        const logged = event({ userId: record.id })
        await store().record(logged)
        await store().deleteUser(record.id)
        expect((await store().listEvents({ userId: record.id, limit: 10 })).items).toEqual([
          stored(logged),
        ])
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
      const list = async (query: EventQuery) => (await store().listEvents(query)).items

      it("lists a user's events newest first, without anyone else's", async () => {
        const now = Date.now()
        const userId = randomId()
        const login = event({ userId, at: now - 2000, type: 'login_succeeded' })
        const refresh = event({ userId, at: now - 1000, type: 'refresh_token_reused' })
        const logout = event({ userId, at: now, type: 'logout', detail: 'from the account page' })
        const other = event({ at: now + 1000 })
        for (const recorded of [refresh, other, logout, login]) await store().record(recorded)

        expect(await store().listEvents({ userId, limit: 10 })).toEqual({
          items: [logout, refresh, login].map(stored),
          next: null,
        })
      })

      it('honours the limit', async () => {
        const now = Date.now()
        const userId = randomId()
        const events = [0, 1, 2, 3].map((offset) => event({ userId, at: now + offset }))
        for (const recorded of events) await store().record(recorded)

        expect(await list({ userId, limit: 2 })).toEqual([events[3]!, events[2]!].map(stored))
        expect(await store().listEvents({ userId, limit: 0 })).toEqual({ items: [], next: null })
      })

      it('orders events of the same instant by recording order, newest first', async () => {
        const at = Date.now()
        const userId = randomId()
        const first = event({ userId, at, type: 'first' })
        const second = event({ userId, at, type: 'second' })
        await store().record(first)
        await store().record(second)
        expect(await list({ userId, limit: 10 })).toEqual([second, first].map(stored))
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

        const listed = await list({ limit: 3 })
        expect(listed).toEqual([someone, anonymous, someoneElse].map(stored))
      })

      it('gives each event an id that grows in the order they were recorded', async () => {
        const now = Date.now()
        const userId = randomId()
        // Recorded out of time order: the id follows recording, not `at`.
        const events = [now, now - 5000, now + 5000].map((at) => event({ userId, at }))
        for (const recorded of events) await store().record(recorded)
        const listed = await list({ userId, limit: 10 })
        const idOf = (recorded: SecurityEvent) =>
          BigInt(listed.find((item) => item.at === recorded.at)?.id ?? '-1')
        const ids = events.map(idOf)
        expect(ids[0]).toBeGreaterThan(0n)
        expect(ids[1]).toBeGreaterThan(ids[0]!)
        expect(ids[2]).toBeGreaterThan(ids[1]!)
      })

      it('keeps who did it, when it was not the user', async () => {
        const userId = randomId()
        const byAdmin = event({ userId, type: 'user_disabled', actor: randomId() })
        const byCli = event({ userId, type: 'user_enabled', actor: 'cli', at: byAdmin.at + 1 })
        const byUser = event({ userId, type: 'logout', actor: null, at: byAdmin.at + 2 })
        for (const recorded of [byAdmin, byCli, byUser]) await store().record(recorded)
        expect(await list({ userId, limit: 10 })).toEqual([byUser, byCli, byAdmin].map(stored))
      })

      it('filters by type, by time and by both, alone or with the user', async () => {
        const now = Date.now()
        const userId = randomId()
        // Types of this test's own, so that no other test's events match them.
        const [seen, other] = [`seen_${randomId()}`, `other_${randomId()}`]
        const old = event({ userId, type: seen, at: now - 10_000 })
        const recent = event({ userId, type: seen, at: now - 1000 })
        const elsewhere = event({ type: seen, at: now })
        const unrelated = event({ userId, type: other, at: now - 500 })
        for (const recorded of [old, recent, elsewhere, unrelated]) await store().record(recorded)

        expect(await list({ type: seen, limit: 10 })).toEqual([elsewhere, recent, old].map(stored))
        expect(await list({ type: seen, userId, limit: 10 })).toEqual([recent, old].map(stored))
        // `since` is inclusive.
        expect(await list({ type: seen, since: now - 1000, limit: 10 })).toEqual(
          [elsewhere, recent].map(stored),
        )
        expect(await list({ userId, since: now - 1000, limit: 10 })).toEqual(
          [unrelated, recent].map(stored),
        )
        expect(await list({ type: seen, since: now + 1, limit: 10 })).toEqual([])
        expect(await list({ type: `none_${randomId()}`, limit: 10 })).toEqual([])
      })

      it('pages newest first by cursor, with no event twice and none left out', async () => {
        const now = Date.now()
        const userId = randomId()
        // Ties on `at` fall across page boundaries: the cursor must tell them apart.
        const offsets = [0, 0, 0, -1, -1, -2, -3, -3, -3, -4]
        const events = offsets.map((offset, index) =>
          event({ userId, at: now + offset * 1000, type: `event_${index}` }),
        )
        for (const recorded of events) await store().record(recorded)
        const everything = await list({ userId, limit: 100 })
        expect(everything).toHaveLength(events.length)

        for (const limit of [1, 3, 4, 10]) {
          const pages = await allPages(
            () => store().listEvents({ userId, limit }),
            (cursor) => store().listEvents({ userId, limit, cursor }),
          )
          expect(pages.flatMap((page) => page.items)).toEqual(everything)
          expect(pages.map((page) => page.items.length)).toEqual(
            Array.from({ length: Math.ceil(events.length / limit) }, (_, index) =>
              Math.min(limit, events.length - index * limit),
            ),
          )
          expect(pages.at(-1)?.next).toBeNull()
          for (const page of pages.slice(0, -1)) expect(typeof page.next).toBe('string')
        }
        // The same instant, newest first by recording order.
        expect(everything.slice(0, 3).map((item) => item.type)).toEqual([
          'event_2',
          'event_1',
          'event_0',
        ])
      })

      it('pages with filters and a cursor together', async () => {
        const now = Date.now()
        const userId = randomId()
        const type = `paged_${randomId()}`
        const events = [0, 1, 2, 3, 4, 5].map((offset) => event({ userId, type, at: now + offset }))
        for (const recorded of events) await store().record(recorded)
        await store().record(event({ userId, type: 'noise', at: now + 3 }))
        const since = now + 1
        const pages = await allPages(
          () => store().listEvents({ userId, type, since, limit: 2 }),
          (cursor) => store().listEvents({ userId, type, since, limit: 2, cursor }),
        )
        expect(pages.flatMap(recordedOf)).toEqual(events.slice(1).reverse())
      })

      it('lists oldest first after an event id, for following the log', async () => {
        const now = Date.now()
        const userId = randomId()
        const before = event({ userId, at: now })
        await store().record(before)
        const [mark] = await list({ userId, limit: 1 })
        // Later records, one of them with an earlier time: following goes by recording order.
        const later = [now + 2000, now - 60_000, now + 1000, now + 3000].map((at, index) =>
          event({ userId, at, type: `later_${index}` }),
        )
        for (const recorded of later) await store().record(recorded)
        await store().record(event({ at: now + 1500 }))

        const after = await store().listEvents({ userId, afterId: mark!.id, limit: 10 })
        expect(after.items).toEqual(later.map(stored))
        expect(after.next).toBeNull()
        const ids = after.items.map((item) => BigInt(item.id))
        expect([...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(ids)
        expect(ids.every((id) => id > BigInt(mark!.id))).toBe(true)

        // In pages: each page's next is the id to follow from.
        const pages = await allPages(
          () => store().listEvents({ userId, afterId: mark!.id, limit: 3 }),
          (afterId) => store().listEvents({ userId, afterId, limit: 3 }),
        )
        expect(pages.map((page) => page.items.length)).toEqual([3, 1])
        expect(pages[0]?.next).toBe(pages[0]?.items.at(-1)?.id)
        expect(pages.flatMap(recordedOf)).toEqual(later)

        // Nothing newer yet: an empty page to poll again from the same id.
        const last = after.items.at(-1)!.id
        expect(await store().listEvents({ userId, afterId: last, limit: 10 })).toEqual({
          items: [],
          next: null,
        })
        // Filters apply too.
        expect(
          (await store().listEvents({ userId, type: 'later_2', afterId: mark!.id, limit: 10 }))
            .items,
        ).toEqual([stored(later[2]!)])
      })

      it('refuses a cursor or an event id it did not issue, as the caller’s mistake', async () => {
        for (const query of [
          { limit: 10, cursor: 'not a cursor' },
          { limit: 10, cursor: Buffer.from('e.x.y').toString('base64url') },
          { limit: 10, afterId: 'abc' },
          { limit: 10, afterId: '-1' },
        ]) {
          await expect(store().listEvents(query), JSON.stringify(query)).rejects.toMatchObject({
            code: 'invalid_request',
          })
        }
      })

      it('purges events older than a time, oldest first, at most the limit', async () => {
        const userId = randomId()
        // Long before any other test's events, so that only these are old enough.
        const events = [4, 0, 3, 1, 2].map((offset) => event({ userId, at: ancient + offset }))
        for (const recorded of events) await store().record(recorded)
        const keptAfter = event({ userId, at: ancient + 10 })
        await store().record(keptAfter)

        expect(await store().purgeEvents(ancient + 3, 0)).toBe(0)
        expect(await store().purgeEvents(ancient + 3, 2)).toBe(2)
        expect((await list({ userId, limit: 10 })).map((item) => item.at - ancient)).toEqual([
          10, 4, 3, 2,
        ])
        expect(await store().purgeEvents(ancient + 3, 100)).toBe(1)
        expect(await store().purgeEvents(ancient + 3, 100)).toBe(0)
        expect((await list({ userId, limit: 10 })).map((item) => item.at - ancient)).toEqual([
          10, 4, 3,
        ])
        // Events of now are untouched.
        const recent = event({ userId })
        await store().record(recent)
        expect(await store().purgeEvents(ancient + 11, 100)).toBe(3)
        expect(await list({ userId, limit: 10 })).toEqual([stored(recent)])
      })
    })

    it('answers ping', async () => {
      await expect(store().ping()).resolves.toBeUndefined()
    })
  })
}
