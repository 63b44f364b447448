import type { Clock } from '../clock.js'
import { BatonError } from '../errors.js'
import { randomId } from '../ids.js'
import { checkNewPassword } from '../passwords/password-policy.js'
import type {
  AuditLog,
  EventQuery,
  Page,
  PasswordHasher,
  SessionRecord,
  SessionStore,
  StoredSecurityEvent,
  UserRecord,
  UserStore,
} from '../ports.js'
import type { SessionService } from '../sessions/session-service.js'
import { normalizeEmail } from './email.js'

/**
 * Who changes an account when it is not its owner: an administrator over the admin API (their
 * user id, and the IP and user agent they asked from) or `cli` (the `baton` command). Every
 * change below is audited with it: the id as the event's `actor`, the rest as its IP and user
 * agent.
 */
export type Actor = 'cli' | { id: string; ip: string | null; userAgent: string | null }

/** A user as operators see it: never the password hash. Times are epoch ms. */
export interface AdminUserView {
  id: string
  email: string
  roles: string[]
  createdAt: number
  disabledAt: number | null
  emailVerifiedAt: number | null
  /** When its owner last changed or reset the password; null if never. */
  passwordChangedAt: number | null
}

export interface AdminServiceOptions {
  users: UserStore
  audit: AuditLog
  hasher: PasswordHasher
  sessions: SessionService
  /** Where mailed links are kept: disabling an account voids its password-reset link. */
  oneTimeTokens: Pick<SessionStore, 'dropOneTimeToken'>
  clock: Clock
}

/** Role names: what `requireRole` and `BATON_SCOPES` name, so no spaces, commas or quotes. */
const rolePattern = /^[a-z][a-z0-9_.:-]{0,63}$/
/** Session ids are base64url (core/ids.ts); anything else names no session, in any store. */
const sessionIdPattern = /^[A-Za-z0-9_-]{1,128}$/
export const maxRoles = 32
export const maxPageSize = 200

export function viewOf(user: UserRecord): AdminUserView {
  return {
    id: user.id,
    email: user.email,
    roles: user.roles,
    createdAt: user.createdAt,
    disabledAt: user.disabledAt,
    emailVerifiedAt: user.emailVerifiedAt,
    passwordChangedAt: user.passwordChangedAt,
  }
}

/**
 * What operators do to accounts, from the CLI and the admin API alike: the same rules and the
 * same audit trail whichever way in. Role changes reach tokens at the session's next refresh
 * (the access token in hand keeps its roles until it expires); disabling or deleting an account
 * ends its sessions at once, deny-list and revocation channel included.
 */
export class AdminService {
  readonly #o: AdminServiceOptions

  constructor(options: AdminServiceOptions) {
    this.#o = options
  }

