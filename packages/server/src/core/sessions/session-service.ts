import type { Clock } from '../clock.js'
import { BatonError, RefreshTokenReusedError } from '../errors.js'
import type { BatonObserver, RefreshOutcome, RevocationReason } from '../events.js'
import { randomId } from '../ids.js'
import type {
  AuditLog,
  SessionRecord,
  SessionRef,
  SessionStore,
  UserRecord,
  UserStore,
} from '../ports.js'
import {
  accessStateOf,
  decideRefresh,
  type AccessState,
  type RefreshFacts,
} from './refresh-decision.js'
import type { ScopePolicy } from '../oauth/scope-policy.js'
import type { AccessTokenClaims, AccessTokens } from '../tokens/access-token.js'
import type { RefreshTokenClaims, RefreshTokens } from '../tokens/refresh-token.js'

export interface ClientContext {
  ip: string | null
  userAgent: string | null
}

export interface SessionPolicy {
  /** Seconds. */
  refreshTokenTtl: number
  sessionMaxAge: number
  refreshReuseGrace: number
  slidingRefresh: boolean
  /** Live sessions a user may hold; the oldest beyond it end. 0: no limit. */
  maxSessionsPerUser: number
}

export interface IssuedTokens {
  accessToken: string
  /** Seconds. */
  expiresIn: number
  refreshToken: string
  refreshExpiresIn: number
  session: SessionRecord
  user: UserRecord
  accessClaims: AccessTokenClaims
}

/** One session as its user sees it. Times are epoch ms. */
export interface SessionView {
  id: string
  createdAt: number
  lastUsedAt: number
  /** When it ends if nothing happens: its absolute expiry or its refresh token's, the sooner. */
  expiresAt: number
  ip: string | null
  userAgent: string | null
  /** The session of the token that asked. */
  current: boolean
}

export interface SessionServiceOptions {
  store: SessionStore
  users: UserStore
  audit: AuditLog
  accessTokens: AccessTokens
  refreshTokens: RefreshTokens
  clock: Clock
  policy: SessionPolicy
  scopes: ScopePolicy
  observer: BatonObserver
}

export interface RefreshRequest {
  refreshToken: string
  /** The bearer token sent along, if any (the two-token table). */
  accessToken: string | null
  context: ClientContext
  /**
   * The OAuth client presenting the token, or null (the default) for `/auth/refresh`. A token
   * issued to another client, or to none, is refused before anything changes.
   */
  clientId?: string | null
  /** OAuth `scope`: narrows the new access token within the session's grant, never widens it. */
  scope?: string
}

/**
 * Sessions and refresh-token rotation (docs/architecture.md, docs/api.md "Rotation, reuse and revocation"). Every rule lives in
 * the core once (what a presented refresh token means: `refresh-decision.ts`, which this class
 * feeds with the facts it asks for); stores only do atomic primitives.
 */
export class SessionService {
  readonly #o: SessionServiceOptions

  constructor(options: SessionServiceOptions) {
    this.#o = options
  }

  /** A new session (one device) with its first pair of tokens. */
  async start(
    user: UserRecord,
    context: ClientContext,
    grant: { scope: string; clientId: string | null } = { scope: '', clientId: null },
  ): Promise<IssuedTokens> {
    const now = this.#o.clock.now()
    const expiresAt = now + this.#o.policy.sessionMaxAge * 1000
    const refresh = this.#nextRefreshToken(now, expiresAt)
    const session: SessionRecord = {
      id: randomId(),
      userId: user.id,
      createdAt: now,
      lastUsedAt: now,
      expiresAt,
      ip: context.ip,
      userAgent: context.userAgent,
      scope: grant.scope,
      clientId: grant.clientId,
      currentJti: refresh.jti,
      currentIssuedAt: refresh.iat,
      currentExpiresAt: refresh.exp,
      previousJti: null,
      rotatedAt: null,
      revokedAt: null,
      revokedReason: null,
      purgeAt: this.#purgeAt(refresh.exp, expiresAt),
    }
    await this.#o.store.create(session)
    await this.#capSessions(user.id, context, now)
    return this.#tokensFor(session, user, now)
  }

