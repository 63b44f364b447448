// The audit_events indexes of migration 4 on PostgreSQL. As shipped, that migration built them
// inside its transaction: on a big table past the migration's timeout, with logins (which record
// events) locked out meanwhile. A database upgraded from before it now gets them from
// CREATE INDEX CONCURRENTLY after the commit, and every start finishes a build cut off.
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, afterEach, expect, it } from 'vitest'
import { ConfigError } from '../../packages/server/src/core/errors.js'
import { openPostgresStore } from '../../packages/server/src/stores/postgres/index.js'
import type { PostgresStore } from '../../packages/server/src/stores/postgres/index.js'
import { migrations, migrationsTable } from '../../packages/server/src/stores/postgres/schema.js'
import { shippedPostgresMigrations } from '../fixtures/shipped-sql-migrations.js'
import { describeWith, postgresUrl } from '../helpers/services.js'
import {
  dropPostgresSchema,
  postgresUrlWithSchema,
  withPostgresClient,
} from '../helpers/storage.js'

const schemas: string[] = []
const open: PostgresStore[] = []
const clients: pg.Client[] = []

afterEach(async () => {
  await Promise.allSettled(open.splice(0).map((store) => store.close()))
  await Promise.allSettled(clients.splice(0).map((client) => client.end()))
})

afterAll(async () => {
  for (const schema of schemas) await dropPostgresSchema(schema)
})

function freshSchema(): string {
  const schema = `baton_test_idx_${randomBytes(5).toString('hex')}`
  schemas.push(schema)
  return schema
}

async function openStore(schema: string): Promise<PostgresStore> {
  const store = await openPostgresStore({ url: postgresUrlWithSchema(schema) })
  open.push(store)
  return store
}

async function connect(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: postgresUrl })
  await client.connect()
  clients.push(client)
  return client
}

const EVENTS = 20_000

/**
 * A schema as a release before issue 13 left it (the first three shipped migrations), with
 * `EVENTS` audit events: the database the upgrade used to time out on, smaller.
 */
async function schemaBeforeIssue13(): Promise<string> {
  const schema = freshSchema()
  await withPostgresClient(async (client) => {
    await client.query('BEGIN')
    await client.query(`CREATE SCHEMA "${schema}"`)
    await client.query(`SET LOCAL search_path TO "${schema}"`)
    await client.query(`
      CREATE TABLE ${migrationsTable} (
        version INTEGER PRIMARY KEY,
        applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
      )`)
    for (const [index, sql] of shippedPostgresMigrations.slice(0, 3).entries()) {
      await client.query(sql)
      await client.query(`INSERT INTO ${migrationsTable} (version) VALUES ($1)`, [index + 1])
    }
    await client.query(
      `INSERT INTO audit_events (type, at, user_id, session_id, ip, user_agent, detail)
       SELECT CASE WHEN n % 3 = 0 THEN 'login_failed' ELSE 'login_succeeded' END,
              1700000000000 + n, 'user-' || (n % 100), NULL, '203.0.113.7', 'old-agent', NULL
       FROM generate_series(1, ${EVENTS}) AS n`,
    )
    await client.query('COMMIT')
  })
  return schema
}

/** Every index of the schema's audit_events: whether PostgreSQL may read it, and its definition. */
async function eventIndexesOf(schema: string): Promise<Record<string, string>> {
  return withPostgresClient(async (client) => {
    const result = await client.query<{ name: string; valid: boolean; definition: string }>(
      `SELECT c.relname AS name, i.indisvalid AS valid, pg_get_indexdef(i.indexrelid) AS definition
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
       WHERE i.indrelid = $1::regclass ORDER BY c.relname`,
      [`"${schema}".audit_events`],
    )
    return Object.fromEntries(
      result.rows.map((row) => [
        row.name,
        `${row.valid ? 'valid' : 'INVALID'}: ${row.definition.replaceAll(`${schema}.`, '')}`,
      ]),
    )
  })
}

const builtIndexes = {
  audit_events_at_id: 'valid: CREATE INDEX audit_events_at_id ON audit_events USING btree (at, id)',
  audit_events_pkey:
    'valid: CREATE UNIQUE INDEX audit_events_pkey ON audit_events USING btree (id)',
  audit_events_type_at_id:
    'valid: CREATE INDEX audit_events_type_at_id ON audit_events USING btree (type, at, id)',
  audit_events_user_at_id:
    'valid: CREATE INDEX audit_events_user_at_id ON audit_events USING btree (user_id, at, id)',
}

async function versionsOf(schema: string): Promise<number[]> {
  return withPostgresClient(async (client) => {
    const result = await client.query<{ version: number }>(
      `SELECT version FROM "${schema}".${migrationsTable} ORDER BY version`,
    )
    return result.rows.map((row) => row.version)
  })
}

const allVersions = migrations.map((_, index) => index + 1)

/** The backend running a concurrent build on `schema`, once it waits (for a transaction). */
async function waitingBuilder(schema: string): Promise<number> {
  let pid: number | undefined
  await expect
    .poll(
      async () => {
        const result = await withPostgresClient((client) =>
          client.query<{ pid: number }>(
            `SELECT pid FROM pg_stat_activity
             WHERE query LIKE 'CREATE INDEX CONCURRENTLY%' AND query LIKE $1
               AND wait_event_type = 'Lock'`,
            [`%"${schema}".audit_events%`],
          ),
        )
        pid = result.rows[0]?.pid
        return pid
      },
      { timeout: 10_000, interval: 50 },
    )
    .toBeDefined()
  return pid!
}

