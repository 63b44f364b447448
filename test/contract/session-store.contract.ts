import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { StoreUnavailableError } from '../../packages/server/src/core/errors.js'
import { randomId } from '../../packages/server/src/core/ids.js'
import type {
  OneTimeToken,
  SessionRecord,
  SessionStore,
} from '../../packages/server/src/core/ports.js'
import {
  DAY,
  HOUR,
  MINUTE,
  SECOND,
  refOf,
  revocation,
  rotation,
  session,
} from '../helpers/session-fixtures.js'

export interface SessionStoreFixture {
  store: SessionStore
  cleanup: () => Promise<void>
}

/**
 * The behaviour every `SessionStore` must show, run against each backend. Tests use fresh random
 * ids, so one store may serve the whole suite.
 */
export function describeSessionStoreContract(
  name: string,
  factory: () => Promise<SessionStoreFixture>,
): void {
  describe(`SessionStore contract: ${name}`, () => {
    let fixture: SessionStoreFixture | undefined
    const store = (): SessionStore => {
      if (fixture === undefined) throw new Error('the store fixture did not start')
      return fixture.store
    }

    beforeAll(async () => {
      fixture = await factory()
    })

    afterAll(async () => {
      await fixture?.cleanup()
    })

    describe('create and get', () => {
      it('returns every field as created', async () => {
        const now = Date.now()
        const record = session(now, {
          ip: '2001:db8::1',
          userAgent: 'Mozilla/5.0 (X11; Linux x86_64) ünïcødé',
          scope: 'openid profile email',
          clientId: 'mobile-app',
          previousJti: randomId(),
          rotatedAt: now - MINUTE,
        })
        await store().create(record)
        expect(await store().get(refOf(record), now)).toEqual(record)
      })

      it('keeps null fields null', async () => {
        const now = Date.now()
        const record = session(now, { ip: null, userAgent: null, clientId: null })
        await store().create(record)
        const stored = await store().get(refOf(record), now)
        expect(stored).toEqual(record)
        expect(stored?.ip).toBeNull()
        expect(stored?.userAgent).toBeNull()
        expect(stored?.clientId).toBeNull()
        expect(stored?.previousJti).toBeNull()
        expect(stored?.rotatedAt).toBeNull()
        expect(stored?.revokedAt).toBeNull()
        expect(stored?.revokedReason).toBeNull()
      })

      it('refuses to overwrite an existing session', async () => {
        const now = Date.now()
        const record = session(now)
        await store().create(record)
        await store().revoke(refOf(record), revocation(now))
        const revoked = await store().get(refOf(record), now)
        await expect(
          store().create({ ...record, currentJti: randomId(), revokedAt: null }),
        ).rejects.toBeInstanceOf(StoreUnavailableError)
        expect(await store().get(refOf(record), now)).toEqual(revoked)
      })

      it("reads a session named with another user's id as missing, and leaves it alone", async () => {
        const now = Date.now()
        const record = session(now)
        await store().create(record)
        const wrongUser = { userId: randomId(), sessionId: record.id }
        expect(await store().get(wrongUser, now)).toBeNull()
        expect(await store().rotate(wrongUser, record.currentJti, rotation(now))).toBeNull()
        expect(await store().revoke(wrongUser, revocation(now))).toBe(false)
        expect(await store().isDenied(wrongUser, now)).toBe(false)
        expect(await store().isDenied(refOf(record), now)).toBe(false)
        expect(await store().get(refOf(record), now)).toEqual(record)
      })

      it('returns null for an unknown id', async () => {
        expect(
          await store().get({ userId: randomId(), sessionId: randomId() }, Date.now()),
        ).toBeNull()
      })

      it('forgets a record once purgeAt has passed', async () => {
        const now = Date.now()
        const record = session(now, { purgeAt: now + HOUR, expiresAt: now + HOUR })
        await store().create(record)
        expect(await store().get(refOf(record), now + HOUR - 1)).toEqual(record)
        expect(await store().get(refOf(record), now + HOUR)).toBeNull()
        expect(await store().get(refOf(record), now + 2 * HOUR)).toBeNull()
      })

      it('isolates the caller from the stored record', async () => {
        const now = Date.now()
        const record = session(now)
        const original = { ...record }
        await store().create(record)
        record.currentJti = 'changed-after-create'
        const first = await store().get(refOf(record), now)
        expect(first).toEqual(original)
        if (first === null) throw new Error('unreachable')
        first.currentJti = 'changed-after-get'
        first.revokedAt = now
        expect(await store().get(refOf(record), now)).toEqual(original)
      })
    })

    describe('rotate', () => {
      it('makes the next token current and the expected one previous', async () => {
        const now = Date.now()
        const record = session(now)
        await store().create(record)
        const next = rotation(now + 5 * MINUTE)

        const rotated = await store().rotate(refOf(record), record.currentJti, next)

        const expected: SessionRecord = {
          ...record,
          currentJti: next.jti,
          currentIssuedAt: next.issuedAt,
          currentExpiresAt: next.expiresAt,
          previousJti: record.currentJti,
          rotatedAt: next.rotatedAt,
          lastUsedAt: next.rotatedAt,
          ip: next.ip,
          userAgent: next.userAgent,
          purgeAt: next.purgeAt,
        }
        expect(rotated).toEqual(expected)
        expect(await store().get(refOf(record), next.rotatedAt)).toEqual(expected)
      })

      it('refuses, changing nothing, a successor that would outlive the session', async () => {
        const now = Date.now()
        const record = session(now, { expiresAt: now + 7 * DAY })
        await store().create(record)
        const seconds = Math.floor(now / SECOND)
        const tokenTooLong = rotation(now, { expiresAt: seconds + 8 * 86_400 })
        expect(await store().rotate(refOf(record), record.currentJti, tokenTooLong)).toBeNull()
        const kept = rotation(now, { expiresAt: seconds + 86_400, purgeAt: now + 8 * DAY })
        expect(await store().rotate(refOf(record), record.currentJti, kept)).toBeNull()
        expect(await store().get(refOf(record), now)).toEqual(record)
        // Exactly up to the session's end is allowed.
        const clamped = rotation(now, {
          expiresAt: Math.floor(record.expiresAt / SECOND),
          purgeAt: record.expiresAt,
        })
        expect(await store().rotate(refOf(record), record.currentJti, clamped)).not.toBeNull()
      })

      it('stores a null ip and user agent from the rotation', async () => {
        const now = Date.now()
        const record = session(now)
        await store().create(record)
        const rotated = await store().rotate(
          refOf(record),
          record.currentJti,
          rotation(now + MINUTE, { ip: null, userAgent: null }),
        )
        expect(rotated?.ip).toBeNull()
        expect(rotated?.userAgent).toBeNull()
      })

      it('chains: the successor rotates next, the retired token no longer does', async () => {
        const now = Date.now()
        const record = session(now)
        await store().create(record)
        const first = rotation(now + MINUTE)
        const second = rotation(now + 2 * MINUTE)
        expect(await store().rotate(refOf(record), record.currentJti, first)).not.toBeNull()
        expect(await store().rotate(refOf(record), record.currentJti, second)).toBeNull()
        const rotated = await store().rotate(refOf(record), first.jti, second)
        expect(rotated?.currentJti).toBe(second.jti)
        expect(rotated?.previousJti).toBe(first.jti)
      })

      it('returns null and changes nothing when the expected jti is not current', async () => {
        const now = Date.now()
        const record = session(now)
        await store().create(record)
        expect(await store().rotate(refOf(record), randomId(), rotation(now + MINUTE))).toBeNull()
        expect(await store().get(refOf(record), now + MINUTE)).toEqual(record)
      })

      it('returns null for an unknown session', async () => {
        const now = Date.now()
        expect(
          await store().rotate(
            { userId: randomId(), sessionId: randomId() },
            randomId(),
            rotation(now),
          ),
        ).toBeNull()
      })

      it('refuses a revoked session', async () => {
        const now = Date.now()
        const record = session(now)
        await store().create(record)
        expect(await store().revoke(refOf(record), revocation(now + MINUTE))).toBe(true)
        const revoked = await store().get(refOf(record), now + MINUTE)
        expect(
          await store().rotate(refOf(record), record.currentJti, rotation(now + 2 * MINUTE)),
        ).toBeNull()
        expect(await store().get(refOf(record), now + 2 * MINUTE)).toEqual(revoked)
      })

      it('refuses a session whose purgeAt has passed', async () => {
        const now = Date.now()
        const record = session(now, { purgeAt: now + HOUR, expiresAt: now + HOUR })
        await store().create(record)
        expect(
          await store().rotate(refOf(record), record.currentJti, rotation(now + HOUR)),
        ).toBeNull()
      })

      it.each([2, 20])('lets exactly one of %i concurrent rotations win', async (racers) => {
        const now = Date.now()
        const record = session(now)
        await store().create(record)
        const attempts = Array.from({ length: racers }, () => rotation(now + MINUTE))

        const results = await Promise.all(
          attempts.map((next) => store().rotate(refOf(record), record.currentJti, next)),
        )

        const winners = results.filter((result) => result !== null)
        expect(winners).toHaveLength(1)
        const winner = winners[0]
        expect(attempts.map((next) => next.jti)).toContain(winner?.currentJti)
        const stored = await store().get(refOf(record), now + MINUTE)
        expect(stored?.currentJti).toBe(winner?.currentJti)
        expect(stored?.previousJti).toBe(record.currentJti)
      })

      it('rotates many sessions started together, each by its own compare-and-swap', async () => {
        const now = Date.now()
        const records = Array.from({ length: 40 }, () => session(now))
        for (const record of records) await store().create(record)
        const [chained] = records
        const first = rotation(now + MINUTE)
        const second = rotation(now + MINUTE)
        const nexts = records.map((record) => (record === chained ? first : rotation(now + MINUTE)))

        // All in one turn: the 40 rotations, a second one expecting the chained session's
        // retired token (it must lose), and a revocation racing one of them.
        const revoked = records[1]!
        const results = await Promise.all([
          ...records.map((record, index) =>
            store().rotate(refOf(record), record.currentJti, nexts[index]!),
          ),
          store().rotate(refOf(chained!), chained!.currentJti, second),
          store().revoke(refOf(revoked), {
            reason: 'logout',
            revokedAt: now + MINUTE,
            denyUntil: now + 2 * MINUTE,
          }),
        ])

        const rotations = results.slice(0, records.length)
        records.forEach((record, index) => {
          if (record === revoked) return
          expect(rotations[index]).toMatchObject({ id: record.id, currentJti: nexts[index]!.jti })
        })
        expect(results[records.length]).toBeNull()
        const stored = await store().get(refOf(chained!), now + MINUTE)
        expect(stored).toMatchObject({ currentJti: first.jti, previousJti: chained!.currentJti })
        // The revocation and the rotation of that session agree: either order, never a
        // rotation that outlives a revocation it did not see.
        const afterRevoke = await store().get(refOf(revoked), now + MINUTE)
        expect(afterRevoke?.revokedAt).toBe(now + MINUTE)
        expect(
          await store().rotate(refOf(revoked), afterRevoke!.currentJti, rotation(now + 2 * MINUTE)),
        ).toBeNull()
      })
    })

    describe('revoke', () => {
      it('marks the session revoked and deny-lists it until denyUntil', async () => {
        const now = Date.now()
        const record = session(now)
        await store().create(record)
        const revokedAt = now + MINUTE
        const denyUntil = revokedAt + 15 * MINUTE

        expect(await store().isDenied(refOf(record), revokedAt)).toBe(false)
        expect(
          await store().revoke(refOf(record), revocation(revokedAt, { reason: 'admin' })),
        ).toBe(true)

        const stored = await store().get(refOf(record), revokedAt)
        expect(stored).toEqual({ ...record, revokedAt, revokedReason: 'admin' })
        expect(await store().isDenied(refOf(record), revokedAt)).toBe(true)
        expect(await store().isDenied(refOf(record), denyUntil - 1)).toBe(true)
        expect(await store().isDenied(refOf(record), denyUntil)).toBe(false)
        expect(await store().isDenied(refOf(record), denyUntil + HOUR)).toBe(false)
      })

      it('returns false the second time and keeps the first reason', async () => {
        const now = Date.now()
        const record = session(now)
        await store().create(record)
        expect(await store().revoke(refOf(record), revocation(now, { reason: 'logout' }))).toBe(
          true,
        )
        expect(
          await store().revoke(refOf(record), revocation(now + MINUTE, { reason: 'admin' })),
        ).toBe(false)
        const stored = await store().get(refOf(record), now + MINUTE)
        expect(stored?.revokedAt).toBe(now)
        expect(stored?.revokedReason).toBe('logout')
      })

      it('keeps the later denyUntil when revoked again', async () => {
        const now = Date.now()
        const longer = session(now)
        const shorter = session(now)
        await store().create(longer)
        await store().create(shorter)

        await store().revoke(refOf(longer), revocation(now, { denyUntil: now + 10 * MINUTE }))
        await store().revoke(refOf(longer), revocation(now, { denyUntil: now + 30 * MINUTE }))
        expect(await store().isDenied(refOf(longer), now + 20 * MINUTE)).toBe(true)

        await store().revoke(refOf(shorter), revocation(now, { denyUntil: now + 30 * MINUTE }))
        await store().revoke(refOf(shorter), revocation(now, { denyUntil: now + 10 * MINUTE }))
        expect(await store().isDenied(refOf(shorter), now + 20 * MINUTE)).toBe(true)
      })

      it('returns false for an unknown session and denies nothing', async () => {
        const now = Date.now()
        const ref = { userId: randomId(), sessionId: randomId() }
        expect(await store().revoke(ref, revocation(now))).toBe(false)
        expect(await store().isDenied(ref, now)).toBe(false)
      })

      it('treats a purged session as missing', async () => {
        const now = Date.now()
        const record = session(now, { purgeAt: now + HOUR, expiresAt: now + HOUR })
        await store().create(record)
        expect(await store().revoke(refOf(record), revocation(now + HOUR))).toBe(false)
        expect(await store().isDenied(refOf(record), now + HOUR)).toBe(false)
      })

      it('never denies a session that was not revoked', async () => {
        const now = Date.now()
        const record = session(now)
        await store().create(record)
        expect(await store().isDenied(refOf(record), now)).toBe(false)
        expect(await store().isDenied({ userId: randomId(), sessionId: randomId() }, now)).toBe(
          false,
        )
      })
    })

    describe('revokeAllForUser', () => {
      it("revokes and denies every live session of the user and no one else's", async () => {
        const now = Date.now()
        const userId = randomId()
        const first = session(now, { userId })
        const second = session(now, { userId })
        const alreadyRevoked = session(now, { userId })
        const expired = session(now, { userId, expiresAt: now - MINUTE })
        const someoneElse = session(now)
        for (const record of [first, second, alreadyRevoked, expired, someoneElse]) {
          await store().create(record)
        }
        await store().revoke(refOf(alreadyRevoked), revocation(now - MINUTE, { reason: 'logout' }))
        const before = await store().get(refOf(alreadyRevoked), now)

        const revokedAt = now + MINUTE
        const ids = await store().revokeAllForUser(
          userId,
          revocation(revokedAt, { reason: 'logout_all', denyUntil: revokedAt + 15 * MINUTE }),
        )

        expect([...ids].sort()).toEqual([first.id, second.id].sort())
        for (const record of [first, second]) {
          expect(await store().get(refOf(record), revokedAt)).toEqual({
            ...record,
            revokedAt,
            revokedReason: 'logout_all',
          })
          expect(await store().isDenied(refOf(record), revokedAt + 15 * MINUTE - 1)).toBe(true)
          expect(await store().isDenied(refOf(record), revokedAt + 15 * MINUTE)).toBe(false)
        }
        expect(await store().get(refOf(alreadyRevoked), revokedAt)).toEqual(before)
        expect(await store().get(refOf(someoneElse), revokedAt)).toEqual(someoneElse)
        expect(await store().isDenied(refOf(someoneElse), revokedAt)).toBe(false)
        expect(await store().listForUser(userId, revokedAt)).toEqual([])
      })

      it('returns an empty list for a user without sessions', async () => {
        expect(await store().revokeAllForUser(randomId(), revocation(Date.now()))).toEqual([])
      })
    })

    describe('listForUser', () => {
      it('lists only live sessions of the user, most recently used first', async () => {
        const now = Date.now()
        const userId = randomId()
        const older = session(now - HOUR, { userId, lastUsedAt: now - 30 * MINUTE })
        const newer = session(now - HOUR, { userId, lastUsedAt: now - 5 * MINUTE })
        const oldest = session(now - 2 * HOUR, { userId, lastUsedAt: now - 2 * HOUR })
        const revoked = session(now - HOUR, { userId })
        const expired = session(now - 2 * HOUR, { userId, expiresAt: now - MINUTE })
        const purged = session(now - 2 * HOUR, { userId, purgeAt: now, expiresAt: now + DAY })
        const someoneElse = session(now - HOUR)
        for (const record of [older, revoked, newer, expired, purged, oldest, someoneElse]) {
          await store().create(record)
        }
        await store().revoke(refOf(revoked), revocation(now - MINUTE))

        expect(await store().listForUser(userId, now)).toEqual([newer, older, oldest])
      })

      it('reflects a rotation in the order', async () => {
        const now = Date.now()
        const userId = randomId()
        const a = session(now, { userId, lastUsedAt: now })
        const b = session(now, { userId, lastUsedAt: now + MINUTE })
        await store().create(a)
        await store().create(b)
        await store().rotate(refOf(a), a.currentJti, rotation(now + 2 * MINUTE))
        const listed = await store().listForUser(userId, now + 2 * MINUTE)
        expect(listed.map((record) => record.id)).toEqual([a.id, b.id])
      })

      it('returns an empty list for an unknown user', async () => {
        expect(await store().listForUser(randomId(), Date.now())).toEqual([])
      })
    })

    describe('findSessionOwner', () => {
      it('names the user of a session, revoked or not, until its record is purged', async () => {
        const now = Date.now()
        const live = session(now - HOUR)
        const revoked = session(now - HOUR)
        const purged = session(now - 2 * HOUR, { purgeAt: now, expiresAt: now + DAY })
        for (const record of [live, revoked, purged]) await store().create(record)
        await store().revoke(refOf(revoked), revocation(now - MINUTE))

        expect(await store().findSessionOwner(live.id, now)).toBe(live.userId)
        expect(await store().findSessionOwner(revoked.id, now)).toBe(revoked.userId)
        expect(await store().findSessionOwner(purged.id, now)).toBeNull()
        expect(await store().findSessionOwner(live.id, live.purgeAt)).toBeNull()
      })

      it('returns null for a session id it never saw', async () => {
        expect(await store().findSessionOwner(randomId(), Date.now())).toBeNull()
      })
    })

    describe('one-time tokens', () => {
      const hashOf = (): string => `sha256:${randomId()}${randomId()}`
      const token = (now: number, overrides: Partial<OneTimeToken> = {}): OneTimeToken => ({
        userId: randomId(),
        kind: 'password_reset',
        tokenHash: hashOf(),
        email: `${randomId().toLowerCase()}@example.test`,
        createdAt: now,
        expiresAt: now + HOUR,
        ...overrides,
      })
      const take = (stored: OneTimeToken, now: number, tokenHash = stored.tokenHash) =>
        store().takeOneTimeToken(stored.userId, stored.kind, tokenHash, now)

      it('gives a token back once, with every field, then never again', async () => {
        const now = Date.now()
        const stored = token(now, { email: 'ünïcødé+tag@example.test' })
        await store().putOneTimeToken(stored)
        expect(await take(stored, now + MINUTE)).toEqual(stored)
        expect(await take(stored, now + MINUTE)).toBeNull()
      })

      it('keeps one live token per user and kind: a new one replaces the old', async () => {
        const now = Date.now()
        const first = token(now)
        const second = token(now + MINUTE, { userId: first.userId })
        await store().putOneTimeToken(first)
        await store().putOneTimeToken(second)
        expect(await take(first, now + 2 * MINUTE)).toBeNull()
        expect(await take(second, now + 2 * MINUTE)).toEqual(second)
        expect(await take(first, now + 2 * MINUTE)).toBeNull()
      })

      it('keeps kinds and users apart', async () => {
        const now = Date.now()
        const reset = token(now, { kind: 'password_reset' })
        const verification = token(now, { userId: reset.userId, kind: 'email_verification' })
        const someoneElse = token(now, { tokenHash: reset.tokenHash })
        for (const stored of [reset, verification, someoneElse]) {
          await store().putOneTimeToken(stored)
        }
        // The right hash under another kind or another user is no match.
        expect(
          await store().takeOneTimeToken(reset.userId, 'email_verification', reset.tokenHash, now),
        ).toBeNull()
        expect(await take(reset, now)).toEqual(reset)
        expect(await take(verification, now)).toEqual(verification)
        expect(await take(someoneElse, now)).toEqual(someoneElse)
      })

      it('leaves the token in place when the hash is wrong', async () => {
        const now = Date.now()
        const stored = token(now)
        await store().putOneTimeToken(stored)
        expect(await take(stored, now, hashOf())).toBeNull()
        expect(await take(stored, now, '')).toBeNull()
        expect(await take(stored, now)).toEqual(stored)
      })

      it('gives nothing back once expiresAt has come, by the caller’s clock', async () => {
        const now = Date.now()
        const lastMoment = token(now)
        await store().putOneTimeToken(lastMoment)
        expect(await take(lastMoment, lastMoment.expiresAt - 1)).toEqual(lastMoment)

        const expired = token(now)
        await store().putOneTimeToken(expired)
        expect(await take(expired, expired.expiresAt)).toBeNull()
        expect(await take(expired, expired.expiresAt + DAY)).toBeNull()
      })

      it('gives a token to exactly one of 10 concurrent takes', async () => {
        const now = Date.now()
        const stored = token(now)
        await store().putOneTimeToken(stored)
        const results = await Promise.all(Array.from({ length: 10 }, () => take(stored, now)))
        expect(results.filter((result) => result !== null)).toEqual([stored])
      })

      it('drops a token, and ignores one that is not there', async () => {
        const now = Date.now()
        const dropped = token(now)
        const kept = token(now, { userId: dropped.userId, kind: 'email_verification' })
        await store().putOneTimeToken(dropped)
        await store().putOneTimeToken(kept)
        await store().dropOneTimeToken(dropped.userId, 'password_reset')
        await store().dropOneTimeToken(dropped.userId, 'password_reset')
        await store().dropOneTimeToken(randomId(), 'email_verification')
        expect(await take(dropped, now)).toBeNull()
        expect(await take(kept, now)).toEqual(kept)
      })

      it('isolates the caller from the stored token', async () => {
        const now = Date.now()
        const stored = token(now)
        const original = { ...stored }
        await store().putOneTimeToken(stored)
        stored.email = 'changed@example.test'
        expect(await take(original, now)).toEqual(original)
      })
    })

    describe('counters', () => {
      it('counts hits within a fixed window that starts at the first hit', async () => {
        const now = Date.now()
        const key = `login:${randomId()}`
        expect(await store().hit(key, MINUTE, now)).toEqual({ count: 1, resetAt: now + MINUTE })
        expect(await store().hit(key, MINUTE, now + 10 * SECOND)).toEqual({
          count: 2,
          resetAt: now + MINUTE,
        })
        expect(await store().hit(key, MINUTE, now + MINUTE - 1)).toEqual({
          count: 3,
          resetAt: now + MINUTE,
        })
      })

      it('starts a new window once the previous one has ended', async () => {
        const now = Date.now()
        const key = `login:${randomId()}`
        await store().hit(key, MINUTE, now)
        await store().hit(key, MINUTE, now + SECOND)
        expect(await store().hit(key, MINUTE, now + MINUTE)).toEqual({
          count: 1,
          resetAt: now + 2 * MINUTE,
        })
        expect(await store().hit(key, MINUTE, now + 5 * MINUTE)).toEqual({
          count: 1,
          resetAt: now + 6 * MINUTE,
        })
      })

      it('peeks without counting, and sees no window once it ended', async () => {
        const now = Date.now()
        const key = `login:${randomId()}`
        expect(await store().peek(key, now)).toEqual({ count: 0, resetAt: 0 })
        await store().hit(key, MINUTE, now)
        await store().hit(key, MINUTE, now + SECOND)
        expect(await store().peek(key, now + 2 * SECOND)).toEqual({
          count: 2,
          resetAt: now + MINUTE,
        })
        expect(await store().peek(key, now + 2 * SECOND)).toEqual({
          count: 2,
          resetAt: now + MINUTE,
        })
        expect(await store().peek(key, now + MINUTE)).toEqual({ count: 0, resetAt: 0 })
      })

      it('resets a counter and keeps others apart', async () => {
        const now = Date.now()
        const key = `login:${randomId()}`
        const other = `login:${randomId()}`
        await store().hit(key, MINUTE, now)
        await store().hit(key, MINUTE, now)
        await store().hit(other, MINUTE, now)

        await store().resetCounter(key)

        expect(await store().peek(key, now)).toEqual({ count: 0, resetAt: 0 })
        expect(await store().peek(other, now)).toEqual({ count: 1, resetAt: now + MINUTE })
        expect(await store().hit(key, MINUTE, now + SECOND)).toEqual({
          count: 1,
          resetAt: now + SECOND + MINUTE,
        })
        await store().resetCounter(`login:${randomId()}`)
      })

      it('counts every one of many concurrent hits', async () => {
        const now = Date.now()
        const key = `login:${randomId()}`
        const states = await Promise.all(
          Array.from({ length: 20 }, () => store().hit(key, MINUTE, now)),
        )
        expect(states.map((state) => state.count).sort((a, b) => a - b)).toEqual(
          Array.from({ length: 20 }, (_, index) => index + 1),
        )
        expect(await store().peek(key, now)).toEqual({ count: 20, resetAt: now + MINUTE })
      })
    })

    it('answers ping', async () => {
      await expect(store().ping()).resolves.toBeUndefined()
    })
  })
}
