/**
 * The tables of the SQL stores, described once and rendered for each dialect. SQLite and
 * PostgreSQL agree on names, nullability, keys and checks; they differ only in how a column type
 * is spelt, so a column names a kind and each dialect maps it:
 *
 * - `text`: TEXT in both;
 * - `integer`: epoch milliseconds and counts (INTEGER in SQLite, which is 64-bit; BIGINT in
 *   PostgreSQL, because INTEGER there is 32-bit);
 * - `roles`: a list of role names (JSON text in SQLite, which has no arrays; TEXT[] in
 *   PostgreSQL);
 * - `identity`: an ever-increasing primary key assigned on insert, never reused.
 *
 * The migrations (sqlite/schema.ts, postgres/schema.ts) render these descriptions. A shipped
 * migration must render to the same schema forever: test/stores/sql-tables.test.ts compares what
 * each renders against the DDL the migrations were first shipped with.
 */
export type ColumnKind = 'text' | 'integer' | 'roles' | 'identity'

export type Dialect = 'sqlite' | 'postgres'

export interface Column {
  name: string
  kind: ColumnKind
  notNull?: true
  primaryKey?: true
  unique?: true
  /** The values the column accepts. */
  oneOf?: readonly string[]
}

export interface Index {
  name: string
  columns: readonly string[]
}

export interface Table {
  name: string
  columns: readonly Column[]
  /** A primary key of several columns, rendered as a table constraint after the columns. */
  primaryKey?: readonly string[]
  indexes?: readonly Index[]
}

const columnTypes: Record<Dialect, Record<ColumnKind, string>> = {
  sqlite: {
    text: 'TEXT',
    integer: 'INTEGER',
    roles: 'TEXT',
    // AUTOINCREMENT: without it SQLite may reuse the id of a deleted last row.
    identity: 'INTEGER PRIMARY KEY AUTOINCREMENT',
  },
  postgres: {
    text: 'TEXT',
    integer: 'BIGINT',
    roles: 'TEXT[]',
    identity: 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY',
  },
}

function renderColumn(column: Column, dialect: Dialect): string {
  const parts = [column.name, columnTypes[dialect][column.kind]]
  if (column.primaryKey) parts.push('PRIMARY KEY')
  if (column.notNull) parts.push('NOT NULL')
  if (column.unique) parts.push('UNIQUE')
  if (column.oneOf) {
    const values = column.oneOf.map((value) => `'${value}'`).join(', ')
    parts.push(`CHECK (${column.name} IN (${values}))`)
  }
  return parts.join(' ')
}

export function createIndex(table: string, index: Index): string {
  return `CREATE INDEX ${index.name} ON ${table} (${index.columns.join(', ')});`
}

export function dropIndex(name: string): string {
  return `DROP INDEX ${name};`
}

/** ALTER TABLE ... ADD COLUMN: only for a column an existing row may leave null. */
export function addColumn(table: string, column: Column, dialect: Dialect): string {
  if (column.notNull || column.primaryKey || column.unique) {
    throw new Error(`${table}.${column.name}: an added column must be nullable and plain`)
  }
  return `ALTER TABLE ${table} ADD COLUMN ${renderColumn(column, dialect)};`
}

/** CREATE TABLE and its CREATE INDEX statements, for one dialect. */
export function createTable(table: Table, dialect: Dialect): string {
  const columns = table.columns.map((column) => `  ${renderColumn(column, dialect)}`)
  if (table.primaryKey) columns.push(`  PRIMARY KEY (${table.primaryKey.join(', ')})`)
  const statements = [`CREATE TABLE ${table.name} (\n${columns.join(',\n')}\n);`]
  for (const index of table.indexes ?? []) statements.push(createIndex(table.name, index))
  return statements.join('\n')
}

export function createTables(tables: readonly Table[], dialect: Dialect): string {
  return tables.map((table) => createTable(table, dialect)).join('\n\n')
}

const integer = (name: string): Column => ({ name, kind: 'integer', notNull: true })
const optionalInteger = (name: string): Column => ({ name, kind: 'integer' })
const text = (name: string): Column => ({ name, kind: 'text', notNull: true })
const optionalText = (name: string): Column => ({ name, kind: 'text' })
const textKey = (name: string): Column => ({ name, kind: 'text', primaryKey: true })

export const users: Table = {
  name: 'users',
  columns: [
    textKey('id'),
    { name: 'email', kind: 'text', notNull: true, unique: true },
    text('password_hash'),
    { name: 'roles', kind: 'roles', notNull: true },
    integer('created_at'),
  ],
}

export const signingKeys: Table = {
  name: 'signing_keys',
  columns: [
    textKey('kid'),
    text('alg'),
    { name: 'state', kind: 'text', notNull: true, oneOf: ['next', 'current', 'retired'] },
    text('private_jwk'),
    text('public_jwk'),
    integer('created_at'),
    optionalInteger('activated_at'),
    optionalInteger('retired_at'),
    optionalInteger('remove_after'),
  ],
}

export const auditEvents: Table = {
  name: 'audit_events',
  columns: [
    { name: 'id', kind: 'identity' },
    text('type'),
    integer('at'),
    optionalText('user_id'),
    optionalText('session_id'),
    optionalText('ip'),
    optionalText('user_agent'),
    optionalText('detail'),
  ],
  indexes: [
    { name: 'audit_events_user_at', columns: ['user_id', 'at'] },
    { name: 'audit_events_at', columns: ['at'] },
  ],
}

