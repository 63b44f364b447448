import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { ConfigError, StoreUnavailableError } from '../../packages/server/src/core/errors.js'
import { randomId } from '../../packages/server/src/core/ids.js'
import { openSqliteStore } from '../../packages/server/src/stores/sqlite/index.js'
import type { SqliteStore } from '../../packages/server/src/stores/sqlite/index.js'
import { migrations } from '../../packages/server/src/stores/sqlite/schema.js'
import { describeDatabaseStoreContract } from '../contract/database-store.contract.js'
import { describeSessionStoreContract } from '../contract/session-store.contract.js'
import { refOf, rotation, session } from '../helpers/session-fixtures.js'

const tempDirs: string[] = []

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'baton-sqlite-'))
  tempDirs.push(dir)
  return dir
}

afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
})

describeSessionStoreContract('sqlite file', () => {
  const store = openSqliteStore({ path: join(tempDir(), 'sessions.db') })
  return Promise.resolve({ store, cleanup: () => store.close() })
})

describeDatabaseStoreContract('sqlite file', () => {
  const store = openSqliteStore({ path: join(tempDir(), 'database.db') })
  return Promise.resolve({ store, cleanup: () => store.close() })
})

describeSessionStoreContract('sqlite :memory:', () => {
  const store = openSqliteStore({ path: ':memory:' })
  return Promise.resolve({ store, cleanup: () => store.close() })
})

describeDatabaseStoreContract('sqlite :memory:', () => {
  const store = openSqliteStore({ path: ':memory:' })
  return Promise.resolve({ store, cleanup: () => store.close() })
})