/**
 * A transaction whose snapshot every concurrent build started after it must wait for: it holds
 * the build at its last step for as long as the test needs.
 */
async function snapshotHolder(): Promise<pg.Client> {
  const client = await connect()
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ')
  await client.query('SELECT 1')
  return client
}

await describeWith(['postgres'], 'PostgreSQL audit_events indexes', () => {
  it('exist and are valid after migrating a fresh schema', async () => {
    const schema = freshSchema()
    await openStore(schema)
    expect(await eventIndexesOf(schema)).toEqual(builtIndexes)
    expect(await versionsOf(schema)).toEqual(allVersions)
  })

  it('are built concurrently after the migration commits, events written meanwhile', async () => {
    const schema = await schemaBeforeIssue13()
    const holder = await snapshotHolder()
    const opening = openStore(schema)
    await waitingBuilder(schema)

    // Migration 4 is committed, and the table takes writes while its indexes are built.
    expect(await versionsOf(schema)).toEqual(allVersions)
    const writer = await connect()
    await writer.query(`SET statement_timeout = '2s'`)
    await writer.query(
      `INSERT INTO "${schema}".audit_events (type, at, user_id, actor) VALUES ('login_succeeded', $1, 'user-1', NULL)`,
      [Date.now()],
    )

    await holder.query('COMMIT')
    const store = await opening
    expect(await eventIndexesOf(schema)).toEqual(builtIndexes)
    const page = await store.listEvents({ type: 'login_failed', limit: 2 })
    expect(page.items).toHaveLength(2)
    expect(page.items[0]?.at).toBe(1_700_000_000_000 + EVENTS - (EVENTS % 3))
    const all = await withPostgresClient((client) =>
      client.query<{ count: number }>(
        `SELECT count(*)::int AS count FROM "${schema}".audit_events`,
      ),
    )
    expect(all.rows[0]?.count).toBe(EVENTS + 1)
  })

  it('drops and rebuilds an INVALID index left by a build that was cut off', async () => {
    const schema = await schemaBeforeIssue13()
    const holder = await snapshotHolder()
    const opening = openPostgresStore({ url: postgresUrlWithSchema(schema) })
    const failed = opening.then(
      () => {
        throw new Error('the store opened although its index build was cut off')
      },
      (error: unknown) => error,
    )
    const builder = await waitingBuilder(schema)
    await withPostgresClient((client) => client.query('SELECT pg_terminate_backend($1)', [builder]))
    expect(await failed).toBeInstanceOf(ConfigError)
    await holder.query('COMMIT')

    // What the cut-off start left: migration 4 committed, the first index INVALID, the others
    // missing, the ones they replace still there.
    expect(await versionsOf(schema)).toEqual(allVersions)
    const left = await eventIndexesOf(schema)
    expect(left).toMatchObject({
      audit_events_user_at_id: expect.stringMatching(/^INVALID: /) as unknown,
      audit_events_user_at: expect.stringMatching(/^valid: /) as unknown,
      audit_events_at: expect.stringMatching(/^valid: /) as unknown,
    })
    expect(left).not.toHaveProperty('audit_events_at_id')

    await openStore(schema)
    expect(await eventIndexesOf(schema)).toEqual(builtIndexes)
  })

  it('lets several instances migrate one fresh schema at once', async () => {
    const schema = freshSchema()
    await Promise.all(Array.from({ length: 4 }, () => openStore(schema)))
    expect(await eventIndexesOf(schema)).toEqual(builtIndexes)
    expect(await versionsOf(schema)).toEqual(allVersions)
  })

  it('lets several instances upgrade one schema with events at once', async () => {
    const schema = await schemaBeforeIssue13()
    const stores = await Promise.all(Array.from({ length: 4 }, () => openStore(schema)))
    await Promise.all(stores.map((store) => store.ping()))
    expect(await eventIndexesOf(schema)).toEqual(builtIndexes)
    expect(await versionsOf(schema)).toEqual(allVersions)
  })

  it('upgrade to the indexes and plans of a fresh schema', async () => {
    const fresh = freshSchema()
    await openStore(fresh)
    const upgraded = await schemaBeforeIssue13()
    const store = await openStore(upgraded)
    expect(await eventIndexesOf(upgraded)).toEqual(await eventIndexesOf(fresh))
    // The listings read an index, not the whole table.
    const plan = await withPostgresClient(async (client) => {
      await client.query(`ANALYZE "${upgraded}".audit_events`)
      const result = await client.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT id FROM "${upgraded}".audit_events WHERE type = 'login_failed'
         ORDER BY at DESC, id DESC LIMIT 10`,
      )
      return result.rows.map((row) => row['QUERY PLAN']).join('\n')
    })
    expect(plan).toContain('audit_events_type_at_id')
    expect(plan).not.toMatch(/Seq Scan|Sort/)
    expect((await store.listEvents({ userId: 'user-7', limit: 3 })).items).toHaveLength(3)
  })
})