  async listUsers(query: {
    cursor?: string | undefined
    limit: number
    email?: string | undefined
  }): Promise<Page<AdminUserView>> {
    const page = await this.#o.users.listUsers({
      limit: Math.min(Math.max(1, query.limit), maxPageSize),
      ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
      ...(query.email === undefined ? {} : { email: query.email.trim().toLowerCase() }),
    })
    return { items: page.items.map(viewOf), next: page.next }
  }

  /** By id, or by email when `idOrEmail` holds an `@`. */
  async getUser(idOrEmail: string): Promise<AdminUserView> {
    return viewOf(await this.#find(idOrEmail))
  }

  async createUser(
    input: { email: string; password: string; roles: string[]; emailVerified?: boolean },
    actor: Actor,
  ): Promise<AdminUserView> {
    const email = normalizeEmail(input.email)
    checkNewPassword(input.password)
    const roles = checkRoles(input.roles)
    const user: UserRecord = {
      id: randomId(),
      email,
      passwordHash: await this.#o.hasher.hash(input.password),
      roles,
      createdAt: this.#o.clock.now(),
      disabledAt: null,
      // The operator vouches for the address (BATON_REQUIRE_VERIFIED_EMAIL would otherwise keep
      // an administrator they create from signing in until a mailed link is followed).
      emailVerifiedAt: input.emailVerified === true ? this.#o.clock.now() : null,
      passwordChangedAt: null,
      passwordChangedIn: null,
    }
    if (!(await this.#o.users.createUser(user))) {
      throw new BatonError('email_taken', 'An account with this email already exists.')
    }
    await this.#event('user_created', user.id, actor, `roles ${roles.join(',')}`)
    return viewOf(user)
  }

  async setRoles(idOrEmail: string, roles: string[], actor: Actor): Promise<AdminUserView> {
    const user = await this.#find(idOrEmail)
    const next = checkRoles(roles)
    if (!(await this.#o.users.updateUser(user.id, { roles: next }))) throw noSuchUser()
    await this.#event(
      'roles_changed',
      user.id,
      actor,
      `${user.roles.join(',') || '(none)'} -> ${next.join(',') || '(none)'}`,
    )
    return { ...viewOf(user), roles: next }
  }

  /** Disables the account and ends every session of it; returns the user and how many ended. */
  async disable(
    idOrEmail: string,
    actor: Actor,
  ): Promise<{ user: AdminUserView; sessionsRevoked: number }> {
    const user = await this.#find(idOrEmail)
    const disabledAt = user.disabledAt ?? this.#o.clock.now()
    if (!(await this.#o.users.updateUser(user.id, { disabledAt }))) throw noSuchUser()
    // After the flag: a refresh racing this call finds the account disabled, or the session gone.
    const revoked = await this.#o.sessions.revokeAllForUser(user.id, 'admin')
    // A reset link mailed before would otherwise outlive the disable: followed once the account
    // is enabled again, it would sign in whoever holds it.
    await this.#o.oneTimeTokens.dropOneTimeToken(user.id, 'password_reset')
    await this.#event('user_disabled', user.id, actor, `${sessionCount(revoked.length)} revoked`)
    return { user: { ...viewOf(user), disabledAt }, sessionsRevoked: revoked.length }
  }

  async enable(idOrEmail: string, actor: Actor): Promise<AdminUserView> {
    const user = await this.#find(idOrEmail)
    if (!(await this.#o.users.updateUser(user.id, { disabledAt: null }))) throw noSuchUser()
    await this.#event('user_enabled', user.id, actor, null)
    return { ...viewOf(user), disabledAt: null }
  }

  /** Deletes the account after ending its sessions; its audit events stay. */
  async deleteUser(idOrEmail: string, actor: Actor): Promise<{ sessionsRevoked: number }> {
    const user = await this.#find(idOrEmail)
    const revoked = await this.#o.sessions.revokeAllForUser(user.id, 'admin')
    if (!(await this.#o.users.deleteUser(user.id))) throw noSuchUser()
    await this.#event(
      'user_deleted',
      user.id,
      actor,
      `${user.email}; ${sessionCount(revoked.length)} revoked`,
    )
    return { sessionsRevoked: revoked.length }
  }

  async listSessions(idOrEmail: string): Promise<SessionRecord[]> {
    const user = await this.#find(idOrEmail)
    const sessions = await this.#o.sessions.list(user.id)
    return sessions.sort((a, b) => b.lastUsedAt - a.lastUsedAt)
  }

  async revokeSession(userId: string, sessionId: string, actor: Actor): Promise<void> {
    if (!(await this.#o.sessions.revoke({ userId, sessionId }, 'admin'))) {
      throw new BatonError('not_found', 'No such live session.')
    }
    await this.#o.audit.record({
      ...this.#blank(actor),
      type: 'session_revoked',
      userId,
      sessionId,
    })
  }

  /**
   * Signs out a session named by its id alone (`baton sessions revoke <id>`,
   * `DELETE /admin/sessions/:id`); returns its user's id.
   */
  async revokeSessionById(sessionId: string, actor: Actor): Promise<string> {
    const userId = sessionIdPattern.test(sessionId)
      ? await this.#o.sessions.ownerOf(sessionId)
      : null
    if (userId === null) throw new BatonError('not_found', 'No such live session.')
    await this.revokeSession(userId, sessionId, actor)
    return userId
  }

  async revokeAllSessions(idOrEmail: string, actor: Actor): Promise<number> {
    const user = await this.#find(idOrEmail)
    const revoked = await this.#o.sessions.revokeAllForUser(user.id, 'admin')
    await this.#event('sessions_revoked', user.id, actor, `${sessionCount(revoked.length)} revoked`)
    return revoked.length
  }

  async events(query: EventQuery): Promise<Page<StoredSecurityEvent>> {
    return this.#o.audit.listEvents({
      ...query,
      limit: Math.min(Math.max(1, query.limit), maxPageSize),
    })
  }

  async #find(idOrEmail: string): Promise<UserRecord> {
    let user: UserRecord | null
    if (idOrEmail.includes('@')) {
      let email: string
      try {
        email = normalizeEmail(idOrEmail)
      } catch {
        throw noSuchUser()
      }
      user = await this.#o.users.findUserByEmail(email)
    } else {
      user = await this.#o.users.findUserById(idOrEmail)
    }
    if (user === null) throw noSuchUser()
    return user
  }

  #blank(actor: Actor) {
    const by = actor === 'cli' ? { id: 'cli', ip: null, userAgent: null } : actor
    return {
      at: this.#o.clock.now(),
      sessionId: null,
      ip: by.ip,
      userAgent: by.userAgent,
      actor: by.id,
      detail: null,
    }
  }

  async #event(type: string, userId: string, actor: Actor, detail: string | null): Promise<void> {
    await this.#o.audit.record({ ...this.#blank(actor), type, userId, detail })
  }
}

/** "1 session", "2 sessions": audit details a person reads. */
export function sessionCount(count: number): string {
  return `${count} session${count === 1 ? '' : 's'}`
}

function noSuchUser(): BatonError {
  return new BatonError('not_found', 'No such user.')
}

function checkRoles(roles: string[]): string[] {
  const unique = [...new Set(roles.map((role) => role.trim()))].filter((role) => role !== '')
  if (unique.length > maxRoles) {
    throw new BatonError('invalid_request', `A user holds at most ${maxRoles} roles.`)
  }
  const bad = unique.find((role) => !rolePattern.test(role))
  if (bad !== undefined) {
    throw new BatonError(
      'invalid_request',
      `"${bad.slice(0, 64)}" is not a role name: lower-case letters, digits and _ . : -, starting with a letter.`,
    )
  }
  return unique.sort()
}