/**
 * `current_issued_at` and `current_expires_at` are the refresh token's `iat` and `exp`, in epoch
 * seconds; every other time in these tables is epoch milliseconds.
 */
export const sessions: Table = {
  name: 'sessions',
  columns: [
    textKey('id'),
    text('user_id'),
    integer('created_at'),
    integer('last_used_at'),
    integer('expires_at'),
    optionalText('ip'),
    optionalText('user_agent'),
    text('scope'),
    optionalText('client_id'),
    text('current_jti'),
    integer('current_issued_at'),
    integer('current_expires_at'),
    optionalText('previous_jti'),
    optionalInteger('rotated_at'),
    optionalInteger('revoked_at'),
    optionalText('revoked_reason'),
    integer('purge_at'),
  ],
  indexes: [
    { name: 'sessions_user_id', columns: ['user_id'] },
    { name: 'sessions_purge_at', columns: ['purge_at'] },
  ],
}

export const sessionDenylist: Table = {
  name: 'session_denylist',
  columns: [textKey('session_id'), integer('deny_until')],
}

export const counters: Table = {
  name: 'counters',
  columns: [textKey('key'), integer('count'), integer('reset_at')],
}

/** `baton clients add`: a public client has no secret hash. */
export const oauthClients: Table = {
  name: 'oauth_clients',
  columns: [textKey('id'), optionalText('secret_hash'), integer('created_at')],
}

/** The tables of the first migration, in the order it created them. */
export const initialTables: readonly Table[] = [
  users,
  signingKeys,
  auditEvents,
  sessions,
  sessionDenylist,
  counters,
]

/**
 * Issue 13 (operators; password reset and email verification), one migration in each dialect:
 * `userAccountMigration` renders it. Columns are added nullable, so rows written before it read
 * as "never disabled, not verified" and events as "done by their user".
 */
export const userAccountColumns: readonly Column[] = [
  /** When an operator disabled the account. */
  optionalInteger('disabled_at'),
  /** When its owner followed a verification link sent to the address. */
  optionalInteger('email_verified_at'),
]

/**
 * Issue 13, second migration: when the password last changed, and the session that changed it
 * (kept signed in). Sessions older than the change end at their next refresh.
 */
export const passwordChangeColumns: readonly Column[] = [
  optionalInteger('password_changed_at'),
  optionalText('password_changed_in'),
]

/** The password-change migration in one dialect. */
export function passwordChangeMigration(dialect: Dialect): string {
  return passwordChangeColumns.map((column) => addColumn(users.name, column, dialect)).join('\n')
}

/** An administrator's user id, or `cli`, when someone other than the user did it. */
export const auditActorColumn: Column = optionalText('actor')

/** `listUsers` pages by (created_at, id): a keyset, read in index order. */
export const usersByCreation: Index = { name: 'users_created_at_id', columns: ['created_at', 'id'] }

/**
 * One live token per user and kind: a new one replaces the old, and taking it deletes it. The
 * token itself is never stored, only the hash of its secret.
 */
export const oneTimeTokens: Table = {
  name: 'one_time_tokens',
  columns: [
    text('user_id'),
    {
      name: 'kind',
      kind: 'text',
      notNull: true,
      oneOf: ['password_reset', 'email_verification'],
    },
    text('token_hash'),
    text('email'),
    integer('created_at'),
    integer('expires_at'),
  ],
  primaryKey: ['user_id', 'kind'],
}

/**
 * The indexes behind `listEvents` (newest first: `ORDER BY at DESC, id DESC`, optionally from a
 * cursor) for its filters: by user, by type (with or without `since`), and by time alone. Each
 * must end with `at, id` so that a page is read straight off the index, with no sort.
 *
 * SQLite: `id` is the rowid, which every index of the table ends with implicitly, so the shipped
 * (user_id, at) and (at) already serve; only the type needs one. PostgreSQL: the shipped ones are
 * replaced by ones that name `id`.
 */
export const auditEventIndexes: Record<Dialect, { create: readonly Index[]; drop: string[] }> = {
  sqlite: {
    create: [{ name: 'audit_events_type_at', columns: ['type', 'at'] }],
    drop: [],
  },
  postgres: {
    create: [
      { name: 'audit_events_user_at_id', columns: ['user_id', 'at', 'id'] },
      { name: 'audit_events_type_at_id', columns: ['type', 'at', 'id'] },
      { name: 'audit_events_at_id', columns: ['at', 'id'] },
    ],
    drop: ['audit_events_user_at', 'audit_events_at'],
  },
}

/** The issue-13 migration in one dialect; `extra` adds a dialect's own statements at the end. */
export function userAccountMigration(dialect: Dialect, extra: readonly string[] = []): string {
  const events = auditEventIndexes[dialect]
  return [
    ...userAccountColumns.map((column) => addColumn(users.name, column, dialect)),
    createIndex(users.name, usersByCreation),
    addColumn(auditEvents.name, auditActorColumn, dialect),
    ...events.create.map((index) => createIndex(auditEvents.name, index)),
    ...events.drop.map(dropIndex),
    createTable(oneTimeTokens, dialect),
    ...extra,
  ].join('\n')
}
