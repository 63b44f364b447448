import { randomId } from '../../packages/server/src/core/ids.js'
import type {
  SessionRecord,
  SessionRef,
  SessionRevocation,
  SessionRotation,
} from '../../packages/server/src/core/ports.js'

export const SECOND = 1000
export const MINUTE = 60 * SECOND
export const HOUR = 60 * MINUTE
export const DAY = 24 * HOUR

// Every test starts at the wall clock and stays within a few hours of it, while records live for
// days: a store that sweeps on its own cannot remove another test's records from under it.
/** A fresh session record with random ids, created at `now`. */
export function session(now: number, overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id: randomId(),
    userId: randomId(),
    createdAt: now,
    lastUsedAt: now,
    expiresAt: now + 90 * DAY,
    ip: '203.0.113.7',
    userAgent: 'contract-test/1.0',
    scope: 'openid profile',
    clientId: 'baton',
    currentJti: randomId(),
    currentIssuedAt: Math.floor(now / SECOND),
    currentExpiresAt: Math.floor(now / SECOND) + 14 * 86_400,
    previousJti: null,
    rotatedAt: null,
    revokedAt: null,
    revokedReason: null,
    purgeAt: now + 14 * DAY + HOUR,
    ...overrides,
  }
}

export function refOf(session: SessionRecord): SessionRef {
  return { userId: session.userId, sessionId: session.id }
}

/** A successor token issued at `now`. */
export function rotation(now: number, overrides: Partial<SessionRotation> = {}): SessionRotation {
  return {
    jti: randomId(),
    issuedAt: Math.floor(now / SECOND),
    expiresAt: Math.floor(now / SECOND) + 14 * 86_400,
    rotatedAt: now,
    ip: '198.51.100.23',
    userAgent: 'contract-test/2.0',
    purgeAt: now + 14 * DAY + 2 * HOUR,
    ...overrides,
  }
}

export function revocation(
  now: number,
  overrides: Partial<SessionRevocation> = {},
): SessionRevocation {
  return { reason: 'logout', revokedAt: now, denyUntil: now + 15 * MINUTE, ...overrides }
}
