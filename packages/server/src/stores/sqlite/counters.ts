import type { CounterState, SessionStore } from '../../core/ports.js'
import type { CounterRow } from '../sql-rows.js'
import type { SqliteContext } from './context.js'

export type SqliteCounterPort = Pick<SessionStore, 'hit' | 'peek' | 'resetCounter'>

/** Fixed-window counters (rate limits, lockouts) on SQLite. */
export function createSqliteCounters({ db, run, observe }: SqliteContext): SqliteCounterPort {
  const hitCounter = db.prepare<{ key: string; now: number; resetAt: number }, CounterRow>(`
    INSERT INTO counters (key, count, reset_at) VALUES (@key, 1, @resetAt)
    ON CONFLICT (key) DO UPDATE SET
      count = CASE WHEN reset_at <= @now THEN 1 ELSE count + 1 END,
      reset_at = CASE WHEN reset_at <= @now THEN excluded.reset_at ELSE reset_at END
    RETURNING count, reset_at
  `)
  const selectCounter = db.prepare<{ key: string; now: number }, CounterRow>(
    'SELECT count, reset_at FROM counters WHERE key = @key AND reset_at > @now',
  )
  const deleteCounter = db.prepare<{ key: string }>('DELETE FROM counters WHERE key = @key')

  return {
    hit(key, windowMs, now) {
      return run('hit', () => {
        observe(now)
        const row = hitCounter.get({ key, now, resetAt: now + windowMs })
        // RETURNING always yields the upserted row.
        if (row === undefined) throw new Error('counter upsert returned no row')
        return { count: row.count, resetAt: row.reset_at }
      })
    },

    peek(key, now) {
      return run('peek', (): CounterState => {
        observe(now)
        const row = selectCounter.get({ key, now })
        return row === undefined
          ? { count: 0, resetAt: 0 }
          : { count: row.count, resetAt: row.reset_at }
      })
    },

    resetCounter(key) {
      return run('resetCounter', () => {
        deleteCounter.run({ key })
      })
    },
  }
}
