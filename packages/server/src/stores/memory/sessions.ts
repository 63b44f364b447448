import { StoreUnavailableError } from '../../core/errors.js'
import type {
  OneTimeToken,
  OneTimeTokenKind,
  SessionRecord,
  SessionRecordOperations,
  SessionRef,
} from '../../core/ports.js'
import type { MemoryContext } from './context.js'

export type MemorySessionPort = SessionRecordOperations

export interface MemorySessions {
  port: MemorySessionPort
  sweep(now: number): void
  clear(): void
}

const tokenKey = (userId: string, kind: OneTimeTokenKind): string => `${kind}:${userId}`

/** Sessions, their deny-list and one-time tokens, in memory. */
export function createMemorySessions({ run, sweepIfDue }: MemoryContext): MemorySessions {
  const sessions = new Map<string, SessionRecord>()
  const sessionIdsByUser = new Map<string, Set<string>>()
  const deniedUntil = new Map<string, number>()
  const oneTimeTokens = new Map<string, OneTimeToken>()

  function forgetSession(session: SessionRecord): void {
    sessions.delete(session.id)
    const ids = sessionIdsByUser.get(session.userId)
    if (ids === undefined) return
    ids.delete(session.id)
    if (ids.size === 0) sessionIdsByUser.delete(session.userId)
  }

  function liveSession(ref: SessionRef, now: number): SessionRecord | undefined {
    const session = sessions.get(ref.sessionId)
    if (session === undefined || session.userId !== ref.userId) return undefined
    if (now >= session.purgeAt) {
      forgetSession(session)
      return undefined
    }
    return session
  }

  function deny(sessionId: string, until: number): void {
    const current = deniedUntil.get(sessionId)
    if (current === undefined || until > current) deniedUntil.set(sessionId, until)
  }

  const port: MemorySessionPort = {
    create(session) {
      return run('create', () => {
        sweepIfDue(session.createdAt)
        // Replacing would un-revoke a session; SQL stores refuse the duplicate key the same way.
        if (sessions.has(session.id)) {
          throw new StoreUnavailableError(`memory: create: session ${session.id} already exists`)
        }
        sessions.set(session.id, { ...session })
        let ids = sessionIdsByUser.get(session.userId)
        if (ids === undefined) {
          ids = new Set()
          sessionIdsByUser.set(session.userId, ids)
        }
        ids.add(session.id)
      })
    },

    findSessionOwner(sessionId, now) {
      return run('findSessionOwner', () => {
        const session = sessions.get(sessionId)
        return session === undefined || now >= session.purgeAt ? null : session.userId
      })
    },

    get(ref, now) {
      return run('get', () => {
        sweepIfDue(now)
        const session = liveSession(ref, now)
        return session === undefined ? null : { ...session }
      })
    },

    rotate(ref, expectedJti, next) {
      return run('rotate', () => {
        sweepIfDue(next.rotatedAt)
        const session = liveSession(ref, next.rotatedAt)
        if (session === undefined || session.revokedAt !== null) return null
        if (session.currentJti !== expectedJti) return null
        if (next.expiresAt * 1000 > session.expiresAt || next.purgeAt > session.expiresAt) {
          return null
        }
        const rotated: SessionRecord = {
          ...session,
          lastUsedAt: next.rotatedAt,
          ip: next.ip,
          userAgent: next.userAgent,
          currentJti: next.jti,
          currentIssuedAt: next.issuedAt,
          currentExpiresAt: next.expiresAt,
          previousJti: session.currentJti,
          rotatedAt: next.rotatedAt,
          purgeAt: next.purgeAt,
        }
        sessions.set(session.id, rotated)
        return { ...rotated }
      })
    },

    revoke(ref, revocation) {
      return run('revoke', () => {
        sweepIfDue(revocation.revokedAt)
        const session = liveSession(ref, revocation.revokedAt)
        if (session === undefined) return false
        // Deny even when already revoked: a later revocation may need a later deny-list expiry.
        deny(session.id, revocation.denyUntil)
        if (session.revokedAt !== null) return false
        sessions.set(session.id, {
          ...session,
          revokedAt: revocation.revokedAt,
          revokedReason: revocation.reason,
        })
        return true
      })
    },

    revokeAllForUser(userId, revocation) {
      return run('revokeAllForUser', () => {
        const now = revocation.revokedAt
        sweepIfDue(now)
        const revoked: string[] = []
        for (const sessionId of sessionIdsByUser.get(userId) ?? []) {
          const session = liveSession({ userId, sessionId }, now)
          if (session === undefined || session.revokedAt !== null || now >= session.expiresAt) {
            continue
          }
          sessions.set(sessionId, { ...session, revokedAt: now, revokedReason: revocation.reason })
          deny(sessionId, revocation.denyUntil)
          revoked.push(sessionId)
        }
        return revoked
      })
    },

    listForUser(userId, now) {
      return run('listForUser', () => {
        sweepIfDue(now)
        const live: SessionRecord[] = []
        for (const sessionId of sessionIdsByUser.get(userId) ?? []) {
          const session = liveSession({ userId, sessionId }, now)
          if (session !== undefined && session.revokedAt === null && now < session.expiresAt) {
            live.push({ ...session })
          }
        }
        return live.sort((a, b) => b.lastUsedAt - a.lastUsedAt || b.createdAt - a.createdAt)
      })
    },

    isDenied({ sessionId }, now) {
      return run('isDenied', () => {
        sweepIfDue(now)
        const until = deniedUntil.get(sessionId)
        if (until === undefined) return false
        if (now >= until) {
          deniedUntil.delete(sessionId)
          return false
        }
        return true
      })
    },

    putOneTimeToken(token) {
      return run('putOneTimeToken', () => {
        sweepIfDue(token.createdAt)
        oneTimeTokens.set(tokenKey(token.userId, token.kind), { ...token })
      })
    },

    takeOneTimeToken(userId, kind, tokenHash, now) {
      return run('takeOneTimeToken', () => {
        sweepIfDue(now)
        const key = tokenKey(userId, kind)
        const token = oneTimeTokens.get(key)
        if (token === undefined || token.tokenHash !== tokenHash || now >= token.expiresAt) {
          return null
        }
        oneTimeTokens.delete(key)
        return { ...token }
      })
    },

    dropOneTimeToken(userId, kind) {
      return run('dropOneTimeToken', () => {
        oneTimeTokens.delete(tokenKey(userId, kind))
      })
    },
  }

  return {
    port,
    sweep(now) {
      for (const session of sessions.values()) {
        if (now >= session.purgeAt) forgetSession(session)
      }
      for (const [sessionId, until] of deniedUntil) {
        if (now >= until) deniedUntil.delete(sessionId)
      }
      for (const [key, token] of oneTimeTokens) {
        if (now >= token.expiresAt) oneTimeTokens.delete(key)
      }
    },
    clear() {
      sessions.clear()
      sessionIdsByUser.clear()
      deniedUntil.clear()
      oneTimeTokens.clear()
    },
  }
}
