/**
 * The storage ports. Stores implement atomic primitives only; every policy (rotation, grace,
 * reuse detection, expiry, deny-list lifetime) lives in the core, once, for every backend.
 *
 * Times are epoch milliseconds unless a name says otherwise. Every method may reject with
 * `StoreUnavailableError` when its backend does not answer; no other rejection is expected.
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
  /** True while a revoked session's access tokens must be refused. */
  isDenied(ref: SessionRef, now: number): Promise<boolean>
  /** Fixed-window counter: the window starts at the first hit and lasts `windowMs`. */
  hit(key: string, windowMs: number, now: number): Promise<CounterState>
  peek(key: string, now: number): Promise<CounterState>
  resetCounter(key: string): Promise<void>
  /** Throws `StoreUnavailableError` unless the backend answers. */
  ping(): Promise<void>
  close(): Promise<void>
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
}

export interface UserStore {
  /** Returns false, changing nothing, when the email is taken. */
  createUser(user: UserRecord): Promise<boolean>
  findUserByEmail(email: string): Promise<UserRecord | null>
  findUserById(id: string): Promise<UserRecord | null>
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
  /** Operator context; never a token or secret. */
  detail: string | null
}

export interface AuditLog {
  record(event: SecurityEvent): Promise<void>
  listEvents(options: { userId?: string; limit: number }): Promise<SecurityEvent[]>
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
