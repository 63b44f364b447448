import type { ClientBase } from 'pg'

import {
  auditEventIndexes,
  auditEvents,
  counters,
  createIndex,
  createTable,
  createTables,
  dropIndex,
  initialTables,
  oauthClients,
  oneTimeTokens,
  passwordChangeMigration,
  sessionDenylist,
  userAccountMigration,
} from '../sql-tables.js'

/** The NOTIFY channel of user changes; payloads are `<schema>/<user id>`, or `<schema>/*`. */
export const userChangesChannel = 'baton_user_changed'

/**
 * Schema migrations, applied in order; `baton_schema_migrations` holds one row per migration run.
 * Never edit or reorder a shipped entry: a database that already ran it would not see the change.
 * Append. Each runs with `search_path` set to the store's schema, so names stay unqualified. The
 * tables are described once for both SQL dialects in sql-tables.ts.
 */
export const migrations: readonly string[] = [
  [
    createTables(initialTables, 'postgres'),
    // Only here: the periodic purge deletes expired rows in batches (LIMIT ... SKIP LOCKED), which
    // needs an index to find them; SQLite's purge is one DELETE over the whole table.
    createIndex(sessionDenylist.name, {
      name: 'session_denylist_deny_until',
      columns: ['deny_until'],
    }),
    createIndex(counters.name, { name: 'counters_reset_at', columns: ['reset_at'] }),
  ].join('\n'),
  // Every instance caches users (user-cache.ts) and must hear of any change to one, whoever makes
  // it: Baton, an operator's SQL, another tool. A trigger catches them all.
  `
  CREATE FUNCTION baton_notify_user_changed() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF TG_OP = 'TRUNCATE' THEN
      PERFORM pg_notify('${userChangesChannel}', TG_TABLE_SCHEMA || '/*');
    ELSE
      PERFORM pg_notify('${userChangesChannel}', TG_TABLE_SCHEMA || '/' || OLD.id);
    END IF;
    RETURN NULL;
  END
  $$;
  CREATE TRIGGER users_changed AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION baton_notify_user_changed();
  CREATE TRIGGER users_truncated AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION baton_notify_user_changed();
  `,
  createTable(oauthClients, 'postgres'),
  // Issue 13: disabled and verified accounts, who did it in the audit log, one-time tokens, and
  // the indexes the operators' listings page by. The periodic purge finds expired tokens by
  // their expiry, as it does expired sessions.
  userAccountMigration('postgres', [
    createIndex(oneTimeTokens.name, {
      name: 'one_time_tokens_expires_at',
      columns: ['expires_at'],
    }),
  ]),
  // Sessions older than a password change are refused at their next refresh.
  passwordChangeMigration('postgres'),
]

/**
 * Issue 13's migration (version 4) as it shipped builds three audit_events indexes (and drops the
 * two they replace) inside the migration's transaction. On a table of 20 million events the build
 * took 32.6 s, past the migration's 30 s timeout, and the lock it holds meanwhile stops every
 * login, which records an event. So a database whose audit_events existed before this start runs
 * version 4 without those statements, and `buildEventIndexes` does their work concurrently after
 * the commit. A fresh database runs version 4 as shipped: its table is still empty. The shipped
 * text stays in `migrations`, the record of what databases that ran it have.
 */
const eventIndexMigration = 3
const { create: eventIndexes, drop: replacedEventIndexes } = auditEventIndexes.postgres
const eventIndexMigrationWithoutIndexes = withoutLines(
  migrations[eventIndexMigration],
  new Set([
    ...eventIndexes.map((index) => createIndex(auditEvents.name, index)),
    ...replacedEventIndexes.map(dropIndex),
  ]),
)

function withoutLines(sql: string | undefined, lines: ReadonlySet<string>): string {
  const all = (sql ?? '').split('\n')
  const kept = all.filter((line) => !lines.has(line))
  // A statement not found would stay in the transaction unnoticed, and the long build with it.
  if (all.length - kept.length !== lines.size) {
    throw new Error('postgres: the audit_events index statements are not in migration 4')
  }
  return kept.join('\n')
}

/** The table of applied migrations. Prefixed: `schema_migrations` is what Rails and others use. */
export const migrationsTable = 'baton_schema_migrations'

// One lock for every Baton schema of a database ('bato' in ASCII): migrations are rare and short,
// so instances of unrelated schemas waiting on each other for a moment costs nothing.
const MIGRATION_LOCK = 0x6261746f
// DDL on a large table may legitimately take a while; the store's short limit is for requests.
// Under the client's own limit (postgres-store.ts), so that the server gives up first and says why.
const MIGRATION_STATEMENT_TIMEOUT = '30s'
// A concurrent index build takes what the table needs (more than the 32.6 s a plain build of
// these took on 20 million events: it reads the table twice), and one cut off is thrown away and
// starts over at the next start, so a limit a big table could reach would never let it finish.
// This one is only for a server that stops answering on a connection that stays open.
const INDEX_BUILD_TIMEOUT_MS = 24 * 60 * 60 * 1000

/**
 * Brings `schema` up to date in one transaction under a transaction-scoped advisory lock, so
 * instances starting together neither race on `CREATE` nor run a migration twice: the second
 * waits, then finds the work done. Then builds the audit_events indexes that may not be built in
 * the transaction (`buildEventIndexes`). Returns the resulting version. After a failure the
 * connection must be discarded: it may be left in a transaction, or holding a lock.
 *
 * `schema` must already be validated; it is quoted here.
 */
