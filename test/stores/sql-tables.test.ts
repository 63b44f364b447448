// The SQL tables are described once (stores/sql-tables.ts) and rendered per dialect. What the
// renderings create must be exactly what the migrations created when they shipped, and a
// database made by those shipped migrations must keep working with today's stores.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { openPostgresStore } from '../../packages/server/src/stores/postgres/index.js'
import {
  migrations as postgresMigrations,
  migrationsTable,
} from '../../packages/server/src/stores/postgres/schema.js'
import {
  addColumn,
  createTable,
  oneTimeTokens,
  users,
  type Table,
} from '../../packages/server/src/stores/sql-tables.js'
import { openSqliteStore } from '../../packages/server/src/stores/sqlite/index.js'
import {
  migrate as migrateSqlite,
  migrations as sqliteMigrations,
} from '../../packages/server/src/stores/sqlite/schema.js'
import { describeDatabaseStoreContract } from '../contract/database-store.contract.js'
import { describeSessionStoreContract } from '../contract/session-store.contract.js'
import {
  shippedPostgresMigrations,
  shippedSqliteMigrations,
} from '../fixtures/shipped-sql-migrations.js'
import type {
  DatabaseStore,
  SessionStore,
  UserRecord,
} from '../../packages/server/src/core/ports.js'
import { describeWith } from '../helpers/services.js'
import {
  dropPostgresSchema,
  postgresUrlWithSchema,
  withPostgresClient,
} from '../helpers/storage.js'

const tempDirs: string[] = []
const schemas: string[] = []

afterAll(async () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
  for (const schema of schemas) await dropPostgresSchema(schema)
})

function tempFile(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'baton-sql-tables-'))
  tempDirs.push(dir)
  return join(dir, name)
}

/** A SQLite file as the shipped migrations (or the given ones) left it. */
function shippedSqliteFile(migrations: readonly string[] = shippedSqliteMigrations): string {
  const path = tempFile('shipped.db')
  const db = new Database(path)
  for (const sql of migrations) db.exec(sql)
  db.pragma(`user_version = ${migrations.length}`)
  db.close()
  return path
}

/**
 * Rows as a release before issue 13 wrote them, in the tables every release has: the stores
 * must read them after the migration as "never disabled, not verified, done by the user".
 */
const oldRows = {
  userId: 'old-user',
  email: 'old-user@example.test',
  createdAt: 1_700_000_000_000,
  sessionId: 'old-session',
  events: [
    { type: 'login_succeeded', at: 1_700_000_000_100 },
    { type: 'logout', at: 1_700_000_000_200 },
  ],
}

function oldRowInserts(roles: string): string[] {
  const { userId, email, createdAt, sessionId, events } = oldRows
  const session = `'${sessionId}', '${userId}', ${createdAt}, ${createdAt}, ${createdAt + 90 * 86_400_000},
    '203.0.113.7', 'old-agent', 'openid', NULL, 'old-jti', ${createdAt / 1000},
    ${createdAt / 1000 + 86_400}, NULL, NULL, NULL, NULL, ${createdAt + 90 * 86_400_000}`
  return [
    `INSERT INTO users (id, email, password_hash, roles, created_at)
     VALUES ('${userId}', '${email}', 'old-hash', ${roles}, ${createdAt})`,
    ...events.map(
      ({ type, at }) =>
        `INSERT INTO audit_events (type, at, user_id, session_id, ip, user_agent, detail)
         VALUES ('${type}', ${at}, '${userId}', '${sessionId}', '203.0.113.7', 'old-agent', NULL)`,
    ),
    `INSERT INTO sessions (
       id, user_id, created_at, last_used_at, expires_at, ip, user_agent, scope, client_id,
       current_jti, current_issued_at, current_expires_at, previous_jti, rotated_at, revoked_at,
       revoked_reason, purge_at
     ) VALUES (${session})`,
  ]
}

/** What a store must read, and may do, on a database that held `oldRows` before migrating. */
async function expectOldRowsServed(store: DatabaseStore & SessionStore): Promise<void> {
  const { userId, email, createdAt, sessionId, events } = oldRows
  const user: UserRecord = {
    id: userId,
    email,
    passwordHash: 'old-hash',
    roles: ['user', 'admin'],
    createdAt,
    disabledAt: null,
    emailVerifiedAt: null,
    passwordChangedAt: null,
    passwordChangedIn: null,
  }
  expect(await store.findUserById(userId)).toEqual(user)
  expect(await store.findUserByEmail(email)).toEqual(user)
  expect(await store.listUsers({ limit: 10 })).toEqual({ items: [user], next: null })
  const listed = await store.listEvents({ userId, limit: 10 })
  expect(listed.items.map(({ type, at, actor }) => ({ type, at, actor }))).toEqual(
    [...events].reverse().map((event) => ({ ...event, actor: null })),
  )
  expect((await store.listEvents({ type: 'logout', limit: 10 })).items).toHaveLength(1)
  const [first] = listed.items.slice(-1)
  expect((await store.listEvents({ afterId: first!.id, limit: 10 })).items).toHaveLength(1)
  // Written anew, old rows and new ones side by side.
  const at = createdAt + 1000
  await store.record({
    type: 'user_disabled',
    at,
    userId,
    sessionId: null,
    ip: null,
    userAgent: null,
    actor: 'cli',
    detail: null,
  })
  expect((await store.listEvents({ userId, limit: 1 })).items[0]).toMatchObject({ actor: 'cli' })
  expect(await store.updateUser(userId, { disabledAt: at, emailVerifiedAt: at })).toBe(true)
  expect(await store.findUserById(userId)).toEqual({ ...user, disabledAt: at, emailVerifiedAt: at })
  expect(await store.purgeEvents(createdAt + 150, 10)).toBe(1)
  const now = createdAt + 2000
  expect((await store.listForUser(userId, now)).map((session) => session.id)).toEqual([sessionId])
  const token = {
    userId,
    kind: 'password_reset' as const,
    tokenHash: 'sha256:old',
    email,
    createdAt: now,
    expiresAt: now + 60_000,
  }
  await store.putOneTimeToken(token)
  expect(await store.takeOneTimeToken(userId, 'password_reset', 'sha256:old', now)).toEqual(token)
  expect(await store.deleteUser(userId)).toBe(true)
}

