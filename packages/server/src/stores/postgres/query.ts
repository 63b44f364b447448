import { performance } from 'node:perf_hooks'
import pg from 'pg'
import type { PoolClient, QueryResultRow } from 'pg'
import { BatonError, StoreUnavailableError } from '../../core/errors.js'
import type { PostgresContext, Statement } from './context.js'
import type { TimedQuery } from './schema.js'

// The call budget (postgres-store.ts explains it): whatever of CALL_BUDGET_MS is left once a
// connection is had, at most QUERY_TIMEOUT_MS, for the answer.
export const QUERY_TIMEOUT_MS = 1500
const CALL_BUDGET_MS = 1700

/** `query` and `queryOne` of the store's context, on `pool`. */
export function createPooledQueries(
  pool: pg.Pool,
  isClosed: () => boolean,
): Pick<PostgresContext, 'query' | 'queryOne'> {
  /**
   * Runs one statement on a pooled connection within the call budget. Every failure becomes a
   * `StoreUnavailableError`; a connection that may be mid-protocol (timed out, broken) is
   * discarded so that the next call gets a fresh one.
   */
  async function query<Row extends QueryResultRow>(
    operation: string,
    { name, text }: Statement,
    values: unknown[],
  ): Promise<Row[]> {
    if (isClosed()) throw new StoreUnavailableError(`postgres: ${operation}: the store is closed`)
    // PostgreSQL text cannot hold U+0000 and refuses the whole statement: no stored value has
    // one, so a value with one is the caller's mistake, not an outage (SQLite just finds nothing).
    if (values.some((value) => typeof value === 'string' && value.includes('\0'))) {
      throw new BatonError('invalid_request', 'A value holds a NUL character (U+0000).')
    }
    const started = performance.now()
    let client: PoolClient
    try {
      client = await pool.connect()
    } catch (error) {
      throw new StoreUnavailableError(`postgres: ${operation}: ${describeFailure(error)}`, error)
    }
    // Errors of a checked-out connection reach the running query too; without a listener the
    // 'error' event itself would crash the process.
    client.on('error', ignoreError)
    const waited = performance.now() - started
    const timed: TimedQuery = {
      name,
      text,
      values,
      query_timeout: Math.max(1, Math.min(QUERY_TIMEOUT_MS, Math.round(CALL_BUDGET_MS - waited))),
    }
    try {
      const result = await client.query<Row>(timed)
      client.removeListener('error', ignoreError)
      client.release()
      return result.rows
    } catch (error) {
      client.removeListener('error', ignoreError)
      // The server's own error answer leaves the connection in a known state; anything else
      // (our timeout, a reset) may not, and pool.release(error) closes it.
      client.release(error instanceof pg.DatabaseError ? undefined : toError(error))
      throw new StoreUnavailableError(`postgres: ${operation}: ${describeFailure(error)}`, error)
    }
  }

  async function queryOne<Row extends QueryResultRow>(
    operation: string,
    statement: Statement,
    values: unknown[],
  ): Promise<Row> {
    const [row] = await query<Row>(operation, statement, values)
    if (row === undefined) {
      throw new StoreUnavailableError(`postgres: ${operation}: the statement returned no row`)
    }
    return row
  }

  return { query, queryOne }
}

export function ignoreError(): void {}

export function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** Operator detail: the SQLSTATE for a server error, the driver's message otherwise. */
export function describeFailure(error: unknown): string {
  if (error instanceof pg.DatabaseError) return `SQLSTATE ${error.code ?? '?'}: ${error.message}`
  return messageOf(error)
}
