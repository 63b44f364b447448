import type { ScopePolicy } from '../oauth/scope-policy.js'
import type { Clock } from '../clock.js'
import { BatonError, RateLimitedError } from '../errors.js'
import type { BatonObserver } from '../events.js'
import { randomId } from '../ids.js'
import { checkNewPassword, maxPasswordLength } from '../passwords/password-policy.js'
import type { AuditLog, PasswordHasher, SessionStore, UserRecord, UserStore } from '../ports.js'
import type { ClientContext, IssuedTokens, SessionService } from '../sessions/session-service.js'
import { normalizeEmail } from './email.js'
import { loginCounterKey, type RecoveryService } from './recovery-service.js'

export interface AccountServiceOptions {
  users: UserStore
  /** Where the login-failure counters live (the session store, shared by every instance). */
  counters: SessionStore
  audit: AuditLog
  hasher: PasswordHasher
  sessions: SessionService
  clock: Clock
  loginMaxFailures: number
  /** Seconds. */
  loginFailureWindow: number
  observer: BatonObserver
  /** Which scopes a user's roles allow (`/auth` sign-in with a `scope`). */
  scopes: ScopePolicy
  /** BATON_REQUIRE_VERIFIED_EMAIL. */
  requireVerifiedEmail: boolean
  /** Mails the verification link of a new account when it is required. */
  recovery: RecoveryService
}

/** The OAuth password grant: the session belongs to a client and holds a scope. */
export interface OAuthLogin {
  clientId: string
  /** The grant for this user; throws (`invalid_scope`) to refuse before a session starts. */
  scopeFor(user: UserRecord): string
}

/** The signed-in user as `/auth/me` shows it: never the password hash. Times are epoch ms. */
export interface UserView {
  id: string
  email: string
  roles: string[]
  createdAt: number
}

/**
 * Sign-up while BATON_REQUIRE_VERIFIED_EMAIL is on: the account exists and a verification link
 * is on its way, but nobody is signed in until it is followed.
 */
export interface AwaitingVerification {
  awaitingVerification: true
  user: UserView
}

const invalidCredentials = (): BatonError =>
  new BatonError('invalid_credentials', 'The email or password is incorrect.')

export class AccountService {
  readonly #o: AccountServiceOptions
  /** Hash of a random password: unknown emails cost the same verification as known ones. */
  #dummyHash: Promise<string> | undefined

  constructor(options: AccountServiceOptions) {
    this.#o = options
  }

  /** Computes the dummy hash ahead of the first login. */
  async warm(): Promise<void> {
    await this.#dummy()
  }

  /**
   * Who the holder of an authenticated access token is. A token outliving its account (deleted
   * since it was issued) is `invalid_token`.
   */
  async me(claims: { sub: string }): Promise<UserView> {
    const user = await this.#o.users.findUserById(claims.sub)
    if (user === null) throw new BatonError('invalid_token', 'The account no longer exists.')
    return viewOf(user)
  }

