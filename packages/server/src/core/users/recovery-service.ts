import { createHash, randomBytes } from 'node:crypto'
import type { Clock } from '../clock.js'
import { BatonError, RateLimitedError } from '../errors.js'
import type { BatonObserver } from '../events.js'
import { checkNewPassword } from '../passwords/password-policy.js'
import type {
  AuditLog,
  Mailer,
  OneTimeToken,
  OneTimeTokenKind,
  PasswordHasher,
  SessionStore,
  UserChange,
  UserRecord,
  UserStore,
} from '../ports.js'
import type { ClientContext, SessionService } from '../sessions/session-service.js'
import { sessionCount } from './admin-service.js'
import { normalizeEmail } from './email.js'
import { lifetimeInWords, renderMail, type MailTemplates } from './mail-templates.js'

/** How long a mailed link works, in minutes (`{{minutes}}` of the templates). */
export const linkLifetimeMinutes: Readonly<Record<OneTimeTokenKind, number>> = {
  // Whoever holds it may take the account over: short.
  password_reset: 15,
  // It only proves the address, and a sign-up's mail may be read the next day.
  email_verification: 24 * 60,
}

/**
 * The requests that mail a link (`/auth/password/forgot`, `/auth/email/resend`), counted in the
 * session store like failed logins, for known and unknown addresses alike so the limit tells
 * nothing: per address and kind, and per client IP across both kinds.
 */
export const mailRequestLimits = {
  windowSeconds: 15 * 60,
  perAddress: 3,
  perIp: 20,
} as const

/** The login-failure counter of an address (`/auth/login`, the password grant, `/auth/password`). */
export const loginCounterKey = (normalizedEmail: string): string => `login:${normalizedEmail}`

export interface RecoveryServiceOptions {
  users: UserStore
  /** One-time tokens and request counters: the session store, shared by every instance. */
  store: SessionStore
  audit: AuditLog
  hasher: PasswordHasher
  sessions: SessionService
  clock: Clock
  observer: BatonObserver
  mailer: Mailer
  templates: MailTemplates
  /** The pages the links open (BATON_PASSWORD_RESET_URL, BATON_EMAIL_VERIFICATION_URL). */
  links: Readonly<Record<OneTimeTokenKind, string>>
}

const invalidLink = (): BatonError =>
  new BatonError('invalid_link', 'This link is invalid or has expired; ask for a new one.')

/** A token as mailed: `<userId>.<secret>`, the secret 32 random bytes in base64url. */
interface ParsedToken {
  userId: string
  secret: string
}

const secretBytes = 32
const tokenPattern = /^([A-Za-z0-9_-]{1,128})\.([A-Za-z0-9_-]{43})$/

function parseToken(token: string): ParsedToken | null {
  const match = tokenPattern.exec(token)
  if (match === null) return null
  return { userId: match[1] ?? '', secret: match[2] ?? '' }
}

/** What the store keeps of a token: never the token. */
export function hashOfSecret(secret: string): string {
  return `sha256:${createHash('sha256').update(secret).digest('base64url')}`
}

/**
 * Password reset and email verification: single-use links mailed to the account's address
 * (docs/api.md, "Password change, reset and email verification"). The store keeps one live
 * token per user and kind, as a hash; taking it is the store's atomic compare-and-delete, so a
 * link works once however many tabs post it. Mail is sent after the answer: a request never
 * waits for (or tells anything by) the mailer.
 */
export class RecoveryService {
  readonly #o: RecoveryServiceOptions

  constructor(options: RecoveryServiceOptions) {
    this.#o = options
  }

