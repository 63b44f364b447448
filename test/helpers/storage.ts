import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Client as PgClient } from 'pg'
import { postgresUrl, redisUrl } from './service-probes.js'

/**
 * Which stores a test server runs on. `TEST_STORES` picks the default, so the one HTTP
 * suite runs on every combination the README promises (vitest.config.ts sets it per project).
 */
export type StoreProfile = 'sqlite' | 'memory' | 'postgres' | 'postgres+redis'

const profiles: readonly StoreProfile[] = ['sqlite', 'memory', 'postgres', 'postgres+redis']

export const storeProfile: StoreProfile = profileOf(process.env['TEST_STORES'] ?? 'sqlite')

/** Store URLs of one test's own: a temporary file, a fresh PostgreSQL schema, a Redis prefix. */
export interface TestStorage {
  databaseUrl: string
  sessionStoreUrl: string
  /** Removes everything the test stored. */
  drop(): Promise<void>
}

export function createTestStorage(profile: StoreProfile = storeProfile): TestStorage {
  const suffix = randomBytes(6).toString('hex')
  switch (profile) {
    case 'memory':
      return { databaseUrl: 'memory:', sessionStoreUrl: 'memory:', drop: () => Promise.resolve() }
    case 'sqlite': {
      const directory = mkdtempSync(join(tmpdir(), 'baton-test-'))
      const url = `sqlite:${join(directory, 'baton.db')}`
      return {
        databaseUrl: url,
        sessionStoreUrl: url,
        drop: () => Promise.resolve(rmSync(directory, { recursive: true, force: true })),
      }
    }
    case 'postgres': {
      const schema = `baton_test_${suffix}`
      const url = postgresUrlWithSchema(schema)
      return { databaseUrl: url, sessionStoreUrl: url, drop: () => dropPostgresSchema(schema) }
    }
    case 'postgres+redis': {
      const schema = `baton_test_${suffix}`
      const prefix = `baton-test-${suffix}:`
      const redis = new URL(redisUrl)
      redis.searchParams.set('prefix', prefix)
      return {
        databaseUrl: postgresUrlWithSchema(schema),
        sessionStoreUrl: redis.toString(),
        async drop() {
          await Promise.all([dropPostgresSchema(schema), deleteRedisPrefix(prefix)])
        },
      }
    }
  }
}

export function postgresUrlWithSchema(schema: string, base = postgresUrl): string {
  const url = new URL(base)
  url.searchParams.set('schema', schema)
  return url.toString()
}

/** A connection of its own to the test database, closed when `body` is done. */
export async function withPostgresClient<T>(body: (client: PgClient) => Promise<T>): Promise<T> {
  const { default: pg } = await import('pg')
  const client = new pg.Client({ connectionString: postgresUrl })
  await client.connect()
  try {
    return await body(client)
  } finally {
    await client.end()
  }
}

export async function dropPostgresSchema(schema: string): Promise<void> {
  await withPostgresClient((client) => client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`))
}

export async function deleteRedisPrefix(prefix: string, url = redisUrl): Promise<void> {
  const { Redis } = await import('ioredis')
  const client = new Redis(url, { lazyConnect: true })
  await client.connect()
  try {
    let cursor = '0'
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      cursor = next
      if (keys.length > 0) await client.unlink(...keys)
    } while (cursor !== '0')
  } finally {
    client.disconnect()
  }
}

function profileOf(value: string): StoreProfile {
  const profile = profiles.find((candidate) => candidate === value)
  if (profile === undefined) {
    throw new Error(`TEST_STORES must be one of ${profiles.join(', ')}; got '${value}'`)
  }
  return profile
}
