import type { SessionRecordOperations, SessionRef, SessionRotation } from '../../core/ports.js'
import {
  type OneTimeTokenRow,
  type SessionRow,
  fromOneTimeTokenRow,
  fromSessionRow,
  toSessionRow,
} from '../sql-rows.js'
import { batchedPerTurn } from '../turn-batch.js'
import type { SqliteContext } from './context.js'

export type SqliteSessionPort = SessionRecordOperations

/** A rotation as the UPDATE binds it: the session, the token it expects, and its successor. */
type RotateParameters = SessionRotation & { id: string; userId: string; expectedJti: string }

/** Sessions, their deny-list and one-time tokens on SQLite. */
export function createSqliteSessions({
  db,
  run,
  observe,
  assertOpen,
  cache,
}: SqliteContext): SqliteSessionPort {
  const insertSession = db.prepare<SessionRow>(`
    INSERT INTO sessions (
      id, user_id, created_at, last_used_at, expires_at, ip, user_agent, scope, client_id,
      current_jti, current_issued_at, current_expires_at, previous_jti, rotated_at, revoked_at,
      revoked_reason, purge_at
    ) VALUES (
      @id, @user_id, @created_at, @last_used_at, @expires_at, @ip, @user_agent, @scope, @client_id,
      @current_jti, @current_issued_at, @current_expires_at, @previous_jti, @rotated_at,
      @revoked_at, @revoked_reason, @purge_at
    )
  `)
  const selectSession = db.prepare<{ id: string; userId: string; now: number }, SessionRow>(
    'SELECT * FROM sessions WHERE id = @id AND user_id = @userId AND purge_at > @now',
  )
  const selectOwner = db.prepare<{ id: string; now: number }, { user_id: string }>(
    'SELECT user_id FROM sessions WHERE id = @id AND purge_at > @now',
  )
  const rotateSession = db.prepare<RotateParameters, SessionRow>(`
    UPDATE sessions SET
      previous_jti = current_jti,
      current_jti = @jti,
      current_issued_at = @issuedAt,
      current_expires_at = @expiresAt,
      rotated_at = @rotatedAt,
      last_used_at = @rotatedAt,
      ip = @ip,
      user_agent = @userAgent,
      purge_at = @purgeAt
    WHERE id = @id AND user_id = @userId AND current_jti = @expectedJti AND revoked_at IS NULL
      AND purge_at > @rotatedAt AND @expiresAt * 1000 <= expires_at AND @purgeAt <= expires_at
    RETURNING *
  `)
  // Rotations that arrive in the same turn of the event loop commit together: one round of file
  // locks and one WAL append for all of them, where each commit on its own costs more than its
  // UPDATE (docs/benchmarks.md). Each UPDATE is still its own compare-and-swap, in arrival order,
  // so the outcome is the one of running them one after another.
  const rotateTogether = db.transaction((batch: RotateParameters[]) =>
    batch.map((parameters) => rotateSession.get(parameters)),
  )
  const rotateInTurn = batchedPerTurn((batch: RotateParameters[]) =>
    run('rotate', () =>
      batch.length === 1 ? [rotateSession.get(batch[0]!)] : rotateTogether.immediate(batch),
    ),
  )
  const markRevoked = db.prepare<{ id: string; revokedAt: number; reason: string }>(
    'UPDATE sessions SET revoked_at = @revokedAt, revoked_reason = @reason WHERE id = @id',
  )
  const markUserRevoked = db.prepare<
    { userId: string; revokedAt: number; reason: string },
    { id: string }
  >(`
    UPDATE sessions SET revoked_at = @revokedAt, revoked_reason = @reason
    WHERE user_id = @userId AND revoked_at IS NULL AND purge_at > @revokedAt
      AND expires_at > @revokedAt
    RETURNING id
  `)
  const selectLiveForUser = db.prepare<{ userId: string; now: number }, SessionRow>(`
    SELECT * FROM sessions
    WHERE user_id = @userId AND revoked_at IS NULL AND purge_at > @now AND expires_at > @now
    ORDER BY last_used_at DESC, created_at DESC
  `)
  const upsertDeny = db.prepare<{ sessionId: string; denyUntil: number }>(`
    INSERT INTO session_denylist (session_id, deny_until) VALUES (@sessionId, @denyUntil)
    ON CONFLICT (session_id) DO UPDATE SET deny_until = max(deny_until, excluded.deny_until)
  `)
  const selectDeniedUntil = db
    .prepare<{ sessionId: string }, number>(
      'SELECT deny_until FROM session_denylist WHERE session_id = @sessionId',
    )
    .pluck()
  const revokeOne = db.transaction(
    (ref: SessionRef, revokedAt: number, reason: string, denyUntil: number) => {
      const id = ref.sessionId
      const session = selectSession.get({ id, userId: ref.userId, now: revokedAt })
      if (session === undefined) return false
      // Deny even when already revoked: a later revocation may need a later deny-list expiry.
      upsertDeny.run({ sessionId: id, denyUntil })
      if (session.revoked_at !== null) return false
      markRevoked.run({ id, revokedAt, reason })
      return true
    },
  )
  const revokeUser = db.transaction(
    (userId: string, revokedAt: number, reason: string, denyUntil: number) => {
      const ids = markUserRevoked.all({ userId, revokedAt, reason }).map((row) => row.id)
      for (const sessionId of ids) upsertDeny.run({ sessionId, denyUntil })
      return ids
    },
  )

  // A new token replaces the user's earlier one of its kind.
  const upsertOneTimeToken = db.prepare<OneTimeTokenRow>(`
    INSERT INTO one_time_tokens (user_id, kind, token_hash, email, created_at, expires_at)
    VALUES (@user_id, @kind, @token_hash, @email, @created_at, @expires_at)
    ON CONFLICT (user_id, kind) DO UPDATE SET
      token_hash = excluded.token_hash,
      email = excluded.email,
      created_at = excluded.created_at,
      expires_at = excluded.expires_at
  `)
  // The compare-and-delete is this one statement: SQLite runs one writer at a time, and a second
  // take finds the row gone.
  const takeOneTimeToken = db.prepare<
    { userId: string; kind: string; tokenHash: string; now: number },
    OneTimeTokenRow
  >(`
    DELETE FROM one_time_tokens
    WHERE user_id = @userId AND kind = @kind AND token_hash = @tokenHash AND expires_at > @now
    RETURNING *
  `)
  const deleteOneTimeToken = db.prepare<{ userId: string; kind: string }>(
    'DELETE FROM one_time_tokens WHERE user_id = @userId AND kind = @kind',
  )

  return {
    create(session) {
      return run('create', () => {
        observe(session.createdAt)
        insertSession.run(toSessionRow(session))
      })
    },

    findSessionOwner(sessionId, now) {
      return run('findSessionOwner', () => selectOwner.get({ id: sessionId, now })?.user_id ?? null)
    },

    get(ref, now) {
      return run('get', () => {
        observe(now)
        const row = selectSession.get({ id: ref.sessionId, userId: ref.userId, now })
        return row === undefined ? null : fromSessionRow(row)
      })
    },

    rotate(ref, expectedJti, next) {
      observe(next.rotatedAt)
      return rotateInTurn({ ...next, id: ref.sessionId, userId: ref.userId, expectedJti }).then(
        (row) => (row === undefined ? null : fromSessionRow(row)),
      )
    },

    revoke(ref, revocation) {
      return run('revoke', () => {
        observe(revocation.revokedAt)
        cache.denyUntil.delete(ref.sessionId)
        return revokeOne.immediate(
          ref,
          revocation.revokedAt,
          revocation.reason,
          revocation.denyUntil,
        )
      })
    },

    revokeAllForUser(userId, revocation) {
      return run('revokeAllForUser', () => {
        observe(revocation.revokedAt)
        const revoked = revokeUser.immediate(
          userId,
          revocation.revokedAt,
          revocation.reason,
          revocation.denyUntil,
        )
        for (const sessionId of revoked) cache.denyUntil.delete(sessionId)
        return revoked
      })
    },

    listForUser(userId, now) {
      return run('listForUser', () => {
        observe(now)
        return selectLiveForUser.all({ userId, now }).map(fromSessionRow)
      })
    },

    isDenied({ sessionId }, now) {
      return run('isDenied', () => {
        observe(now)
        assertOpen()
        cache.validate()
        let until = cache.denyUntil.get(sessionId)
        if (until === undefined) {
          until = selectDeniedUntil.get({ sessionId }) ?? 0
          cache.remember(cache.denyUntil, sessionId, until)
        }
        return now < until
      })
    },

    putOneTimeToken(token) {
      return run('putOneTimeToken', () => {
        observe(token.createdAt)
        upsertOneTimeToken.run({
          user_id: token.userId,
          kind: token.kind,
          token_hash: token.tokenHash,
          email: token.email,
          created_at: token.createdAt,
          expires_at: token.expiresAt,
        })
      })
    },

    takeOneTimeToken(userId, kind, tokenHash, now) {
      return run('takeOneTimeToken', () => {
        observe(now)
        const row = takeOneTimeToken.get({ userId, kind, tokenHash, now })
        return row === undefined ? null : fromOneTimeTokenRow(row)
      })
    },

    dropOneTimeToken(userId, kind) {
      return run('dropOneTimeToken', () => {
        deleteOneTimeToken.run({ userId, kind })
      })
    },
  }
}
