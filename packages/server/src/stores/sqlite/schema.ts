import type Database from 'better-sqlite3'

/**
 * Schema migrations, applied in order. `PRAGMA user_version` holds how many have run. Never edit
 * or reorder a shipped entry: a database that already ran it would not see the change. Append.
 *
 * Times are INTEGER epoch milliseconds, except `current_issued_at` and `current_expires_at`,
 * which are the refresh token's `iat` and `exp` in epoch seconds.
 */
export const migrations: readonly string[] = [
  `
  CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    roles TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );

  CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    alg TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('next', 'current', 'retired')),
    private_jwk TEXT NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    activated_at INTEGER,
    retired_at INTEGER,
    remove_after INTEGER
  );

  CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL,
    at INTEGER NOT NULL,
    user_id TEXT,
    session_id TEXT,
    ip TEXT,
    user_agent TEXT,
    detail TEXT
  );
  CREATE INDEX audit_events_user_at ON audit_events (user_id, at);
  CREATE INDEX audit_events_at ON audit_events (at);

  CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    ip TEXT,
    user_agent TEXT,
    scope TEXT NOT NULL,
    client_id TEXT,
    current_jti TEXT NOT NULL,
    current_issued_at INTEGER NOT NULL,
    current_expires_at INTEGER NOT NULL,
    previous_jti TEXT,
    rotated_at INTEGER,
    revoked_at INTEGER,
    revoked_reason TEXT,
    purge_at INTEGER NOT NULL
  );
  CREATE INDEX sessions_user_id ON sessions (user_id);
  CREATE INDEX sessions_purge_at ON sessions (purge_at);

  CREATE TABLE session_denylist (
    session_id TEXT PRIMARY KEY,
    deny_until INTEGER NOT NULL
  );

  CREATE TABLE counters (
    key TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    reset_at INTEGER NOT NULL
  );
  `,
  // `baton clients add`: a public client has no secret hash.
  `
  CREATE TABLE oauth_clients (
    id TEXT PRIMARY KEY,
    secret_hash TEXT,
    created_at INTEGER NOT NULL
  );
  `,
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
