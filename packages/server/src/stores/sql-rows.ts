import type {
  KeyState,
  OneTimeToken,
  OneTimeTokenKind,
  SessionRecord,
  StoredKey,
  StoredOAuthClient,
  StoredSecurityEvent,
} from '../core/ports.js'

/**
 * The rows the SQL stores (SQLite, PostgreSQL) read and write, and their mapping to the core's
 * records: both schemas use the same column names and the same epoch-millisecond integers. Users
 * differ (roles are JSON text in SQLite, TEXT[] in PostgreSQL), so each store maps its own.
 */
export interface SessionRow {
  id: string
  user_id: string
  created_at: number
  last_used_at: number
  expires_at: number
  ip: string | null
  user_agent: string | null
  scope: string
  client_id: string | null
  current_jti: string
  current_issued_at: number
  current_expires_at: number
  previous_jti: string | null
  rotated_at: number | null
  revoked_at: number | null
  revoked_reason: string | null
  purge_at: number
}

export interface KeyRow {
  kid: string
  alg: string
  state: KeyState
  private_jwk: string
  public_jwk: string
  created_at: number
  activated_at: number | null
  retired_at: number | null
  remove_after: number | null
}

export interface EventRow {
  /** The identity column: a number in both drivers (PostgreSQL's BIGINT parsed as one). */
  id: number
  type: string
  at: number
  user_id: string | null
  session_id: string | null
  ip: string | null
  user_agent: string | null
  actor: string | null
  detail: string | null
}

export interface ClientRow {
  id: string
  secret_hash: string | null
  created_at: number
}

export function fromClientRow(row: ClientRow): StoredOAuthClient {
  return { id: row.id, secretHash: row.secret_hash, createdAt: row.created_at }
}

export interface OneTimeTokenRow {
  user_id: string
  kind: OneTimeTokenKind
  token_hash: string
  email: string
  created_at: number
  expires_at: number
}

export function fromOneTimeTokenRow(row: OneTimeTokenRow): OneTimeToken {
  return {
    userId: row.user_id,
    kind: row.kind,
    tokenHash: row.token_hash,
    email: row.email,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  }
}

export interface CounterRow {
  count: number
  reset_at: number
}

export function toSessionRow(session: SessionRecord): SessionRow {
  return {
    id: session.id,
    user_id: session.userId,
    created_at: session.createdAt,
    last_used_at: session.lastUsedAt,
    expires_at: session.expiresAt,
    ip: session.ip,
    user_agent: session.userAgent,
    scope: session.scope,
    client_id: session.clientId,
    current_jti: session.currentJti,
    current_issued_at: session.currentIssuedAt,
    current_expires_at: session.currentExpiresAt,
    previous_jti: session.previousJti,
    rotated_at: session.rotatedAt,
    revoked_at: session.revokedAt,
    revoked_reason: session.revokedReason,
    purge_at: session.purgeAt,
  }
}

export function fromSessionRow(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    expiresAt: row.expires_at,
    ip: row.ip,
    userAgent: row.user_agent,
    scope: row.scope,
    clientId: row.client_id,
    currentJti: row.current_jti,
    currentIssuedAt: row.current_issued_at,
    currentExpiresAt: row.current_expires_at,
    previousJti: row.previous_jti,
    rotatedAt: row.rotated_at,
    revokedAt: row.revoked_at,
    revokedReason: row.revoked_reason,
    purgeAt: row.purge_at,
  }
}

export function fromKeyRow(row: KeyRow): StoredKey {
  return {
    kid: row.kid,
    alg: row.alg,
    state: row.state,
    privateJwk: row.private_jwk,
    publicJwk: row.public_jwk,
    createdAt: row.created_at,
    activatedAt: row.activated_at,
    retiredAt: row.retired_at,
    removeAfter: row.remove_after,
  }
}

export function fromEventRow(row: EventRow): StoredSecurityEvent {
  return {
    id: String(row.id),
    type: row.type,
    at: row.at,
    userId: row.user_id,
    sessionId: row.session_id,
    ip: row.ip,
    userAgent: row.user_agent,
    actor: row.actor,
    detail: row.detail,
  }
}