  /**
   * BATON_MAX_SESSIONS_PER_USER: the newest sessions (by creation, then id) stay, the others end,
   * each audited. Every sign-in applies the same order to what it lists, so concurrent sign-ins
   * agree on who stays: with a limit of 1, two at once end with the later one signed in, not
   * with each revoking the other. One that loses so has been signed out by the other; its
   * tokens are refused from their first use, as after any sign-out elsewhere.
   */
  async #capSessions(userId: string, context: ClientContext, now: number): Promise<void> {
    const max = this.#o.policy.maxSessionsPerUser
    if (max === 0) return
    const live = await this.#o.store.listForUser(userId, now)
    if (live.length <= max) return
    const beyond = live
      .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
      .slice(max)
    for (const session of beyond) {
      if (await this.#revoke({ userId, sessionId: session.id }, 'session_limit', now)) {
        await this.#audit('session_limit', userId, session.id, context, `over ${max} sessions`)
      }
    }
  }

  async #audit(
    type: string,
    userId: string,
    sessionId: string | null,
    context: ClientContext | undefined,
    detail: string | null = null,
  ): Promise<void> {
    await this.#o.audit.record({
      type,
      at: this.#o.clock.now(),
      userId,
      sessionId,
      ip: context?.ip ?? null,
      userAgent: context?.userAgent ?? null,
      actor: null,
      detail,
    })
  }

  /**
   * `/auth/refresh` and the OAuth refresh grant: the two-token table of docs/api.md plus rotation,
   * grace and reuse detection. `accessToken` is the bearer token the client sent along, if any;
   * it only matters when the refresh token has expired (sliding refresh) and is ignored when it
   * is not valid for this session.
   */
  async refresh(input: RefreshRequest): Promise<IssuedTokens> {
    let outcome: RefreshOutcome = 'error'
    try {
      const { tokens, how } = await this.#refresh(input)
      outcome = how
      return tokens
    } catch (error) {
      if (error instanceof BatonError) outcome = outcomeOf(error)
      throw error
    } finally {
      this.#o.observer.refresh?.(outcome)
    }
  }

  async #refresh(input: RefreshRequest): Promise<{ tokens: IssuedTokens; how: RefreshOutcome }> {
    const presented = await this.#o.refreshTokens.inspect(input.refreshToken)
    const claims = presented.claims
    const ref = refOfClaims(claims)
    const facts: RefreshFacts = {
      claims,
      refreshExpired: presented.expired,
      presentedBy: input.clientId ?? null,
      swaps: 'untried',
      now: this.#o.clock.now(),
    }
    // Only I/O here: every rule is in decideRefresh.
    let narrowed: string[] | null | undefined
    for (;;) {
      const decision = decideRefresh(facts, this.#o.policy)
      if (decision.kind === 'reject') {
        throw new BatonError(
          decision.code,
          decision.message,
          decision.detail === undefined ? {} : { detail: decision.detail },
        )
      }
      // After the client check (the first decision), before anything is read or changed.
      if (narrowed === undefined) narrowed = this.#o.scopes.narrow(input.scope, claims.scope ?? '')
      switch (decision.kind) {
        case 'inspect_access':
          facts.access = await this.#accessStateFor(input.accessToken, claims.sid)
          break
        case 'read_session':
          facts.now = this.#o.clock.now()
          facts.session = await this.#o.store.get(ref, facts.now)
          break
        case 'rotate': {
          const rotated = await this.#rotate(
            ref,
            claims.jti,
            decision.sessionExpiresAt,
            input.context,
            facts.now,
          )
          if (rotated) {
            return { tokens: await this.#issueFor(rotated, facts.now, narrowed), how: decision.how }
          }
          facts.swaps = facts.session === undefined ? 'missed_unread' : 'lost'
          facts.session = undefined
          break
        }
        case 'replay_successor':
          return {
            tokens: await this.#issueFor(decision.session, facts.now, narrowed),
            how: 'grace_replay',
          }
        case 'revoke_for_reuse':
          await this.#revokeForReuse(decision.session, input.context, facts.now)
          throw new RefreshTokenReusedError(decision.session.id)
      }
    }
  }

  async #accessStateFor(accessToken: string | null, sessionId: string): Promise<AccessState> {
    if (accessToken === null) return 'absent'
    try {
      return accessStateOf(await this.#o.accessTokens.inspect(accessToken), sessionId)
    } catch (error) {
      // A forged or foreign access token adds nothing: the refresh token decides alone.
      if (error instanceof BatonError && error.code === 'invalid_token') return 'absent'
      throw error
    }
  }

  /**
   * The compare-and-swap to a fresh successor. Its lifetime is clamped to `sessionExpiresAt`;
   * with an unknown expiry (Infinity: the session was not read) the store refuses a successor
   * that would outlive the session (SessionStore.rotate), and the caller reads the record and
   * tries again with the real one.
   */
  async #rotate(
    ref: SessionRef,
    expectedJti: string,
    sessionExpiresAt: number,
    context: ClientContext,
    now: number,
  ): Promise<SessionRecord | null> {
    const next = this.#nextRefreshToken(now, sessionExpiresAt)
    return this.#o.store.rotate(ref, expectedJti, {
      jti: next.jti,
      issuedAt: next.iat,
      expiresAt: next.exp,
      rotatedAt: now,
      ip: context.ip,
      userAgent: context.userAgent,
      purgeAt: this.#purgeAt(next.exp, sessionExpiresAt),
    })
  }

  async #revokeForReuse(
    session: SessionRecord,
    context: ClientContext,
    now: number,
  ): Promise<void> {
    await this.#revoke(refOf(session), 'refresh_token_reused', now)
    await this.#o.audit.record({
      type: 'refresh_token_reused',
      at: now,
      userId: session.userId,
      sessionId: session.id,
      ip: context.ip,
      userAgent: context.userAgent,
      actor: null,
      detail: `an earlier refresh token of the session was presented; session ip ${session.ip ?? '?'}`,
    })
  }

  /**
   * Sign out (`/auth/logout`) the session of whichever tokens are given. It never reveals whether
   * a token was valid: a forged, foreign or unknown one changes nothing, and only a store outage
   * fails the call. Expired tokens still sign their session out.
   */
  async logout(
    tokens: { refreshToken: string | null; accessToken: string | null },
    context?: ClientContext,
  ): Promise<void> {
    if (tokens.refreshToken !== null) {
      await this.logoutWithRefreshToken(tokens.refreshToken, context)
    }
    if (tokens.accessToken !== null) await this.logoutWithAccessToken(tokens.accessToken, context)
  }

  /**
   * Sign out with a refresh token. Any token validly signed for the session will do, even expired;
   * an OAuth client's token is left to `/oauth/revoke`, which knows whose it is.
   */
  async logoutWithRefreshToken(refreshToken: string, context?: ClientContext): Promise<void> {
    let claims: RefreshTokenClaims
    try {
      claims = (await this.#o.refreshTokens.inspect(refreshToken)).claims
    } catch (error) {
      if (error instanceof BatonError && error.code === 'invalid_token') return
      throw error
    }
    if (claims.client_id !== undefined) return
    if (await this.revoke(refOfClaims(claims), 'logout')) {
      await this.#audit('logout', claims.sub, claims.sid, context)
    }
  }

  /** Sign out the session of an access token, expired or not. */
  async logoutWithAccessToken(accessToken: string, context?: ClientContext): Promise<void> {
    let claims: AccessTokenClaims
    try {
      claims = (await this.#o.accessTokens.inspect(accessToken)).claims
    } catch (error) {
      if (error instanceof BatonError && error.code !== 'store_unavailable') return
      throw error
    }
    if (await this.revoke(refOfClaims(claims), 'logout')) {
      await this.#audit('logout', claims.sub, claims.sid, context)
    }
  }

  /** Sign out every live session of the user (`/auth/logout-all`); returns their ids. */
  async logoutEverywhere(
    userId: string,
    context?: ClientContext,
    sessionId: string | null = null,
  ): Promise<string[]> {
    const revoked = await this.revokeAllForUser(userId, 'logout_all')
    await this.#audit('logout_everywhere', userId, sessionId, context, `${revoked.length} sessions`)
    return revoked
  }

  /**
   * The user's live sessions as they see them (`/auth/sessions`), `current` marking the one
   * asking. A session ends at its absolute expiry, or sooner if left idle past its refresh token.
   */
  async describeSessions(userId: string, currentSessionId: string): Promise<SessionView[]> {
    const sessions = await this.list(userId)
    return sessions.map((session) => ({
      id: session.id,
      createdAt: session.createdAt,
      lastUsedAt: session.lastUsedAt,
      expiresAt: Math.min(session.expiresAt, session.currentExpiresAt * 1000),
      ip: session.ip,
      userAgent: session.userAgent,
      current: session.id === currentSessionId,
    }))
  }

  /**
   * The session whose current refresh token this is, while it may still rotate (not revoked, not
   * past its absolute expiry); null otherwise. For introspection: a retired token is inactive
   * even inside the grace window.
   */
  async sessionOfCurrentToken(claims: RefreshTokenClaims): Promise<SessionRecord | null> {
    const now = this.#o.clock.now()
    const session = await this.#o.store.get(refOfClaims(claims), now)
    if (session === null || session.revokedAt !== null || now >= session.expiresAt) return null
    return session.currentJti === claims.jti ? session : null
  }

  async revoke(ref: SessionRef, reason: RevocationReason): Promise<boolean> {
    return this.#revoke(ref, reason, this.#o.clock.now())
  }

  async revokeAllForUser(userId: string, reason: RevocationReason): Promise<string[]> {
    const now = this.#o.clock.now()
    const denyUntil = this.#denyUntil(now)
    const revoked = await this.#o.store.revokeAllForUser(userId, {
      reason,
      revokedAt: now,
      denyUntil,
    })
    this.#o.observer.revocation?.(reason, revoked.length)
    if (revoked.length > 0) this.#o.observer.sessionsRevoked?.(revoked, denyUntil)
    return revoked
  }

  /**
   * Revokes every live session of the user but `keepSessionId` (a password change keeps the
   * session that made it); returns the ids revoked. One revocation per session, announced
   * together. The store has no atomic "all but one", so a session started after the listing
   * stays: call this after the change that makes new sign-ins need the new password.
   */
  async revokeOthers(
    userId: string,
    keepSessionId: string,
    reason: RevocationReason,
  ): Promise<string[]> {
    const now = this.#o.clock.now()
    const denyUntil = this.#denyUntil(now)
    const others = (await this.#o.store.listForUser(userId, now)).filter(
      (session) => session.id !== keepSessionId,
    )
    const revocation = { reason, revokedAt: now, denyUntil }
    const outcomes = await Promise.all(
      others.map((session) => this.#o.store.revoke(refOf(session), revocation)),
    )
    const revoked = others.filter((_, index) => outcomes[index]).map((session) => session.id)
    this.#o.observer.revocation?.(reason, revoked.length)
    if (revoked.length > 0) this.#o.observer.sessionsRevoked?.(revoked, denyUntil)
    return revoked
  }

  /** The user of a session known by its id alone, until its record is purged. */
  async ownerOf(sessionId: string): Promise<string | null> {
    return this.#o.store.findSessionOwner(sessionId, this.#o.clock.now())
  }

  async list(userId: string): Promise<SessionRecord[]> {
    return this.#o.store.listForUser(userId, this.#o.clock.now())
  }

  /** Sign out one of the user's own sessions; another user's session is `not_found`. */
  async deleteOwn(ref: SessionRef, context?: ClientContext): Promise<void> {
    const session = await this.#o.store.get(ref, this.#o.clock.now())
    if (session === null || session.revokedAt !== null) {
      throw new BatonError('not_found', 'No such session.')
    }
    if (await this.revoke(ref, 'session_deleted')) {
      await this.#audit('session_revoked', ref.userId, ref.sessionId, context, 'by its user')
    }
  }

  /** True while the session's access tokens must be refused. */
  async isDenied(ref: SessionRef): Promise<boolean> {
    return this.#o.store.isDenied(ref, this.#o.clock.now())
  }

  async #revoke(ref: SessionRef, reason: RevocationReason, now: number): Promise<boolean> {
    const denyUntil = this.#denyUntil(now)
    const revoked = await this.#o.store.revoke(ref, { reason, revokedAt: now, denyUntil })
    if (revoked) {
      this.#o.observer.revocation?.(reason, 1)
      this.#o.observer.sessionsRevoked?.([ref.sessionId], denyUntil)
    }
    return revoked
  }

  async #issueFor(
    session: SessionRecord,
    now: number,
    narrowed: string[] | null,
  ): Promise<IssuedTokens> {
    const user = await this.#o.users.findUserById(session.userId)
    const ended = endedBy(session, user)
    if (ended !== null || user === null) {
      // Disabling or a new password revokes the sessions at once; this catches a refresh that
      // raced it, or a revocation that failed after the change was stored.
      await this.#revoke(refOf(session), ended ?? 'user_missing', now)
      throw new BatonError('session_revoked', 'This session has ended; sign in again.')
    }
    return this.#tokensFor(session, user, now, narrowed)
  }

  /**
   * The access token gets the session's grant (or the narrowed request) as the user's roles
   * allow it today; the refresh token always carries the original grant, so a later refresh may
   * ask for it again. Re-signing a stored successor (grace replay) gives the same claims.
   */
  #tokensFor(
    session: SessionRecord,
    user: UserRecord,
    now: number,
    narrowed: string[] | null = null,
  ): IssuedTokens {
    const { token: accessToken, claims: accessClaims } = this.#o.accessTokens.issue({
      userId: user.id,
      sessionId: session.id,
      scope: this.#o.scopes.effective(session.scope, narrowed, user.roles),
      roles: user.roles,
      clientId: session.clientId,
    })
    const refreshToken = this.#o.refreshTokens.sign({
      sub: user.id,
      sid: session.id,
      jti: session.currentJti,
      iat: session.currentIssuedAt,
      exp: session.currentExpiresAt,
      scope: session.scope,
      ...(session.clientId === null ? {} : { clientId: session.clientId }),
    })
    return {
      accessToken,
      expiresIn: this.#o.accessTokens.ttl,
      refreshToken,
      refreshExpiresIn: Math.max(0, session.currentExpiresAt - Math.floor(now / 1000)),
      session,
      user,
      accessClaims,
    }
  }

  #nextRefreshToken(
    now: number,
    sessionExpiresAt: number,
  ): { jti: string; iat: number; exp: number } {
    const iat = Math.floor(now / 1000)
    return {
      jti: randomId(),
      iat,
      exp: Math.min(iat + this.#o.policy.refreshTokenTtl, Math.floor(sessionExpiresAt / 1000)),
    }
  }

  /**
   * The record must outlive its refresh token by one access-token lifetime: sliding refresh
   * needs it while an access token of the session is still valid.
   */
  #purgeAt(refreshExpiresAt: number, sessionExpiresAt: number): number {
    return Math.min(sessionExpiresAt, (refreshExpiresAt + this.#o.accessTokens.ttl) * 1000)
  }

  /** Until the last access token issued before `now` has expired. */
  #denyUntil(now: number): number {
    return now + this.#o.accessTokens.ttl * 1000
  }
}

/** Why a session may no longer be refreshed for its user as stored now; null while it may. */
function endedBy(session: SessionRecord, user: UserRecord | null): RevocationReason | null {
  if (user === null) return 'user_missing'
  if (user.disabledAt !== null) return 'admin'
  if (
    user.passwordChangedAt !== null &&
    session.createdAt < user.passwordChangedAt &&
    session.id !== user.passwordChangedIn
  ) {
    return 'password_changed'
  }
  return null
}

function refOf(session: SessionRecord): SessionRef {
  return { userId: session.userId, sessionId: session.id }
}

function refOfClaims(claims: { sub: string; sid: string }): SessionRef {
  return { userId: claims.sub, sessionId: claims.sid }
}

function outcomeOf(error: BatonError): RefreshOutcome {
  switch (error.code) {
    case 'refresh_token_reused':
      return 'reused'
    case 'refresh_token_expired':
    case 'login_required':
      return 'expired'
    case 'session_revoked':
      return 'revoked'
    case 'invalid_token':
    case 'invalid_grant':
    case 'invalid_scope':
      return 'invalid'
    default:
      return 'error'
  }
}