  /**
   * `/auth/password/forgot`: a reset link to the address if it has an account. The same answer
   * (nothing) whether it does or not, once the request is within the limits.
   */
  async requestPasswordReset(email: string, context: ClientContext): Promise<void> {
    const normalized = normalizedOrNull(email)
    await this.#throttle('password_reset', normalized, context)
    const user = normalized === null ? null : await this.#o.users.findUserByEmail(normalized)
    if (user === null || user.disabledAt !== null) {
      const why = user === null ? 'no account with this address' : 'account disabled: no mail'
      await this.#event('password_reset_requested', user?.id ?? null, context, why)
      return
    }
    await this.#mailLink(user, 'password_reset')
    await this.#event('password_reset_requested', user.id, context)
  }

  /**
   * `/auth/password/reset`: the new password for the link's account, whose every session ends.
   * A new password the policy refuses leaves the link usable; a failure after the link is taken
   * (a store outage) puts it back, so the same link can be tried again.
   */
  async resetPassword(token: string, password: string, context: ClientContext): Promise<void> {
    const parsed = parseToken(token)
    checkNewPassword(password)
    if (parsed === null) throw invalidLink()
    await this.#redeem(parsed, 'password_reset', async (user) => {
      const passwordHash = await this.#o.hasher.hash(password)
      // Every session older than the reset is refused at its next refresh, even should the
      // revocation below fail after this is stored.
      const change: UserChange = {
        passwordHash,
        passwordChangedAt: this.#o.clock.now(),
        passwordChangedIn: null,
      }
      // Only the address's owner could follow the link.
      if (user.emailVerifiedAt === null) change.emailVerifiedAt = this.#o.clock.now()
      if (!(await this.#o.users.updateUser(user.id, change))) throw invalidLink()
      const revoked = await this.#o.sessions.revokeAllForUser(user.id, 'password_reset')
      await this.#o.store.resetCounter(loginCounterKey(user.email))
      await this.#event(
        'password_reset',
        user.id,
        context,
        `${sessionCount(revoked.length)} revoked${change.emailVerifiedAt === undefined ? '' : '; address verified'}`,
      )
    })
  }

  /**
   * Sign-up with BATON_REQUIRE_VERIFIED_EMAIL: the first verification link. The account exists
   * by then, so a store that fails to keep the link fails the mail, not the sign-up (reported
   * to `observer.mail`); `/auth/email/resend` asks again.
   */
  async mailVerification(user: UserRecord): Promise<void> {
    try {
      await this.#mailLink(user, 'email_verification')
    } catch (error) {
      this.#o.observer.mail?.('email_verification', 'failed', error)
    }
  }

  /**
   * `/auth/email/resend`: a new verification link if the address has an account that is not
   * verified yet. The same answer either way, within the same limits as a reset request.
   */
  async requestVerification(email: string, context: ClientContext): Promise<void> {
    const normalized = normalizedOrNull(email)
    await this.#throttle('email_verification', normalized, context)
    const user = normalized === null ? null : await this.#o.users.findUserByEmail(normalized)
    if (user === null || user.disabledAt !== null || user.emailVerifiedAt !== null) {
      const why =
        user === null
          ? 'no account with this address'
          : user.disabledAt !== null
            ? 'account disabled: no mail'
            : 'already verified: no mail'
      await this.#event('email_verification_requested', user?.id ?? null, context, why)
      return
    }
    await this.#mailLink(user, 'email_verification')
    await this.#event('email_verification_requested', user.id, context)
  }

  /** `/auth/email/verify`: the link's address is verified (again, harmlessly, if it was). */
  async verifyEmail(token: string, context: ClientContext): Promise<void> {
    const parsed = parseToken(token)
    if (parsed === null) throw invalidLink()
    await this.#redeem(parsed, 'email_verification', async (user) => {
      if (user.emailVerifiedAt === null) {
        const now = this.#o.clock.now()
        if (!(await this.#o.users.updateUser(user.id, { emailVerifiedAt: now }))) {
          throw invalidLink()
        }
      }
      await this.#event('email_verified', user.id, context)
    })
  }

  /**
   * Takes the link's token, checks that it still belongs to the account's current address, and
   * runs `use`. When anything after the take fails but the link itself (a store outage, say),
   * the token is put back; should a newer link have been asked for meanwhile, that one is lost.
   */
  async #redeem(
    parsed: ParsedToken,
    kind: OneTimeTokenKind,
    use: (user: UserRecord) => Promise<void>,
  ): Promise<void> {
    const now = this.#o.clock.now()
    const taken = await this.#o.store.takeOneTimeToken(
      parsed.userId,
      kind,
      hashOfSecret(parsed.secret),
      now,
    )
    if (taken === null) throw invalidLink()
    try {
      const user = await this.#o.users.findUserById(parsed.userId)
      // A link for an address the account no longer has, or for a disabled account, is void.
      if (user === null || user.email !== taken.email || user.disabledAt !== null) {
        throw invalidLink()
      }
      await use(user)
    } catch (error) {
      if (!(error instanceof BatonError && error.code === 'invalid_link')) {
        await this.#o.store.putOneTimeToken(taken).catch(() => undefined)
      }
      throw error
    }
  }

  /** A new token for the user (replacing their earlier one), stored and mailed after the answer. */
  async #mailLink(user: UserRecord, kind: OneTimeTokenKind): Promise<void> {
    const secret = randomBytes(secretBytes).toString('base64url')
    const now = this.#o.clock.now()
    const minutes = linkLifetimeMinutes[kind]
    const record: OneTimeToken = {
      userId: user.id,
      kind,
      tokenHash: hashOfSecret(secret),
      email: user.email,
      createdAt: now,
      expiresAt: now + minutes * 60_000,
    }
    const link = new URL(this.#o.links[kind])
    link.searchParams.set('token', `${user.id}.${secret}`)
    const message = renderMail(this.#o.templates[kind], user.email, {
      link: link.toString(),
      email: user.email,
      minutes: String(minutes),
      lifetime: lifetimeInWords(minutes),
    })
    const observer = this.#o.observer
    // Not awaited, the token's write included: the answer must not wait for (nor its timing
    // tell) whether the address has an account and a mail went out.
    Promise.resolve()
      .then(() => this.#o.store.putOneTimeToken(record))
      .then(() => this.#o.mailer.send(message))
      .then(
        () => observer.mail?.(kind, 'sent'),
        (error: unknown) => observer.mail?.(kind, 'failed', error),
      )
      .catch(() => undefined)
  }

  /**
   * Counts the request per client IP and per address (known or not), and refuses it past
   * either limit: both counters move first, so parallel requests cannot slip past.
   */
  async #throttle(
    kind: OneTimeTokenKind,
    email: string | null,
    context: ClientContext,
  ): Promise<void> {
    const { windowSeconds, perAddress, perIp } = mailRequestLimits
    const now = this.#o.clock.now()
    const counted: { key: string; limit: number }[] = []
    if (context.ip !== null) counted.push({ key: `mail-ip:${context.ip}`, limit: perIp })
    if (email !== null) counted.push({ key: `mail:${kind}:${email}`, limit: perAddress })
    let retryAfter: number | null = null
    for (const { key, limit } of counted) {
      const state = await this.#o.store.hit(key, windowSeconds * 1000, now)
      if (state.count > limit) {
        retryAfter = Math.max(retryAfter ?? 0, (state.resetAt - now) / 1000)
      }
    }
    if (retryAfter !== null) throw new RateLimitedError(retryAfter)
  }

  async #event(
    type: string,
    userId: string | null,
    context: ClientContext,
    detail: string | null = null,
  ): Promise<void> {
    await this.#o.audit.record({
      type,
      at: this.#o.clock.now(),
      userId,
      sessionId: null,
      ip: context.ip,
      userAgent: context.userAgent,
      actor: null,
      detail,
    })
  }
}

/** An address we could hold, or null: a malformed one is answered as an unknown one. */
function normalizedOrNull(email: string): string | null {
  try {
    return normalizeEmail(email)
  } catch {
    return null
  }
}
