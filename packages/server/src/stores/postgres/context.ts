import type { QueryResultRow } from 'pg'

/** A named statement: each connection parses and plans it once, then only binds values. */
export interface Statement {
  name: string
  text: string
}

/** What the parts of the PostgreSQL store share: the pool's call budget, schema and clock. */
export interface PostgresContext {
  /** Runs one statement within the call budget; any failure is a `StoreUnavailableError`. */
  query: <Row extends QueryResultRow>(
    operation: string,
    statement: Statement,
    values: unknown[],
  ) => Promise<Row[]>
  /** Like `query`, for a statement that always returns a row. */
  queryOne: <Row extends QueryResultRow>(
    operation: string,
    statement: Statement,
    values: unknown[],
  ) => Promise<Row>
  /** Records the caller's clock, by which the periodic sweep judges expiry. */
  observe: (now: number) => void
  /** A table of the store's schema, quoted and qualified. */
  table: (name: string) => string
  statement: (name: string, text: string) => Statement
  isClosed: () => boolean
}
