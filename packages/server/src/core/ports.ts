/**
 * The storage ports. Stores implement atomic primitives only; every policy (rotation, grace,
 * reuse detection, expiry, deny-list lifetime) lives in the core, once, for every backend.
 *
 * Times are epoch milliseconds unless a name says otherwise. Every method may reject with
 * `StoreUnavailableError` when its backend does not answer; no other rejection is expected, but
 * for a page cursor or event id the store did not issue, which rejects with a `BatonError`
 * `invalid_request` (the caller's mistake, not an outage).
 */

export interface SessionRecord {
  id: string
  userId: string
  createdAt: number
  lastUsedAt: number
  /** Absolute end of the session, however often it is refreshed. */
  expiresAt: number
  ip: string | null
  userAgent: string | null
  scope: string
  clientId: string | null
  /** The refresh token that may rotate now: its `jti`, `iat` and `exp` (epoch seconds). */
  currentJti: string
  currentIssuedAt: number
  currentExpiresAt: number
  /** The token the last rotation retired; its successor is the current token. */
  previousJti: string | null
  rotatedAt: number | null
  revokedAt: number | null
  revokedReason: string | null
  /** When the store may forget the record (its TTL). Computed by the core. */
  purgeAt: number
}

export interface SessionRotation {
  jti: string
  issuedAt: number
  expiresAt: number
  rotatedAt: number
  ip: string | null
  userAgent: string | null
  purgeAt: number
}

export interface SessionRevocation {
  reason: string
  revokedAt: number
  /** Keep the session on the deny-list until then (its last access token's expiry). */
  denyUntil: number
}

/**
 * Names one session. The user id travels with the session id so that a store can keep all of a
 * user's records together (one Redis Cluster slot per user, docs/architecture.md); a session whose record
 * belongs to another user reads as missing.
 */
export interface SessionRef {
  userId: string
  sessionId: string
}

export interface SessionStore {
  create(session: SessionRecord): Promise<void>
  /** The record, revoked or not, unless its `purgeAt` has passed. */
  get(ref: SessionRef, now: number): Promise<SessionRecord | null>
  /**
   * Compare-and-swap: when the session is not revoked and its current `jti` is still
   * `expectedJti`, make `next` current and `expectedJti` previous, atomically, and return the
   * new record. Otherwise change nothing and return null. Of any number of concurrent calls
   * with the same `expectedJti`, exactly one succeeds.
   *
   * Also null, changing nothing, when `next` would outlive the session: its token's `expiresAt`
   * (seconds) or its `purgeAt` past the session's absolute `expiresAt`. The core may then try
   * first without reading the session, and read it only when that fails.
   */
  rotate(ref: SessionRef, expectedJti: string, next: SessionRotation): Promise<SessionRecord | null>
  /** Revoke one session and deny-list it. Returns false when it was missing or already revoked. */
  revoke(ref: SessionRef, revocation: SessionRevocation): Promise<boolean>
  /** Revoke and deny-list every live session of a user atomically; returns their ids. */
  revokeAllForUser(userId: string, revocation: SessionRevocation): Promise<string[]>
  /** Live (not revoked, not purged, not past `expiresAt`) sessions of a user. */
  listForUser(userId: string, now: number): Promise<SessionRecord[]>
  /**
   * The user a session belongs to, unless its record is gone (purged, or never was): what an
   * operator holding only a session id (`baton sessions revoke <id>`) needs to name it. Slow
   * paths only; a request always knows its session's user from its token.
   */
  findSessionOwner(sessionId: string, now: number): Promise<string | null>
  /** True while a revoked session's access tokens must be refused. */
  isDenied(ref: SessionRef, now: number): Promise<boolean>
  /**
   * Keeps `token` as the one live token of its user and kind (a password reset, an email
   * verification), replacing any earlier one: a new link retires the old.
   */
  putOneTimeToken(token: OneTimeToken): Promise<void>
  /**
   * Compare-and-delete: when the user's live token of `kind` has `tokenHash` and has not
   * expired, delete it and return it; otherwise change nothing and return null. Of concurrent
   * calls with the same token, exactly one gets it. A wrong hash leaves the right one in place.
   */
  takeOneTimeToken(
    userId: string,
    kind: OneTimeTokenKind,
    tokenHash: string,
    now: number,
  ): Promise<OneTimeToken | null>
  /** Forgets the user's live token of `kind`, if any. */
  dropOneTimeToken(userId: string, kind: OneTimeTokenKind): Promise<void>
  /** Fixed-window counter: the window starts at the first hit and lasts `windowMs`. */
  hit(key: string, windowMs: number, now: number): Promise<CounterState>
  peek(key: string, now: number): Promise<CounterState>
  resetCounter(key: string): Promise<void>
  /** Throws `StoreUnavailableError` unless the backend answers. */
  ping(): Promise<void>
  close(): Promise<void>
}

/**
 * The session store's operations on session records, deny-list and one-time tokens: what each
 * SQL and memory store implements in its `sessions` module, beside its counters and lifecycle.
 */
export type SessionRecordOperations = Omit<
  SessionStore,
  'hit' | 'peek' | 'resetCounter' | 'ping' | 'close'
>

export type OneTimeTokenKind = 'password_reset' | 'email_verification'

/** A single-use token mailed to a user; the store keeps its hash, never the token. */
export interface OneTimeToken {
  userId: string
  kind: OneTimeTokenKind
  /** `sha256:<base64url digest>` of the token's secret part. */
  tokenHash: string
  /** The address it was sent to: a link for an address the user has since left is void. */
  email: string
  createdAt: number
  expiresAt: number
}

