import type { CounterState, SessionStore } from '../../core/ports.js'
import type { CounterRow } from '../sql-rows.js'
import type { PostgresContext } from './context.js'

export type PostgresCounterPort = Pick<SessionStore, 'hit' | 'peek' | 'resetCounter'>

/** Fixed-window counters (rate limits, lockouts) on PostgreSQL. */
export function createPostgresCounters(context: PostgresContext): PostgresCounterPort {
  const { query, queryOne, observe, table, statement } = context
  const counters = table('counters')

  // The window starts at the first hit and lasts windowMs; a hit after it ended starts a new one.
  // ON CONFLICT makes concurrent first hits of a key count once each, not start two windows.
  const hitCounter = statement(
    'hit_counter',
    `INSERT INTO ${counters} AS counter (key, count, reset_at) VALUES ($1, 1, $3)
     ON CONFLICT (key) DO UPDATE SET
       count = CASE WHEN counter.reset_at <= $2 THEN 1 ELSE counter.count + 1 END,
       reset_at = CASE WHEN counter.reset_at <= $2 THEN excluded.reset_at ELSE counter.reset_at END
     RETURNING count, reset_at`,
  )
  const selectCounter = statement(
    'select_counter',
    `SELECT count, reset_at FROM ${counters} WHERE key = $1 AND reset_at > $2`,
  )
  const deleteCounter = statement('delete_counter', `DELETE FROM ${counters} WHERE key = $1`)

  return {
    async hit(key, windowMs, now) {
      observe(now)
      const row = await queryOne<CounterRow>('hit', hitCounter, [key, now, now + windowMs])
      return { count: row.count, resetAt: row.reset_at }
    },

    async peek(key, now): Promise<CounterState> {
      observe(now)
      const [row] = await query<CounterRow>('peek', selectCounter, [key, now])
      return row === undefined
        ? { count: 0, resetAt: 0 }
        : { count: row.count, resetAt: row.reset_at }
    },

    async resetCounter(key) {
      await query('resetCounter', deleteCounter, [key])
    },
  }
}
