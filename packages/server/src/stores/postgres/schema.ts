import type { ClientBase } from 'pg'

import {
  counters,
  createIndex,
  createTable,
  createTables,
  initialTables,
  oauthClients,
  oneTimeTokens,
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
]

/** The table of applied migrations. Prefixed: `schema_migrations` is what Rails and others use. */
export const migrationsTable = 'baton_schema_migrations'

// One lock for every Baton schema of a database ('bato' in ASCII): migrations are rare and short,
// so instances of unrelated schemas waiting on each other for a moment costs nothing.
const MIGRATION_LOCK = 0x6261746f
// DDL on a large table may legitimately take a while; the store's short limit is for requests.
const MIGRATION_STATEMENT_TIMEOUT = '30s'

/**
 * Brings `schema` up to date in one transaction under a transaction-scoped advisory lock, so
 * instances starting together neither race on `CREATE` nor run a migration twice: the second
 * waits, then finds the work done. Returns the resulting version.
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
      await run(sql)
      await run(`INSERT INTO ${migrationsTable} (version) VALUES ($1)`, [index + 1])
    }
    await run('COMMIT')
    return migrations.length
  } catch (error) {
    // A broken connection cannot roll back; the server aborts the transaction when it notices.
    await run('ROLLBACK').catch(() => undefined)
    throw error
  }
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