  /**
   * `scope`: what the new session's access tokens carry, within what a new user's roles allow;
   * refused (`invalid_scope`) before anything is written. With BATON_REQUIRE_VERIFIED_EMAIL no
   * session starts: the verification link is mailed instead.
   */
  async signup(
    email: string,
    password: string,
    context: ClientContext,
    scope?: string,
  ): Promise<IssuedTokens | AwaitingVerification> {
    const normalized = normalizeEmail(email)
    checkNewPassword(password)
    const roles = ['user']
    const grant = { scope: this.#o.scopes.grant(scope, roles), clientId: null }
    const user: UserRecord = {
      id: randomId(),
      email: normalized,
      passwordHash: await this.#o.hasher.hash(password),
      roles,
      createdAt: this.#o.clock.now(),
      disabledAt: null,
      emailVerifiedAt: null,
      passwordChangedAt: null,
      passwordChangedIn: null,
    }
    if (!(await this.#o.users.createUser(user))) {
      throw new BatonError('email_taken', 'An account with this email already exists.')
    }
    this.#o.observer.login?.('signup')
    if (this.#o.requireVerifiedEmail) {
      await this.#o.recovery.mailVerification(user)
      await this.#event('signup', user.id, null, context, 'verification link mailed')
      return { awaitingVerification: true, user: viewOf(user) }
    }
    const tokens = await this.#o.sessions.start(user, context, grant)
    await this.#event('signup', user.id, tokens.session.id, context)
    return tokens
  }

  /**
   * `/auth/password`: the current password is checked under the login limit of the account (a
   * stolen access token cannot guess it faster than a login could), the new one under the
   * sign-up policy. Every other session of the user is revoked; the one asking stays.
   */
  async changePassword(
    claims: { sub: string; sid: string },
    currentPassword: string,
    newPassword: string,
    context: ClientContext,
  ): Promise<{ sessionsRevoked: number }> {
    checkNewPassword(newPassword)
    const user = await this.#o.users.findUserById(claims.sub)
    if (user === null) throw new BatonError('invalid_token', 'The account no longer exists.')
    const counterKey = loginCounterKey(user.email)
    const now = this.#o.clock.now()
    const attempts = await this.#o.counters.hit(counterKey, this.#o.loginFailureWindow * 1000, now)
    if (attempts.count > this.#o.loginMaxFailures) {
      throw new RateLimitedError((attempts.resetAt - now) / 1000)
    }
    const candidate = [...currentPassword].length > maxPasswordLength ? '' : currentPassword
    const matches = await this.#o.hasher.verify(user.passwordHash, candidate)
    if (!matches || candidate === '') {
      await this.#event(
        'login_failed',
        user.id,
        claims.sid,
        context,
        'password change: wrong current password',
      )
      throw invalidCredentials()
    }
    await this.#o.counters.resetCounter(counterKey)
    const passwordHash = await this.#o.hasher.hash(newPassword)
    const change = {
      passwordHash,
      passwordChangedAt: this.#o.clock.now(),
      passwordChangedIn: claims.sid,
    }
    if (!(await this.#o.users.updateUser(user.id, change))) {
      throw new BatonError('invalid_token', 'The account no longer exists.')
    }
    // The change is made: from here on a sign-in needs the new password, and every other
    // session older than the change is refused at its next refresh. What follows ends them
    // sooner (their access tokens too) and voids a reset link mailed before; should the store
    // fail now, the change stands and is answered as made.
    let detail: string
    let sessionsRevoked = 0
    try {
      await this.#o.counters.dropOneTimeToken(user.id, 'password_reset')
      sessionsRevoked = (
        await this.#o.sessions.revokeOthers(user.id, claims.sid, 'password_changed')
      ).length
      detail = `${sessionsRevoked} other ${sessionsRevoked === 1 ? 'session' : 'sessions'} revoked`
    } catch {
      detail = 'revoking the other sessions failed: they end at their next refresh'
    }
    // Past the change an audit outage cannot undo it; answering 503 would say it failed.
    await this.#event('password_changed', user.id, claims.sid, context, detail).catch(() => {})
    return { sessionsRevoked }
  }

  /**
   * Same answer, and about the same time, for an unknown email and a wrong password. At most
   * `loginMaxFailures` password checks per account per window: the attempt is counted before
   * the check, so parallel guesses cannot slip past the limit.
   */
  async login(
    email: string,
    password: string,
    context: ClientContext,
    grant?: OAuthLogin | { scope: string | undefined },
  ): Promise<IssuedTokens> {
    // A malformed or unknown scope is refused before the password is checked (and counted): no
    // password makes it right. One the user's roles do not allow waits for the user.
    if (grant !== undefined && 'scope' in grant) this.#o.scopes.known(grant.scope)
    const user = await this.authenticate(email, password, context)
    const tokens = await this.#o.sessions.start(
      user,
      context,
      grant === undefined
        ? undefined
        : 'clientId' in grant
          ? { clientId: grant.clientId, scope: grant.scopeFor(user) }
          : { clientId: null, scope: this.#o.scopes.grant(grant.scope, user.roles) },
    )
    // An account disabled, or its password changed, while the password was being checked:
    // either revoked every session there was, not this one, created after it.
    const now = await this.#o.users.findUserById(user.id)
    if (now === null || now.disabledAt !== null || now.passwordHash !== user.passwordHash) {
      const ref = { userId: user.id, sessionId: tokens.session.id }
      if (now !== null && now.disabledAt === null) {
        await this.#o.sessions.revoke(ref, 'password_changed')
        await this.#event('login_failed', user.id, null, context, 'password changed meanwhile')
        throw invalidCredentials()
      }
      await this.#o.sessions.revoke(ref, 'admin')
      throw new BatonError(
        'account_disabled',
        'This account is disabled; an administrator can enable it again.',
      )
    }
    await this.#event('login', user.id, tokens.session.id, context)
    return tokens
  }

  /** Checks the credentials with the rate limit; the user on success. */
  async authenticate(email: string, password: string, context: ClientContext): Promise<UserRecord> {
    let normalized: string
    try {
      normalized = normalizeEmail(email)
    } catch {
      // Not an address we could hold: the same answer as any other unknown email.
      await this.#o.hasher.verify(await this.#dummy(), password)
      this.#o.observer.login?.('invalid_credentials')
      throw invalidCredentials()
    }
    const counterKey = loginCounterKey(normalized)
    const now = this.#o.clock.now()
    const attempts = await this.#o.counters.hit(counterKey, this.#o.loginFailureWindow * 1000, now)
    if (attempts.count > this.#o.loginMaxFailures) {
      // Once per window, not per attempt: a flood must not turn into as many audit writes.
      if (attempts.count === this.#o.loginMaxFailures + 1) {
        const limited = await this.#o.users.findUserByEmail(normalized)
        await this.#event('login_rate_limited', limited?.id ?? null, null, context, normalized)
      }
      this.#o.observer.login?.('rate_limited')
      throw new RateLimitedError((attempts.resetAt - now) / 1000)
    }
    const user = await this.#o.users.findUserByEmail(normalized)
    // Overlong input is never a stored password; hashing it would only cost us.
    const candidate = [...password].length > maxPasswordLength ? '' : password
    const matches = await this.#o.hasher.verify(
      user?.passwordHash ?? (await this.#dummy()),
      candidate,
    )
    if (user === null || !matches || candidate === '') {
      this.#o.observer.login?.('invalid_credentials')
      await this.#event('login_failed', user?.id ?? null, null, context)
      throw invalidCredentials()
    }
    await this.#o.counters.resetCounter(counterKey)
    // Said only to whoever knows the password: to anyone else it is any failed login.
    if (user.disabledAt !== null) {
      await this.#event('login_failed', user.id, null, context, 'account disabled')
      throw new BatonError(
        'account_disabled',
        'This account is disabled; an administrator can enable it again.',
      )
    }
    if (this.#o.requireVerifiedEmail && user.emailVerifiedAt === null) {
      await this.#event('login_failed', user.id, null, context, 'email not verified')
      throw new BatonError(
        'email_not_verified',
        'Confirm your email address first: follow the link we sent, or ask for a new one.',
      )
    }
    this.#o.observer.login?.('success')
    return user
  }

  async #dummy(): Promise<string> {
    this.#dummyHash ??= this.#o.hasher.hash(randomId())
    return this.#dummyHash
  }

  async #event(
    type: string,
    userId: string | null,
    sessionId: string | null,
    context: ClientContext,
    detail: string | null = null,
  ): Promise<void> {
    await this.#o.audit.record({
      type,
      at: this.#o.clock.now(),
      userId,
      sessionId,
      ip: context.ip,
      userAgent: context.userAgent,
      actor: null,
      detail,
    })
  }
}

function viewOf(user: UserRecord): UserView {
  return { id: user.id, email: user.email, roles: user.roles, createdAt: user.createdAt }
}
