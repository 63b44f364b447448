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
import { migrationsTable } from '../../packages/server/src/stores/postgres/schema.js'
import { createTable, users, type Table } from '../../packages/server/src/stores/sql-tables.js'
import { openSqliteStore } from '../../packages/server/src/stores/sqlite/index.js'
import { migrate as migrateSqlite } from '../../packages/server/src/stores/sqlite/schema.js'
import { describeDatabaseStoreContract } from '../contract/database-store.contract.js'
import { describeSessionStoreContract } from '../contract/session-store.contract.js'
import {
  shippedPostgresMigrations,
  shippedSqliteMigrations,
} from '../fixtures/shipped-sql-migrations.js'
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

/** A SQLite file as the shipped migrations left it. */
function shippedSqliteFile(): string {
  const path = tempFile('shipped.db')
  const db = new Database(path)
  for (const sql of shippedSqliteMigrations) db.exec(sql)
  db.pragma(`user_version = ${shippedSqliteMigrations.length}`)
  db.close()
  return path
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
    const identity: Table = { name: 'log', columns: [{ name: 'id', kind: 'identity' }] }
    expect(createTable(identity, 'sqlite')).toContain('id INTEGER PRIMARY KEY AUTOINCREMENT')
    expect(createTable(identity, 'postgres')).toContain(
      'id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY',
    )
  })

  it('SQLite: today’s migrations create exactly the schema the shipped ones did', () => {
    const today = tempFile('today.db')
    const db = new Database(today)
    expect(migrateSqlite(db)).toBe(shippedSqliteMigrations.length)
    db.close()
    const shipped = sqliteSchemaOf(shippedSqliteFile())
    expect(shipped.length).toBeGreaterThan(8)
    expect(sqliteSchemaOf(today)).toEqual(shipped)
  })

  it('SQLite: a database made by the shipped migrations opens with no migration to run', async () => {
    const path = shippedSqliteFile()
    const store = openSqliteStore({ path })
    await store.close()
    const db = new Database(path, { readonly: true })
    expect(db.pragma('user_version', { simple: true })).toBe(shippedSqliteMigrations.length)
    db.close()
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

/** A PostgreSQL schema as the shipped migrations left it, bookkeeping included. */
async function shippedPostgresSchema(): Promise<string> {
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
    for (const [index, sql] of shippedPostgresMigrations.entries()) {
      await client.query(sql)
      await client.query(`INSERT INTO ${migrationsTable} (version) VALUES ($1)`, [index + 1])
    }
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
  it('today’s migrations create exactly the schema the shipped ones did', async () => {
    const today = freshSchema()
    const store = await openPostgresStore({ url: postgresUrlWithSchema(today) })
    await store.close()
    const shipped = await postgresSchemaOf(await shippedPostgresSchema())
    expect(shipped.length).toBeGreaterThan(60)
    expect(await postgresSchemaOf(today)).toEqual(shipped)
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