/** SQLite keeps each CREATE as written; spacing is all that may differ. */
function sqliteSchemaOf(path: string): string[] {
  const db = new Database(path, { readonly: true })
  try {
    const rows = db
      .prepare(
        `SELECT type, name, tbl_name, sql FROM sqlite_master
         WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name`,
      )
      .all() as { type: string; name: string; tbl_name: string; sql: string | null }[]
    const normalise = (sql: string | null) =>
      (sql ?? '')
        .replace(/\s+/g, ' ')
        .replace(/\( /g, '(')
        .replace(/ \)/g, ')')
        .replace(/;$/, '')
        .trim()
    return rows.map((row) => `${row.type} ${row.name} on ${row.tbl_name}: ${normalise(row.sql)}`)
  } finally {
    db.close()
  }
}

describe('SQL table descriptions', () => {
  it('render each column kind in the type each dialect needs', () => {
    expect(createTable(users, 'sqlite')).toContain('roles TEXT NOT NULL')
    expect(createTable(users, 'postgres')).toContain('roles TEXT[] NOT NULL')
    expect(createTable(users, 'postgres')).toContain('created_at BIGINT NOT NULL')
    expect(createTable(oneTimeTokens, 'postgres')).toContain('PRIMARY KEY (user_id, kind)')
    expect(addColumn('users', { name: 'disabled_at', kind: 'integer' }, 'postgres')).toBe(
      'ALTER TABLE users ADD COLUMN disabled_at BIGINT;',
    )
    // A NOT NULL column cannot be added to a table that has rows.
    expect(() =>
      addColumn('users', { name: 'x', kind: 'integer', notNull: true }, 'sqlite'),
    ).toThrow()
    const identity: Table = { name: 'log', columns: [{ name: 'id', kind: 'identity' }] }
    expect(createTable(identity, 'sqlite')).toContain('id INTEGER PRIMARY KEY AUTOINCREMENT')
    expect(createTable(identity, 'postgres')).toContain(
      'id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY',
    )
  })

  it('SQLite: today’s shipped migrations create exactly the schema they did when they shipped', () => {
    expect(sqliteMigrations.length).toBeGreaterThanOrEqual(shippedSqliteMigrations.length)
    const today = shippedSqliteFile(sqliteMigrations.slice(0, shippedSqliteMigrations.length))
    const shipped = sqliteSchemaOf(shippedSqliteFile())
    expect(shipped.length).toBeGreaterThan(8)
    expect(sqliteSchemaOf(today)).toEqual(shipped)
  })

  it('SQLite: a database made by the shipped migrations migrates to the schema of a new one', async () => {
    const path = shippedSqliteFile()
    const store = openSqliteStore({ path })
    await store.close()
    const db = new Database(path, { readonly: true })
    expect(db.pragma('user_version', { simple: true })).toBe(sqliteMigrations.length)
    db.close()
    const fresh = tempFile('fresh.db')
    const freshDb = new Database(fresh)
    expect(migrateSqlite(freshDb)).toBe(sqliteMigrations.length)
    freshDb.close()
    expect(sqliteSchemaOf(path)).toEqual(sqliteSchemaOf(fresh))
  })

  it('SQLite: rows written before the migration read and change as new ones do', async () => {
    const path = shippedSqliteFile()
    const db = new Database(path)
    for (const sql of oldRowInserts(`'["user","admin"]'`)) db.exec(sql)
    db.close()
    const store = openSqliteStore({ path })
    try {
      await expectOldRowsServed(store)
    } finally {
      await store.close()
    }
  })
})

describeSessionStoreContract('sqlite made by the shipped migrations', () => {
  const store = openSqliteStore({ path: shippedSqliteFile() })
  return Promise.resolve({ store, cleanup: () => store.close() })
})

describeDatabaseStoreContract('sqlite made by the shipped migrations', () => {
  const store = openSqliteStore({ path: shippedSqliteFile() })
  return Promise.resolve({ store, cleanup: () => store.close() })
})