describe('sqlite store', () => {
  const open: SqliteStore[] = []
  const raw: Database.Database[] = []

  function openStore(path: string): SqliteStore {
    const store = openSqliteStore({ path })
    open.push(store)
    return store
  }

  function openRaw(path: string): Database.Database {
    const db = new Database(path)
    raw.push(db)
    return db
  }

  afterEach(async () => {
    vi.useRealTimers()
    for (const db of raw.splice(0)) db.close()
    for (const store of open.splice(0)) await store.close()
  })

  it('keeps data across close and reopen of the same file', async () => {
    const path = join(tempDir(), 'baton.db')
    const now = Date.now()
    const record = session(now)
    const userId = randomId()
    const user = {
      id: userId,
      email: `${userId}@example.test`,
      passwordHash: 'hash',
      roles: ['admin'],
      createdAt: now,
      disabledAt: null,
      emailVerifiedAt: null,
      passwordChangedAt: null,
      passwordChangedIn: null,
    }

    const first = openStore(path)
    await first.create(record)
    await first.createUser(user)
    await first.revoke(refOf(record), { reason: 'logout', revokedAt: now, denyUntil: now + 60_000 })
    await first.hit('login:x', 60_000, now)
    await first.close()

    const second = openStore(path)
    expect(await second.get(refOf(record), now)).toEqual({
      ...record,
      revokedAt: now,
      revokedReason: 'logout',
    })
    expect(await second.findUserById(userId)).toEqual(user)
    expect(await second.isDenied(refOf(record), now)).toBe(true)
    expect(await second.peek('login:x', now)).toEqual({ count: 1, resetAt: now + 60_000 })
  })

  it('creates a missing directory', async () => {
    const path = join(tempDir(), 'nested', 'deeper', 'baton.db')
    const store = openStore(path)
    await store.ping()
    expect(openRaw(path).pragma('user_version', { simple: true })).toBe(migrations.length)
  })

  it('names the variable and the path when the file cannot be created', () => {
    const file = join(tempDir(), 'a-regular-file')
    writeFileSync(file, 'not a directory')
    const path = join(file, 'x', 'baton.db')

    expect(() => openSqliteStore({ path })).toThrow(ConfigError)
    expect(() => openSqliteStore({ path })).toThrow(
      `BATON_DATABASE_URL: cannot open SQLite database at ${path}: `,
    )
    try {
      openSqliteStore({ path, variable: 'BATON_SESSION_STORE_URL' })
      expect.unreachable('opening under a regular file must fail')
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError)
      expect((error as ConfigError).variable).toBe('BATON_SESSION_STORE_URL')
      expect((error as ConfigError).message).toContain(path)
    }
  })

  it('refuses a file that is not a SQLite database', () => {
    const path = join(tempDir(), 'garbage.db')
    writeFileSync(path, 'this is not a database, it is plain text long enough to have a header')
    expect(() => openSqliteStore({ path })).toThrow(/BATON_DATABASE_URL: cannot open SQLite/)
  })

  it('refuses a schema newer than this build', () => {
    const path = join(tempDir(), 'future.db')
    const db = openRaw(path)
    db.pragma(`user_version = ${migrations.length + 1}`)
    db.close()
    expect(() => openSqliteStore({ path })).toThrow(/newer than this build/)
  })

  it('runs in WAL mode with a 1 s busy timeout', async () => {
    const path = join(tempDir(), 'baton.db')
    const store = openStore(path)
    await store.ping()
    expect(openRaw(path).pragma('journal_mode', { simple: true })).toBe('wal')
  })

  it('rejects with StoreUnavailableError once closed, and closes idempotently', async () => {
    const store = openSqliteStore({ path: join(tempDir(), 'baton.db') })
    await store.close()
    await store.close()
    const now = Date.now()
    // Each call made only when its turn comes: a rotation answers a turn later, and a rejection
    // made earlier and not yet awaited by then would count as unhandled.
    for (const call of [
      () => store.ping(),
      () => store.get({ userId: randomId(), sessionId: randomId() }, now),
      () => store.rotate({ userId: randomId(), sessionId: randomId() }, randomId(), rotation(now)),
      () => store.hit('key', 1000, now),
      () =>
        store.createUser({
          id: randomId(),
          email: 'a@b.c',
          passwordHash: 'h',
          roles: [],
          createdAt: now,
          disabledAt: null,
          emailVerifiedAt: null,
          passwordChangedAt: null,
          passwordChangedIn: null,
        }),
      () => store.listEvents({ limit: 1 }),
    ]) {
      const attempt = call()
      await expect(attempt).rejects.toBeInstanceOf(StoreUnavailableError)
      await expect(attempt).rejects.toMatchObject({ code: 'store_unavailable' })
    }
  })

  it('reports a locked database as StoreUnavailableError, not as a hang', async () => {
    const path = join(tempDir(), 'baton.db')
    const store = openStore(path)
    const now = Date.now()
    const record = session(now)
    await store.create(record)
    const other = openRaw(path)
    other.exec('BEGIN IMMEDIATE')

    const started = Date.now()
    const attempt = store.revoke(refOf(record), { reason: 'x', revokedAt: now, denyUntil: now + 1 })
    await expect(attempt).rejects.toBeInstanceOf(StoreUnavailableError)
    await expect(attempt).rejects.toMatchObject({ detail: 'sqlite: revoke' })
    expect(Date.now() - started).toBeLessThan(2000)

    other.exec('ROLLBACK')
    expect(
      await store.revoke(refOf(record), { reason: 'x', revokedAt: now, denyUntil: now + 1 }),
    ).toBe(true)
  })

  it('commits rotations of one turn together, and fails them together on a locked database', async () => {
    const path = join(tempDir(), 'baton.db')
    const store = openStore(path)
    const now = Date.now()
    const records = [session(now), session(now), session(now)]
    for (const record of records) await store.create(record)
    const other = openRaw(path)
    other.exec('BEGIN IMMEDIATE')

    const nexts = records.map(() => rotation(now + 1))
    const attempts = records.map((record, index) =>
      store.rotate(refOf(record), record.currentJti, nexts[index]!),
    )
    for (const attempt of attempts) {
      await expect(attempt).rejects.toBeInstanceOf(StoreUnavailableError)
      await expect(attempt).rejects.toMatchObject({ detail: 'sqlite: rotate' })
    }
    // None of them half-happened: every session still has its first token.
    for (const record of records) {
      expect((await store.get(refOf(record), now))?.currentJti).toBe(record.currentJti)
    }

    other.exec('ROLLBACK')
    const retried = await Promise.all(
      records.map((record, index) => store.rotate(refOf(record), record.currentJti, nexts[index]!)),
    )
    expect(retried.map((rotated) => rotated?.currentJti)).toEqual(nexts.map((next) => next.jti))
  })

  it('lets exactly one of two connections to the same file rotate', async () => {
    const path = join(tempDir(), 'baton.db')
    const a = openStore(path)
    const b = openStore(path)
    const now = Date.now()
    for (let round = 0; round < 25; round += 1) {
      const record = session(now)
      await (round % 2 === 0 ? a : b).create(record)
      const attempts = [rotation(now + 1), rotation(now + 1), rotation(now + 1), rotation(now + 1)]
      const results = await Promise.all(
        attempts.map((next, index) =>
          (index % 2 === 0 ? a : b).rotate(refOf(record), record.currentJti, next),
        ),
      )
      const winners = results.filter((result) => result !== null)
      expect(winners).toHaveLength(1)
      expect((await b.get(refOf(record), now + 1))?.currentJti).toBe(winners[0]?.currentJti)
      expect((await a.get(refOf(record), now + 1))?.currentJti).toBe(winners[0]?.currentJti)
    }
  })

  it('sees another connection’s revocation and new users through the read cache', async () => {
    const path = join(tempDir(), 'baton.db')
    const a = openSqliteStore({ path, readCacheRecheckInterval: 0 })
    const b = openSqliteStore({ path, readCacheRecheckInterval: 0 })
    const now = Date.now()
    const record = session(now)
    await a.create(record)
    expect(await a.isDenied(refOf(record), now)).toBe(false) // cached as not denied
    await b.revoke(refOf(record), { reason: 'elsewhere', revokedAt: now, denyUntil: now + 60_000 })
    expect(await a.isDenied(refOf(record), now)).toBe(true)

    const user = {
      id: randomId(),
      email: `${randomId()}@example.com`,
      passwordHash: 'h',
      roles: ['user'],
      createdAt: now,
      disabledAt: null,
      emailVerifiedAt: null,
      passwordChangedAt: null,
      passwordChangedIn: null,
    }
    expect(await a.findUserById(user.id)).toBeNull()
    await b.createUser(user)
    expect(await a.findUserById(user.id)).toEqual(user)
    await Promise.all([a.close(), b.close()])
  })

  it('serves repeated deny-list and user reads from memory, and its own writes at once', async () => {
    const path = join(tempDir(), 'baton.db')
    const store = openSqliteStore({ path })
    const now = Date.now()
    const record = session(now)
    await store.create(record)
    const user = {
      id: record.userId,
      email: `${randomId()}@example.com`,
      passwordHash: 'h',
      roles: ['user'],
      createdAt: now,
      disabledAt: null,
      emailVerifiedAt: null,
      passwordChangedAt: null,
      passwordChangedIn: null,
    }
    await store.createUser(user)
    expect(await store.isDenied(refOf(record), now)).toBe(false)
    const found = await store.findUserById(user.id)
    found!.roles.push('admin') // a caller mutating its copy changes nothing stored or cached
    // Another connection changes the rows behind the cache's back, without committing through
    // this store: within the recheck interval the cache answers (no read at all).
    const raw = openRaw(path)
    raw.prepare("UPDATE users SET email = 'changed@example.com' WHERE id = ?").run(user.id)
    expect((await store.findUserById(user.id))?.email).toBe(user.email)
    expect((await store.findUserById(user.id))?.roles).toEqual(['user'])
    raw.close()
    // Its own writes are seen at once.
    await store.revoke(refOf(record), { reason: 'logout', revokedAt: now, denyUntil: now + 60_000 })
    expect(await store.isDenied(refOf(record), now)).toBe(true)
    await store.close()
  })

  it('sees its own user changes and deletions at once through the read cache', async () => {
    // A recheck interval far longer than the test: only the store's own invalidation can help.
    const store = openSqliteStore({
      path: join(tempDir(), 'baton.db'),
      readCacheRecheckInterval: 60_000,
    })
    const now = Date.now()
    const user = {
      id: randomId(),
      email: `${randomId()}@example.com`,
      passwordHash: 'h',
      roles: ['user'],
      createdAt: now,
      disabledAt: null,
      emailVerifiedAt: null,
      passwordChangedAt: null,
      passwordChangedIn: null,
    }
    await store.createUser(user)
    expect(await store.findUserById(user.id)).toEqual(user) // cached
    expect(await store.updateUser(user.id, { disabledAt: now, roles: ['user', 'admin'] })).toBe(
      true,
    )
    expect(await store.findUserById(user.id)).toEqual({
      ...user,
      disabledAt: now,
      roles: ['user', 'admin'],
    })
    expect(await store.deleteUser(user.id)).toBe(true)
    expect(await store.findUserById(user.id)).toBeNull()
    await store.close()
  })

  it('sees another connection’s user changes and deletions through the read cache', async () => {
    const path = join(tempDir(), 'baton.db')
    const a = openStore(path)
    const b = openStore(path)
    const now = Date.now()
    const user = {
      id: randomId(),
      email: `${randomId()}@example.com`,
      passwordHash: 'h',
      roles: ['user'],
      createdAt: now,
      disabledAt: null,
      emailVerifiedAt: null,
      passwordChangedAt: null,
      passwordChangedIn: null,
    }
    await a.createUser(user)
    expect(await a.findUserById(user.id)).toEqual(user) // cached
    await b.updateUser(user.id, { emailVerifiedAt: now })
    // Within the default 10 ms recheck interval.
    await new Promise((resolve) => setTimeout(resolve, 15))
    expect(await a.findUserById(user.id)).toEqual({ ...user, emailVerifiedAt: now })
    await b.deleteUser(user.id)
    await new Promise((resolve) => setTimeout(resolve, 15))
    expect(await a.findUserById(user.id)).toBeNull()
  })

  it('sweeps expired rows every minute by the clock the caller passes in', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
    const path = join(tempDir(), 'baton.db')
    const store = openStore(path)
    const now = Date.now()
    const expired = session(now, { purgeAt: now + 1000 })
    const live = session(now)
    await store.create(expired)
    await store.create(live)
    await store.revoke(refOf(live), { reason: 'x', revokedAt: now, denyUntil: now + 1000 })
    await store.hit('short', 1000, now)
    await store.hit('long', 60_000, now)
    await store.insertKey({
      kid: 'retired-key',
      alg: 'ES256',
      state: 'retired',
      privateJwk: '{}',
      publicJwk: '{}',
      createdAt: now - 2000,
      activatedAt: now - 2000,
      retiredAt: now - 1000,
      removeAfter: now,
    })
    const db = openRaw(path)
    const count = (table: string): unknown =>
      db.prepare(`SELECT count(*) FROM ${table}`).pluck().get()

    vi.advanceTimersByTime(60_000)
    expect(count('sessions')).toBe(2)

    expect(await store.get(refOf(live), now + 2000)).not.toBeNull()
    vi.advanceTimersByTime(60_000)

    expect(db.prepare('SELECT id FROM sessions').pluck().all()).toEqual([live.id])
    expect(count('session_denylist')).toBe(0)
    expect(db.prepare('SELECT key FROM counters').pluck().all()).toEqual(['long'])
    expect(count('signing_keys')).toBe(1)
  })
})
