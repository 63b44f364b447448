import type { SessionRecord, StoredSecurityEvent } from '../core/ports.js'
import type { AdminUserView } from '../core/users/admin-service.js'

// What operators see of users, sessions and events, the same from the admin API and from
// `baton … --json`: times as ISO-8601, never a hash or token.

export const iso = (epochMs: number | null): string | null =>
  epochMs === null ? null : new Date(epochMs).toISOString()

export const userJson = (user: AdminUserView) => ({
  id: user.id,
  email: user.email,
  roles: user.roles,
  createdAt: iso(user.createdAt),
  disabledAt: iso(user.disabledAt),
  emailVerifiedAt: iso(user.emailVerifiedAt),
  passwordChangedAt: iso(user.passwordChangedAt),
})

export const sessionJson = (session: SessionRecord) => ({
  id: session.id,
  createdAt: iso(session.createdAt),
  lastUsedAt: iso(session.lastUsedAt),
  expiresAt: iso(session.expiresAt),
  ip: session.ip,
  userAgent: session.userAgent,
  clientId: session.clientId,
  scope: session.scope,
})

export const eventJson = (event: StoredSecurityEvent) => ({
  id: event.id,
  type: event.type,
  at: iso(event.at),
  userId: event.userId,
  sessionId: event.sessionId,
  ip: event.ip,
  userAgent: event.userAgent,
  actor: event.actor,
  detail: event.detail,
})