export async function migrate(
  client: ClientBase,
  schema: string,
  queryTimeoutMs: number,
): Promise<number> {
  const quoted = quoteIdentifier(schema)
  const run = (text: string, values: unknown[] = []) => {
    const timed: TimedQuery = { text, values, query_timeout: queryTimeoutMs }
    return client.query(timed)
  }
  await run('BEGIN')
  try {
    await run(`SET LOCAL statement_timeout = '${MIGRATION_STATEMENT_TIMEOUT}'`)
    await run('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK])
    // Looked up rather than CREATE ... IF NOT EXISTS, which checks the CREATE privilege before it
    // checks existence: a role that may only use an up-to-date schema a DBA made still starts.
    const schemaFound = await run('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])
    if (schemaFound.rowCount === 0) await run(`CREATE SCHEMA ${quoted}`)
    await run(`SET LOCAL search_path TO ${quoted}`)
    const tableFound = await run('SELECT to_regclass($1) IS NOT NULL AS found', [
      `${quoted}.${migrationsTable}`,
    ])
    if ((tableFound.rows[0] as { found: boolean } | undefined)?.found !== true) {
      await run(`
        CREATE TABLE ${migrationsTable} (
          version INTEGER PRIMARY KEY,
          applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )
      `)
    }
    const applied = await run(`SELECT coalesce(max(version), 0) AS version FROM ${migrationsTable}`)
    const version = Number((applied.rows[0] as { version: unknown } | undefined)?.version ?? 0)
    if (version > migrations.length) {
      throw new Error(
        `schema version ${version} is newer than this build of Baton knows (${migrations.length}); upgrade Baton`,
      )
    }
    for (const [index, sql] of migrations.entries()) {
      if (index < version) continue
      const deferIndexes = index === eventIndexMigration && version > 0
      await run(deferIndexes ? eventIndexMigrationWithoutIndexes : sql)
      await run(`INSERT INTO ${migrationsTable} (version) VALUES ($1)`, [index + 1])
    }
    await run('COMMIT')
  } catch (error) {
    // A broken connection cannot roll back; the server aborts the transaction when it notices.
    await run('ROLLBACK').catch(() => undefined)
    throw error
  }
  await buildEventIndexes(client, schema, queryTimeoutMs)
  return migrations.length
}

/**
 * Makes the audit_events indexes of version 4 exist and be valid, with CREATE INDEX CONCURRENTLY:
 * events are written (logins go on) while it builds, and it cannot run in a transaction. Runs at
 * every start, since a build cut off (a crash, a deploy, a lost connection) leaves an INVALID
 * index, which PostgreSQL never reads but may go on updating: that one is dropped and built again.
 * Only once all are valid are the indexes they replace dropped. When nothing is left to do, as
 * on every start but the one after the upgrade, it costs one catalog read.
 */
export async function buildEventIndexes(
  client: ClientBase,
  schema: string,
  queryTimeoutMs: number,
): Promise<void> {
  const qualified = (name: string) => `${quoteIdentifier(schema)}.${name}`
  const table = qualified(auditEvents.name)
  const run = (text: string, values: unknown[] = [], timeoutMs = queryTimeoutMs) => {
    const timed: TimedQuery = { text, values, query_timeout: timeoutMs }
    return client.query(timed)
  }
  const readWork = async () => {
    const found = await run(
      `SELECT c.relname AS name, i.indisvalid AS valid
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
       WHERE i.indrelid = $1::regclass`,
      [table],
    )
    const validity = new Map(
      (found.rows as { name: string; valid: boolean }[]).map((row) => [row.name, row.valid]),
    )
    return {
      invalid: eventIndexes.filter((index) => validity.get(index.name) === false),
      missing: eventIndexes.filter((index) => validity.get(index.name) !== true),
      replaced: replacedEventIndexes.filter((name) => validity.has(name)),
    }
  }
  const idle = (work: Awaited<ReturnType<typeof readWork>>) =>
    work.missing.length === 0 && work.replaced.length === 0
  if (idle(await readWork())) return

  // Per table, and tried rather than waited for. An instance that finds another building goes on
  // without the indexes, which only the operators' listings miss, and they are there when the
  // builder is done. Waiting could deadlock: a concurrent build waits for every transaction
  // older than its snapshot, and that of a statement waiting for this lock can be one of them.
  const lock = [MIGRATION_LOCK, table]
  const locked = await run(
    'SELECT pg_try_advisory_lock($1, $2::regclass::oid::int) AS locked',
    lock,
  )
  if ((locked.rows[0] as { locked: boolean } | undefined)?.locked !== true) return
  // No RESET or unlock on failure: the caller discards the connection, which ends both.
  await run('SET statement_timeout = 0')
  // Read again under the lock: another instance may have built them since.
  const work = await readWork()
  for (const index of work.invalid) {
    await run(
      `DROP INDEX CONCURRENTLY IF EXISTS ${qualified(index.name)}`,
      [],
      INDEX_BUILD_TIMEOUT_MS,
    )
  }
  for (const index of work.missing) {
    await run(
      `CREATE INDEX CONCURRENTLY IF NOT EXISTS ${index.name} ON ${table} (${index.columns.join(', ')})`,
      [],
      INDEX_BUILD_TIMEOUT_MS,
    )
  }
  for (const name of work.replaced) {
    await run(`DROP INDEX CONCURRENTLY IF EXISTS ${qualified(name)}`, [], INDEX_BUILD_TIMEOUT_MS)
  }
  await run('RESET statement_timeout')
  await run('SELECT pg_advisory_unlock($1, $2::regclass::oid::int)', lock)
}

/** pg honours a per-query `query_timeout` that its type definitions do not declare. */
export interface TimedQuery {
  text: string
  values?: unknown[]
  name?: string
  query_timeout: number
}

/** A schema name we accept: what PostgreSQL takes unquoted, minus its reserved `pg_` prefix. */
export function isValidSchemaName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name) && !/^pg_/i.test(name)
}

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}
