import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { ConfigError, StoreUnavailableError } from '../../packages/server/src/core/errors.js'
import { randomId } from '../../packages/server/src/core/ids.js'
import { openStores } from '../../packages/server/src/stores/from-url.js'
import type { OpenStores } from '../../packages/server/src/stores/from-url.js'

const driver = vi.hoisted(() => ({ loaded: false }))

// Passes the real driver through, noting whether anything asked for it.
vi.mock('better-sqlite3', async (importOriginal) => {
  driver.loaded = true
  return importOriginal()
})

const dir = mkdtempSync(join(tmpdir(), 'baton-from-url-'))
const opened: OpenStores[] = []

async function open(databaseUrl: string, sessionStoreUrl: string): Promise<OpenStores> {
  const stores = await openStores({ databaseUrl, sessionStoreUrl })
  opened.push(stores)
  return stores
}

async function configError(databaseUrl: string, sessionStoreUrl: string): Promise<ConfigError> {
  try {
    opened.push(await openStores({ databaseUrl, sessionStoreUrl }))
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return error as ConfigError
  }
  throw new Error(`opening ${databaseUrl} and ${sessionStoreUrl} should have failed`)
}

/** Writes a user to the database and a counter to the session store; returns the user's id. */
async function roundTrip(stores: OpenStores): Promise<string> {
  const now = Date.now()
  const id = randomId()
  expect(
    await stores.database.createUser({
      id,
      email: `${id}@example.test`,
      passwordHash: 'hash',
      roles: ['user'],
      createdAt: now,
      disabledAt: null,
      emailVerifiedAt: null,
      passwordChangedAt: null,
      passwordChangedIn: null,
    }),
  ).toBe(true)
  expect((await stores.database.findUserById(id))?.roles).toEqual(['user'])
  expect(await stores.sessions.hit(`login:${id}`, 60_000, now)).toEqual({
    count: 1,
    resetAt: now + 60_000,
  })
  return id
}

afterEach(async () => {
  for (const stores of opened.splice(0)) await stores.close()
})

afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

describe('openStores', () => {
  // First in the file: every later test may load the driver.
  it('opens one memory store for both when both say memory:, without loading SQLite', async () => {
    const stores = await open('memory:', 'memory:')
    expect(stores.sessions).toBe(stores.database)
    await roundTrip(stores)
    expect(driver.loaded).toBe(false)
  })

  it('opens one SQLite connection for both when both name the same file', async () => {
    const path = join(dir, 'shared', 'baton.db')
    const stores = await open(`sqlite:${path}`, `sqlite:${path}`)
    expect(stores.sessions).toBe(stores.database)
    await roundTrip(stores)
  })

  it('shares a file named by a relative and an absolute path', async () => {
    const path = join(dir, 'spelled-twice.db')
    const stores = await open(`sqlite:${path}`, `sqlite:./${relative(process.cwd(), path)}`)
    expect(stores.sessions).toBe(stores.database)
  })

  it('keeps data in the SQLite file across opens', async () => {
    const url = `sqlite:${join(dir, 'persist.db')}`
    const id = randomId()
    const first = await open(url, url)
    await first.database.createUser({
      id,
      email: `${id}@example.test`,
      passwordHash: 'hash',
      roles: [],
      createdAt: Date.now(),
      disabledAt: null,
      emailVerifiedAt: null,
      passwordChangedAt: null,
      passwordChangedIn: null,
    })
    await first.close()
    const second = await open(url, url)
    expect(await second.database.findUserById(id)).not.toBeNull()
  })

  it('opens separate stores for different URLs', async () => {
    const path = join(dir, 'database.db')
    const stores = await open(`sqlite:${path}`, 'memory:')
    expect(stores.sessions).not.toBe(stores.database)
    const id = await roundTrip(stores)
    expect(driver.loaded).toBe(true)
    const { openSqliteStore } = await import('../../packages/server/src/stores/sqlite/index.js')
    const file = openSqliteStore({ path })
    try {
      expect(await file.findUserById(id)).not.toBeNull()
      expect(await file.peek(`login:${id}`, Date.now())).toEqual({ count: 0, resetAt: 0 })
    } finally {
      await file.close()
    }
  })

  it('opens sqlite::memory:', async () => {
    const stores = await open('sqlite::memory:', 'sqlite::memory:')
    expect(stores.sessions).toBe(stores.database)
    await roundTrip(stores)
  })

  it('closes every store, once', async () => {
    const stores = await openStores({
      databaseUrl: `sqlite:${join(dir, 'closing.db')}`,
      sessionStoreUrl: 'memory:',
    })
    await stores.close()
    await stores.close()
    await expect(stores.database.ping()).rejects.toBeInstanceOf(StoreUnavailableError)
    await expect(stores.sessions.ping()).rejects.toBeInstanceOf(StoreUnavailableError)
  })

  it('names the variable whose SQLite file cannot be opened', async () => {
    const file = join(dir, 'regular-file')
    writeFileSync(file, '')
    const database = await configError(`sqlite:${join(file, 'baton.db')}`, 'memory:')
    expect(database.variable).toBe('BATON_DATABASE_URL')
    const sessions = await configError('memory:', `sqlite:${join(file, 'sessions.db')}`)
    expect(sessions.variable).toBe('BATON_SESSION_STORE_URL')
    expect(sessions.message).toContain(join(file, 'sessions.db'))
  })

  it('refuses Redis for the database', async () => {
    for (const url of [
      'redis://localhost:6379',
      'rediss://localhost:6380',
      'redis-cluster://a:7000',
    ]) {
      const error = await configError(url, 'memory:')
      expect(error.variable).toBe('BATON_DATABASE_URL')
      expect(error.message).toContain('sessions only')
    }
  })

  it.each([
    ['mysql://localhost/baton', 'memory:', 'BATON_DATABASE_URL'],
    ['', 'memory:', 'BATON_DATABASE_URL'],
    ['./data/baton.db', 'memory:', 'BATON_DATABASE_URL'],
    ['sqlite:', 'memory:', 'BATON_DATABASE_URL'],
    ['memory:', 'memory:extra', 'BATON_SESSION_STORE_URL'],
    ['memory:', 'sqlite:', 'BATON_SESSION_STORE_URL'],
    ['memory:', 'not a url', 'BATON_SESSION_STORE_URL'],
  ])('refuses %j / %j naming %s', async (databaseUrl, sessionStoreUrl, variable) => {
    const error = await configError(databaseUrl, sessionStoreUrl)
    expect(error.variable).toBe(variable)
    expect(error.message.startsWith(`${variable}: `)).toBe(true)
  })

  it('never echoes an unsupported URL, which may carry a password', async () => {
    const error = await configError('mysql://baton:s3cret@db.internal/baton', 'memory:')
    expect(error.message).not.toContain('s3cret')
    const redis = await configError('redis://baton:s3cret@cache.internal', 'memory:')
    expect(redis.message).not.toContain('s3cret')
    const typo = await configError('memory:', 'redis//baton:s3cret@cache.internal')
    expect(typo.message).not.toContain('s3cret')
  })
})