export interface CounterState {
  count: number
  /** When the window ends; 0 when there is no window. */
  resetAt: number
}

export interface UserRecord {
  id: string
  email: string
  passwordHash: string
  roles: string[]
  createdAt: number
  /** When an operator disabled the account; null while it may sign in. */
  disabledAt: number | null
  /** When its owner followed a link sent to the address; null until then. */
  emailVerifiedAt: number | null
  /**
   * When the password was last changed or reset; null if never since the account was made.
   * Sessions that began before it end at their next refresh (but the one below), whether or not
   * revoking them at the time of the change worked.
   */
  passwordChangedAt: number | null
  /** The session that changed the password (`/auth/password`), which stays signed in. */
  passwordChangedIn: string | null
}

/** What `updateUser` may change. */
export type UserChange = Partial<
  Pick<
    UserRecord,
    | 'roles'
    | 'disabledAt'
    | 'passwordHash'
    | 'emailVerifiedAt'
    | 'passwordChangedAt'
    | 'passwordChangedIn'
  >
>

/** A page of users or events; `next` is the cursor of the following page, null after the last. */
export interface Page<T> {
  items: T[]
  next: string | null
}

export interface UserStore {
  /** Returns false, changing nothing, when the email is taken. */
  createUser(user: UserRecord): Promise<boolean>
  findUserByEmail(email: string): Promise<UserRecord | null>
  findUserById(id: string): Promise<UserRecord | null>
  /**
   * Users oldest first (`createdAt`, then `id`), `limit` at most, after the opaque `cursor` a
   * previous page returned; `email` keeps those whose address contains it.
   */
  listUsers(options: { cursor?: string; limit: number; email?: string }): Promise<Page<UserRecord>>
  /** Changes the given fields; false, changing nothing, when there is no such user. */
  updateUser(id: string, change: UserChange): Promise<boolean>
  /** False when there was no such user. Its audit events stay. */
  deleteUser(id: string): Promise<boolean>
}

export type KeyState = 'next' | 'current' | 'retired'

export interface StoredKey {
  kid: string
  alg: string
  state: KeyState
  /** JWK JSON of the private key. */
  privateJwk: string
  /** JWK JSON of the public key, as published. */
  publicJwk: string
  createdAt: number
  /** When it became current (signing). */
  activatedAt: number | null
  /** When it stopped signing. */
  retiredAt: number | null
  /** When a retired key may disappear: every token it signed has expired by then. */
  removeAfter: number | null
}

export interface KeyStore {
  listKeys(): Promise<StoredKey[]>
  insertKey(key: StoredKey): Promise<void>
  updateKey(
    kid: string,
    change: Pick<StoredKey, 'state' | 'activatedAt' | 'retiredAt' | 'removeAfter'>,
  ): Promise<void>
  deleteKey(kid: string): Promise<void>
}

export interface SecurityEvent {
  type: string
  at: number
  userId: string | null
  sessionId: string | null
  ip: string | null
  userAgent: string | null
  /** Who did it when it is not the user: an administrator's user id, or `cli`. */
  actor: string | null
  /** Operator context; never a token or secret. */
  detail: string | null
}

/** A recorded event, with the store's id: ever-increasing in the order events were recorded. */
export interface StoredSecurityEvent extends SecurityEvent {
  id: string
}

export interface EventQuery {
  userId?: string
  type?: string
  /** Epoch ms: events at or after. */
  since?: number
  limit: number
  /** Newest first (the default), from before the opaque `cursor` a previous page returned. */
  cursor?: string
  /**
   * Oldest first, strictly after this event id: `baton events --follow` polls with it. The
   * page's `next` is then an event id too, for the next `afterId` (null when none are left).
   */
  afterId?: string
}

export interface AuditLog {
  record(event: SecurityEvent): Promise<void>
  listEvents(query: EventQuery): Promise<Page<StoredSecurityEvent>>
  /** Deletes events older than `before` (epoch ms), at most `limit` of them; returns how many. */
  purgeEvents(before: number, limit: number): Promise<number>
}

/**
 * An OAuth client registered with `baton clients add` (clients of `BATON_OAUTH_CLIENTS` live in
 * the configuration, not here).
 */
export interface StoredOAuthClient {
  /** The `client_id`. */
  id: string
  /**
   * `sha256:<base64url digest>` of a confidential client's generated secret; null for a public
   * client. The secret itself is never stored.
   */
  secretHash: string | null
  createdAt: number
}

export interface OAuthClientStore {
  /** Every stored client, oldest first. */
  listClients(): Promise<StoredOAuthClient[]>
  /** Returns false, changing nothing, when the id is taken. */
  insertClient(client: StoredOAuthClient): Promise<boolean>
  /** Returns false when there was no such client. */
  deleteClient(id: string): Promise<boolean>
}

/** The database store: users, keys, OAuth clients and audit events. */
export interface DatabaseStore extends UserStore, KeyStore, OAuthClientStore, AuditLog {
  ping(): Promise<void>
  close(): Promise<void>
}

export interface PasswordHasher {
  hash(password: string): Promise<string>
  verify(hash: string, password: string): Promise<boolean>
}

/** One message to one address, as plain text and as HTML (the same words). */
export interface MailMessage {
  to: string
  subject: string
  text: string
  html: string
}

/**
 * Sends mail: the links of password resets and email verifications. `send` resolves once the
 * message is handed over (to an SMTP server, to the log) and rejects when it could not be; the
 * core never makes a request wait for it. The server's adapters are in `src/mail/`.
 */
export interface Mailer {
  send(message: MailMessage): Promise<void>
  /** Lets go of connections, if it holds any. */
  close?(): Promise<void>
}