function freshSchema(): string {
  const schema = `baton_test_ddl_${randomBytes(5).toString('hex')}`
  schemas.push(schema)
  return schema
}

/** A PostgreSQL schema as the shipped migrations (or the given ones) left it, bookkeeping included. */
async function shippedPostgresSchema(
  migrations: readonly string[] = shippedPostgresMigrations,
  rows: readonly string[] = [],
): Promise<string> {
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
    for (const [index, sql] of migrations.entries()) {
      await client.query(sql)
      await client.query(`INSERT INTO ${migrationsTable} (version) VALUES ($1)`, [index + 1])
    }
    for (const sql of rows) await client.query(sql)
    await client.query('COMMIT')
  })
  return schema
}

/** Columns, constraints, indexes, triggers and functions of a schema, with its name taken out. */
async function postgresSchemaOf(schema: string): Promise<string[]> {
  return withPostgresClient(async (client) => {
    const anonymise = (text: string) => text.replaceAll(`"${schema}"`, 'S').replaceAll(schema, 'S')
    const columns = await client.query<Record<string, string>>(
      `SELECT table_name, column_name, ordinal_position, data_type, udt_name, is_nullable,
              column_default, is_identity, identity_generation
       FROM information_schema.columns WHERE table_schema = $1
       ORDER BY table_name, ordinal_position`,
      [schema],
    )
    const constraints = await client.query<Record<string, string>>(
      `SELECT rel.relname, con.conname, pg_get_constraintdef(con.oid) AS definition
       FROM pg_constraint con
       JOIN pg_class rel ON rel.oid = con.conrelid
       JOIN pg_namespace ns ON ns.oid = rel.relnamespace
       WHERE ns.nspname = $1 ORDER BY rel.relname, con.conname`,
      [schema],
    )
    const indexes = await client.query<Record<string, string>>(
      `SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = $1
       ORDER BY tablename, indexname`,
      [schema],
    )
    const functions = await client.query<Record<string, string>>(
      `SELECT p.proname, pg_get_functiondef(p.oid) AS definition
       FROM pg_proc p JOIN pg_namespace ns ON ns.oid = p.pronamespace
       WHERE ns.nspname = $1 ORDER BY p.proname`,
      [schema],
    )
    // pg_trigger rather than information_schema.triggers, which leaves out TRUNCATE triggers.
    const triggers = await client.query<Record<string, string>>(
      `SELECT tgname, pg_get_triggerdef(t.oid) AS definition
       FROM pg_trigger t JOIN pg_class rel ON rel.oid = t.tgrelid
       JOIN pg_namespace ns ON ns.oid = rel.relnamespace
       WHERE ns.nspname = $1 AND NOT t.tgisinternal ORDER BY tgname`,
      [schema],
    )
    return [columns, constraints, indexes, functions, triggers].flatMap((result) =>
      result.rows.map((row) => anonymise(JSON.stringify(row))),
    )
  })
}

await describeWith(['postgres'], 'SQL table descriptions on PostgreSQL', () => {
  it('today’s shipped migrations create exactly the schema they did when they shipped', async () => {
    expect(postgresMigrations.length).toBeGreaterThanOrEqual(shippedPostgresMigrations.length)
    const today = await shippedPostgresSchema(
      postgresMigrations.slice(0, shippedPostgresMigrations.length),
    )
    const shipped = await postgresSchemaOf(await shippedPostgresSchema())
    expect(shipped.length).toBeGreaterThan(60)
    expect(await postgresSchemaOf(today)).toEqual(shipped)
  })

  it('a schema made by the shipped migrations migrates to the schema of a new one', async () => {
    const fresh = freshSchema()
    const store = await openPostgresStore({ url: postgresUrlWithSchema(fresh) })
    await store.close()
    const shipped = await shippedPostgresSchema()
    const migrated = await openPostgresStore({ url: postgresUrlWithSchema(shipped) })
    await migrated.close()
    const versions = await withPostgresClient((client) =>
      client.query(`SELECT count(*)::int AS count FROM "${shipped}".${migrationsTable}`),
    )
    expect(versions.rows[0]).toEqual({ count: postgresMigrations.length })
    expect(await postgresSchemaOf(shipped)).toEqual(await postgresSchemaOf(fresh))
  })

  it('rows written before the migration read and change as new ones do', async () => {
    const schema = await shippedPostgresSchema(
      shippedPostgresMigrations,
      oldRowInserts(`ARRAY['user', 'admin']`),
    )
    const store = await openPostgresStore({ url: postgresUrlWithSchema(schema) })
    try {
      await expectOldRowsServed(store)
    } finally {
      await store.close()
    }
  })

  describeSessionStoreContract('postgres made by the shipped migrations', async () => {
    const store = await openPostgresStore({
      url: postgresUrlWithSchema(await shippedPostgresSchema()),
    })
    return { store, cleanup: () => store.close() }
  })

  describeDatabaseStoreContract('postgres made by the shipped migrations', async () => {
    const store = await openPostgresStore({
      url: postgresUrlWithSchema(await shippedPostgresSchema()),
    })
    return { store, cleanup: () => store.close() }
  })
})
