/**
 * The words Baton and its verifier share (docs/api.md "Tokens", docs/errors.md), defined here once:
 * the server imports them through `@baton-auth/verify/shared`, so the issuer and every verifier
 * agree by construction. Data and types only: edge-safe, imports nothing.
 */

/** What Baton signs with and the verifier accepts. */
export const signingAlgorithms = ['ES256', 'EdDSA', 'RS256'] as const
export type SigningAlgorithm = (typeof signingAlgorithms)[number]

/** The largest token looked at, in characters; Baton's tokens are under 1 KiB. */
export const maxTokenLength = 8192

/** JWT `typ` headers (RFC 9068 for access tokens); refresh tokens have their own, so neither passes for the other. */
export const tokenTypes = {
  access: 'at+jwt',
  refresh: 'rt+jwt',
} as const

/** The RFC 9068 claims Baton signs into every access token, in the order it signs them. */
export interface SignedAccessTokenClaims {
  iss: string
  sub: string
  aud: string
  iat: number
  exp: number
  jti: string
  /** The session: what revocation is keyed by. */
  sid: string
  /** Space-separated, possibly empty. */
  scope: string
  roles: string[]
  /** The OAuth client the session was granted to; absent for `/auth` sessions. */
  client_id?: string
}

/**
 * An access token's claims as a verifier hands them over: Baton's, with `aud` possibly a list
 * (RFC 7519 allows one) and any further claim the token carries.
 */
export interface AccessTokenClaims extends Omit<SignedAccessTokenClaims, 'aud'> {
  aud: string | string[]
  [claim: string]: unknown
}

/**
 * Every error code of the HTTP API with its status. They are API: never rename or reuse one.
 * The server answers with all of them; a resource server with `VerifyErrorCode` only.
 */
export const errorStatuses = {
  invalid_request: 400,
  weak_password: 400,
  invalid_link: 400,
  invalid_credentials: 401,
  invalid_token: 401,
  access_token_expired: 401,
  refresh_token_expired: 401,
  refresh_token_reused: 401,
  session_revoked: 401,
  login_required: 401,
  csrf_origin_mismatch: 403,
  account_disabled: 403,
  email_not_verified: 403,
  insufficient_scope: 403,
  forbidden: 403,
  not_found: 404,
  email_taken: 409,
  payload_too_large: 413,
  rate_limited: 429,
  store_unavailable: 503,
  // OAuth 2.0 (RFC 6749 §5.2), answered by `/oauth/*` only.
  invalid_client: 401,
  invalid_grant: 400,
  invalid_scope: 400,
  unsupported_grant_type: 400,
} as const satisfies Record<string, number>

export type ErrorCode = keyof typeof errorStatuses

/** The codes in the order of the table above. */
export const errorCodes = Object.keys(errorStatuses) as readonly ErrorCode[]

/** The error codes a resource server (the verifier and its middleware) can answer with. */
export type VerifyErrorCode = Extract<
  ErrorCode,
  | 'invalid_token'
  | 'access_token_expired'
  | 'session_revoked'
  | 'insufficient_scope'
  | 'forbidden'
  | 'store_unavailable'
>
