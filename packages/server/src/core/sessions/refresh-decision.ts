import type { BatonErrorCode } from '../errors.js'
import type { SessionRecord } from '../ports.js'
import type { RefreshTokenClaims } from '../tokens/refresh-token.js'

/**
 * The refresh decision (docs/api.md "The two-token table") as a
 * pure step function: given what is known so far about a refresh request, it says what to do
 * next. When it needs a fact it does not have (the access token's state, the stored session) it
 * asks for it, so that the common case (the current token of a live session) costs one store
 * call: an unread compare-and-swap. `SessionService.refresh` does the I/O around it.
 */

/** The access token sent along with a refresh token, as it bears on this session. */
export type AccessState =
  /** Valid (signature, issuer, audience, not expired) and of the presented token's session. */
  | 'valid'
  /** Of the presented token's session, correctly signed, past its `exp`. */
  | 'expired'
  /** None sent, forged, foreign, or of another session: it adds nothing. */
  | 'absent'

/**
 * What became of the compare-and-swaps tried so far. `missed_unread`: the swap tried without
 * reading the session failed, so the record decides. `lost`: a swap on the read record failed, so
 * a concurrent refresh of the same token won and its result decides.
 */
export type SwapHistory = 'untried' | 'missed_unread' | 'lost'

export interface RefreshFacts {
  /** The presented refresh token's claims, its signature, issuer and audience checked. */
  claims: RefreshTokenClaims
  /** Its `exp` has passed. */
  refreshExpired: boolean
  /** The OAuth client presenting it; null at `/auth/refresh`. */
  presentedBy: string | null
  /** Undefined until inspected (only asked for when the refresh token has expired). */
  access?: AccessState
  /** The stored session: undefined until read, null when the store has no such record. */
  session?: SessionRecord | null
  swaps: SwapHistory
  /** Epoch ms. */
  now: number
}

export interface RefreshRules {
  /** Seconds a retired token keeps getting its successor back; 0 turns replay off. */
  refreshReuseGrace: number
  /** The "valid access + expired refresh" row slides the session instead of refusing. */
  slidingRefresh: boolean
}

export type RefreshRejectionCode = Extract<
  BatonErrorCode,
  'invalid_token' | 'invalid_grant' | 'login_required' | 'refresh_token_expired' | 'session_revoked'
>

export type RefreshDecision =
  | { kind: 'inspect_access' }
  | { kind: 'read_session' }
  /**
   * Compare-and-swap the presented (current) token for a fresh successor whose lifetime ends by
   * `sessionExpiresAt` (epoch ms; Infinity when the session was not read: the store then refuses
   * a successor that would outlive it).
   */
  | { kind: 'rotate'; sessionExpiresAt: number; how: 'rotated' | 'sliding' }
  /** A retried refresh inside the grace window: hand back the session's current successor. */
  | { kind: 'replay_successor'; session: SessionRecord }
  /** A retired token came back: revoke the whole session, the token may be stolen. */
  | { kind: 'revoke_for_reuse'; session: SessionRecord }
  | { kind: 'reject'; code: RefreshRejectionCode; message: string; detail?: string }

const sessionEnded = {
  kind: 'reject',
  code: 'session_revoked',
  message: 'This session has ended; sign in again.',
} as const satisfies RefreshDecision

const refreshExpired = {
  kind: 'reject',
  code: 'refresh_token_expired',
  message: 'The refresh token has expired.',
} as const satisfies RefreshDecision

/** The next step of a refresh, from the facts gathered so far. Pure: reads nothing, changes nothing. */
export function decideRefresh(facts: RefreshFacts, rules: RefreshRules): RefreshDecision {
  const { claims, session, now } = facts
  // Reads only the signed claims: a refused request changes nothing, not even by rotating, so
  // the rightful client's token stays good.
  const wrongClient = clientMismatch(claims.client_id ?? null, facts.presentedBy)
  if (wrongClient !== null) return wrongClient

  if (facts.refreshExpired) {
    if (facts.access === undefined) return { kind: 'inspect_access' }
    if (facts.access === 'expired') {
      return {
        kind: 'reject',
        code: 'login_required',
        message: 'Both tokens have expired; sign in again.',
      }
    }
    // Row 3: only the session's current token slides, in a live session, and only once.
    if (facts.access !== 'valid' || !rules.slidingRefresh || facts.swaps === 'lost') {
      return refreshExpired
    }
    if (session === undefined) return { kind: 'read_session' }
    if (
      session === null ||
      session.revokedAt !== null ||
      session.currentJti !== claims.jti ||
      now >= session.expiresAt
    ) {
      return refreshExpired
    }
    return { kind: 'rotate', sessionExpiresAt: session.expiresAt, how: 'sliding' }
  }

  if (session === undefined) {
    return facts.swaps === 'untried'
      ? { kind: 'rotate', sessionExpiresAt: Number.POSITIVE_INFINITY, how: 'rotated' }
      : { kind: 'read_session' }
  }
  if (session === null || session.revokedAt !== null) return sessionEnded
  if (now >= session.expiresAt) {
    return {
      kind: 'reject',
      code: 'refresh_token_expired',
      message: 'The session reached its maximum age; sign in again.',
    }
  }
  if (claims.jti === session.currentJti && facts.swaps !== 'lost') {
    return { kind: 'rotate', sessionExpiresAt: session.expiresAt, how: 'rotated' }
  }
  if (
    session.previousJti === claims.jti &&
    session.rotatedAt !== null &&
    now - session.rotatedAt <= rules.refreshReuseGrace * 1000
  ) {
    return { kind: 'replay_successor', session }
  }
  return { kind: 'revoke_for_reuse', session }
}

/** The access token's bearing on the session: `inspected` is null when none came or it is invalid. */
export function accessStateOf(
  inspected: { claims: { sid: string }; expired: boolean } | null,
  sessionId: string,
): AccessState {
  if (inspected === null || inspected.claims.sid !== sessionId) return 'absent'
  return inspected.expired ? 'expired' : 'valid'
}

/**
 * A refresh token of an OAuth client serves that client only, at `/oauth/token`; one of a
 * `/auth` session serves `/auth/refresh` only.
 */
function clientMismatch(
  issuedTo: string | null,
  presentedBy: string | null,
): RefreshDecision | null {
  if (issuedTo === presentedBy) return null
  if (presentedBy === null) {
    return {
      kind: 'reject',
      code: 'invalid_token',
      message: 'This refresh token belongs to an OAuth client.',
      detail: `issued to client ${issuedTo ?? '?'}`,
    }
  }
  return {
    kind: 'reject',
    code: 'invalid_grant',
    message: 'The refresh token was issued to another client.',
    detail: `issued to ${issuedTo === null ? 'a /auth session' : `client ${issuedTo}`}`,
  }
}
