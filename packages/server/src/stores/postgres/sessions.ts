import type { SessionRecordOperations } from '../../core/ports.js'
import {
  type OneTimeTokenRow,
  type SessionRow,
  fromOneTimeTokenRow,
  fromSessionRow,
} from '../sql-rows.js'
import { batchedPerTurn } from '../turn-batch.js'
import type { PostgresContext } from './context.js'

export type PostgresSessionPort = SessionRecordOperations

const sessionColumns = `id, user_id, created_at, last_used_at, expires_at, ip, user_agent, scope,
  client_id, current_jti, current_issued_at, current_expires_at, previous_jti, rotated_at,
  revoked_at, revoked_reason, purge_at`
const qualifiedSessionColumns = sessionColumns
  .split(',')
  .map((column) => `s.${column.trim()}`)
  .join(', ')

type RotateValues = [
  id: string,
  userId: string,
  expectedJti: string,
  jti: string,
  issuedAt: number,
  expiresAt: number,
  rotatedAt: number,
  ip: string | null,
  userAgent: string | null,
  purgeAt: number,
]

const oneTimeTokenColumns = 'user_id, kind, token_hash, email, created_at, expires_at'

/** Sessions, their deny-list and one-time tokens on PostgreSQL. */
export function createPostgresSessions(context: PostgresContext): PostgresSessionPort {
  const { query, queryOne, observe, table, statement } = context
  const sessions = table('sessions')
  const denylist = table('session_denylist')
  const oneTimeTokens = table('one_time_tokens')

  const insertSession = statement(
    'insert_session',
    `INSERT INTO ${sessions} (${sessionColumns})
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
  )
  const selectSession = statement(
    'select_session',
    `SELECT ${sessionColumns} FROM ${sessions} WHERE id = $1 AND user_id = $2 AND purge_at > $3`,
  )
  const selectOwner = statement(
    'select_session_owner',
    `SELECT user_id FROM ${sessions} WHERE id = $1 AND purge_at > $2`,
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
  // Rotations that arrive in the same turn of the event loop go to the server as this one
  // statement: one round trip and one commit for all of them, where each costs more than its
  // UPDATE. Each row is still its own compare-and-swap (a session asked for twice is updated once,
  // the other ask finds nothing). Rows are locked in id order first, as revoke_user_sessions
  // locks them, so two statements that want the same sessions queue instead of deadlocking.
  const rotateSessions = statement(
    'rotate_sessions',
    `WITH wanted AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[],
         $6::bigint[], $7::bigint[], $8::text[], $9::text[], $10::bigint[]) WITH ORDINALITY
         AS w(id, user_id, expected_jti, jti, issued_at, expires_at, rotated_at, ip, user_agent,
           purge_at, position)
     ), locked AS MATERIALIZED (
       SELECT id FROM ${sessions} WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE
     )
     UPDATE ${sessions} s SET
       previous_jti = s.current_jti,
       current_jti = w.jti,
       current_issued_at = w.issued_at,
       current_expires_at = w.expires_at,
       rotated_at = w.rotated_at,
       last_used_at = w.rotated_at,
       ip = w.ip,
       user_agent = w.user_agent,
       purge_at = w.purge_at
     FROM wanted w
     WHERE s.id IN (SELECT id FROM locked) AND s.id = w.id AND s.user_id = w.user_id
       AND s.current_jti = w.expected_jti AND s.revoked_at IS NULL AND s.purge_at > w.rotated_at
       AND w.expires_at * 1000 <= s.expires_at AND w.purge_at <= s.expires_at
     RETURNING w.position::integer AS position, ${qualifiedSessionColumns}`,
  )
  const rotateInTurn = batchedPerTurn(
    (batch: RotateValues[]): Promise<(SessionRow | undefined)[]> =>
      batch.length === 1
        ? query<SessionRow>('rotate', rotateSession, batch[0]!)
        : query<SessionRow & { position: number }>(
            'rotate',
            rotateSessions,
            batch[0]!.map((_, column) => batch.map((values) => values[column])),
          ).then((updated) => {
            const byPosition = batch.map((): SessionRow | undefined => undefined)
            for (const { position, ...row } of updated) byPosition[position - 1] = row
            return byPosition
          }),
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
    `WITH locked AS MATERIALIZED (
       SELECT id FROM ${sessions} WHERE user_id = $1 ORDER BY id FOR UPDATE
     ), revoked AS (
       UPDATE ${sessions} SET revoked_at = $2, revoked_reason = $3
       WHERE id IN (SELECT id FROM locked) AND user_id = $1 AND revoked_at IS NULL
         AND purge_at > $2 AND expires_at > $2
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
  // A new token replaces the user's earlier one of its kind.
  const upsertOneTimeToken = statement(
    'upsert_one_time_token',
    `INSERT INTO ${oneTimeTokens} (${oneTimeTokenColumns}) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (user_id, kind) DO UPDATE SET
       token_hash = excluded.token_hash,
       email = excluded.email,
       created_at = excluded.created_at,
       expires_at = excluded.expires_at`,
  )
  // The compare-and-delete is this one statement: of concurrent takes, the first locks the row;
  // the others wait, then find it deleted and delete nothing.
  const takeOneTimeToken = statement(
    'take_one_time_token',
    `DELETE FROM ${oneTimeTokens}
     WHERE user_id = $1 AND kind = $2 AND token_hash = $3 AND expires_at > $4
     RETURNING ${oneTimeTokenColumns}`,
  )
  const deleteOneTimeToken = statement(
    'delete_one_time_token',
    `DELETE FROM ${oneTimeTokens} WHERE user_id = $1 AND kind = $2`,
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

    async findSessionOwner(sessionId, now) {
      const [row] = await query<{ user_id: string }>('findSessionOwner', selectOwner, [
        sessionId,
        now,
      ])
      return row?.user_id ?? null
    },

    async get(ref, now) {
      observe(now)
      const [row] = await query<SessionRow>('get', selectSession, [ref.sessionId, ref.userId, now])
      return row === undefined ? null : fromSessionRow(row)
    },

    async rotate(ref, expectedJti, next) {
      observe(next.rotatedAt)
      const row = await rotateInTurn([
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

    async putOneTimeToken(token) {
      observe(token.createdAt)
      await query('putOneTimeToken', upsertOneTimeToken, [
        token.userId,
        token.kind,
        token.tokenHash,
        token.email,
        token.createdAt,
        token.expiresAt,
      ])
    },

    async takeOneTimeToken(userId, kind, tokenHash, now) {
      observe(now)
      const [row] = await query<OneTimeTokenRow>('takeOneTimeToken', takeOneTimeToken, [
        userId,
        kind,
        tokenHash,
        now,
      ])
      return row === undefined ? null : fromOneTimeTokenRow(row)
    },

    async dropOneTimeToken(userId, kind) {
      await query('dropOneTimeToken', deleteOneTimeToken, [userId, kind])
    },
  }
}
