import type { SessionStore } from '../../core/ports.js'
import { type SessionRow, fromSessionRow } from '../sql-rows.js'
import type { PostgresContext } from './context.js'

export type PostgresSessionPort = Pick<
  SessionStore,
  'create' | 'get' | 'rotate' | 'revoke' | 'revokeAllForUser' | 'listForUser' | 'isDenied'
>

const sessionColumns = `id, user_id, created_at, last_used_at, expires_at, ip, user_agent, scope,
  client_id, current_jti, current_issued_at, current_expires_at, previous_jti, rotated_at,
  revoked_at, revoked_reason, purge_at`
/** Sessions and their deny-list on PostgreSQL. */
export function createPostgresSessions(context: PostgresContext): PostgresSessionPort {
  const { query, queryOne, observe, table, statement } = context
  const sessions = table('sessions')
  const denylist = table('session_denylist')

  const insertSession = statement(
    'insert_session',
    `INSERT INTO ${sessions} (${sessionColumns})
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
  )
  const selectSession = statement(
    'select_session',
    `SELECT ${sessionColumns} FROM ${sessions} WHERE id = $1 AND user_id = $2 AND purge_at > $3`,
  )
  // The compare-and-swap is this one statement: of concurrent rotations with the same expected
  // jti, the first takes the row lock; the others wait, re-check the WHERE clause against the
  // row it committed, find another current_jti and update nothing.
  const rotateSession = statement(
    'rotate_session',
    `UPDATE ${sessions} SET
       previous_jti = current_jti,
       current_jti = $4,
       current_issued_at = $5,
       current_expires_at = $6,
       rotated_at = $7,
       last_used_at = $7,
       ip = $8,
       user_agent = $9,
       purge_at = $10
     WHERE id = $1 AND user_id = $2 AND current_jti = $3 AND revoked_at IS NULL AND purge_at > $7
       AND $6::bigint * 1000 <= expires_at AND $10::bigint <= expires_at
     RETURNING ${sessionColumns}`,
  )
  // Deny-lists the session even when it was already revoked (a later revocation may need a later
  // deny-list expiry), and says whether this call is the one that revoked it. Every part sees the
  // same snapshot; the UPDATE alone re-checks `revoked_at IS NULL` after a concurrent revoke, so
  // exactly one of two racing calls returns true.
  const revokeSession = statement(
    'revoke_session',
    `WITH found AS (
       SELECT id FROM ${sessions} WHERE id = $1 AND user_id = $2 AND purge_at > $3
     ), revoked AS (
       UPDATE ${sessions} SET revoked_at = $3, revoked_reason = $4
       WHERE id = $1 AND user_id = $2 AND purge_at > $3 AND revoked_at IS NULL
       RETURNING id
     ), denied AS (
       INSERT INTO ${denylist} (session_id, deny_until)
       SELECT id, $5 FROM found
       ON CONFLICT (session_id) DO UPDATE
         SET deny_until = GREATEST(${denylist}.deny_until, excluded.deny_until)
     )
     SELECT EXISTS (SELECT 1 FROM revoked) AS revoked`,
  )
  const revokeUserSessions = statement(
    'revoke_user_sessions',
    `WITH revoked AS (
       UPDATE ${sessions} SET revoked_at = $2, revoked_reason = $3
       WHERE user_id = $1 AND revoked_at IS NULL AND purge_at > $2 AND expires_at > $2
       RETURNING id
     ), denied AS (
       INSERT INTO ${denylist} (session_id, deny_until)
       SELECT id, $4 FROM revoked
       ON CONFLICT (session_id) DO UPDATE
         SET deny_until = GREATEST(${denylist}.deny_until, excluded.deny_until)
     )
     SELECT id FROM revoked`,
  )
  const selectLiveForUser = statement(
    'select_live_for_user',
    `SELECT ${sessionColumns} FROM ${sessions}
     WHERE user_id = $1 AND revoked_at IS NULL AND purge_at > $2 AND expires_at > $2
     ORDER BY last_used_at DESC, created_at DESC, id`,
  )
  const selectDenied = statement(
    'select_denied',
    `SELECT EXISTS (
       SELECT 1 FROM ${denylist} WHERE session_id = $1 AND deny_until > $2
     ) AS denied`,
  )
  return {
    async create(session) {
      observe(session.createdAt)
      await query('create', insertSession, [
        session.id,
        session.userId,
        session.createdAt,
        session.lastUsedAt,
        session.expiresAt,
        session.ip,
        session.userAgent,
        session.scope,
        session.clientId,
        session.currentJti,
        session.currentIssuedAt,
        session.currentExpiresAt,
        session.previousJti,
        session.rotatedAt,
        session.revokedAt,
        session.revokedReason,
        session.purgeAt,
      ])
    },

    async get(ref, now) {
      observe(now)
      const [row] = await query<SessionRow>('get', selectSession, [ref.sessionId, ref.userId, now])
      return row === undefined ? null : fromSessionRow(row)
    },

    async rotate(ref, expectedJti, next) {
      observe(next.rotatedAt)
      const [row] = await query<SessionRow>('rotate', rotateSession, [
        ref.sessionId,
        ref.userId,
        expectedJti,
        next.jti,
        next.issuedAt,
        next.expiresAt,
        next.rotatedAt,
        next.ip,
        next.userAgent,
        next.purgeAt,
      ])
      return row === undefined ? null : fromSessionRow(row)
    },

    async revoke(ref, revocation) {
      observe(revocation.revokedAt)
      const row = await queryOne<{ revoked: boolean }>('revoke', revokeSession, [
        ref.sessionId,
        ref.userId,
        revocation.revokedAt,
        revocation.reason,
        revocation.denyUntil,
      ])
      return row.revoked
    },

    async revokeAllForUser(userId, revocation) {
      observe(revocation.revokedAt)
      const rows = await query<{ id: string }>('revokeAllForUser', revokeUserSessions, [
        userId,
        revocation.revokedAt,
        revocation.reason,
        revocation.denyUntil,
      ])
      return rows.map((row) => row.id)
    },

    async listForUser(userId, now) {
      observe(now)
      const rows = await query<SessionRow>('listForUser', selectLiveForUser, [userId, now])
      return rows.map(fromSessionRow)
    },

    async isDenied({ sessionId }, now) {
      observe(now)
      const row = await queryOne<{ denied: boolean }>('isDenied', selectDenied, [sessionId, now])
      return row.denied
    },
  }
}
