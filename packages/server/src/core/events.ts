import type { OneTimeTokenKind } from './ports.js'

/**
 * What the core reports to whoever watches it (the server turns these into Prometheus
 * metrics). Observers must not throw; they are called on the hot path.
 */
export type LoginOutcome = 'success' | 'invalid_credentials' | 'rate_limited' | 'signup'
export type RefreshOutcome =
  | 'rotated'
  | 'sliding'
  | 'grace_replay'
  | 'reused'
  | 'expired'
  | 'revoked'
  | 'invalid'
  /** A store failed: nothing was decided. */
  | 'error'
export type RevocationReason =
  | 'logout'
  | 'logout_all'
  | 'session_deleted'
  | 'refresh_token_reused'
  | 'user_missing'
  | 'admin'
  /** The oldest sessions of a user over `BATON_MAX_SESSIONS_PER_USER`. */
  | 'session_limit'
  /** `/oauth/revoke` (RFC 7009). */
  | 'token_revocation'
  /** `/auth/password`: every other session of the user. */
  | 'password_changed'
  /** `/auth/password/reset`: every session of the user. */
  | 'password_reset'

/** The mail the core sends: a password-reset link or an email-verification link. */
export type MailKind = OneTimeTokenKind

export interface BatonObserver {
  login?(outcome: LoginOutcome): void
  refresh?(outcome: RefreshOutcome): void
  revocation?(reason: RevocationReason, sessions: number): void
  /**
   * These sessions were revoked; their access tokens must be refused until `denyUntil` (epoch
   * ms), when the last of them expires. For announcing revocations to other services.
   */
  sessionsRevoked?(sessionIds: string[], denyUntil: number): void
  /**
   * A message was handed to the mailer (`sent`) or could not be (`failed`, with the mailer's
   * error). Called after the request that asked for it has been answered.
   */
  mail?(kind: MailKind, outcome: 'sent' | 'failed', error?: unknown): void
}
