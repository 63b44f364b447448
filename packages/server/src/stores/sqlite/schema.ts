import type Database from 'better-sqlite3'

import {
  createTables,
  initialTables,
  oauthClients,
  createTable,
  passwordChangeMigration,
  userAccountMigration,
} from '../sql-tables.js'

/**
 * Schema migrations, applied in order. `PRAGMA user_version` holds how many have run. Never edit
 * or reorder a shipped entry: a database that already ran it would not see the change. Append.
 * The tables are described once for both SQL dialects in sql-tables.ts.
 */
export const migrations: readonly string[] = [
  createTables(initialTables, 'sqlite'),
  createTable(oauthClients, 'sqlite'),
  // Issue 13: disabled and verified accounts, who did it in the audit log, one-time tokens, and
  // the indexes the operators' listings page by.
  userAccountMigration('sqlite'),
  // Sessions older than a password change are refused at their next refresh.
  passwordChangeMigration('sqlite'),
]

/**
 * Brings the schema up to date in one IMMEDIATE transaction, so two processes opening a fresh
 * file at once cannot both run the same migration. Returns the resulting version.
 */
export function migrate(db: Database.Database): number {
  const apply = db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number
    if (version > migrations.length) {
      throw new Error(
        `schema version ${version} is newer than this build of Baton knows (${migrations.length}); upgrade Baton`,
      )
    }
    migrations.slice(version).forEach((sql) => db.exec(sql))
    // PRAGMA takes no bound parameters; the value is our own integer.
    db.pragma(`user_version = ${migrations.length}`)
    return migrations.length
  })
  return apply.immediate()
}
