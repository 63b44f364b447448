import { VerifyError } from '../errors.js'
import {
  createVerifier,
  hasAnyRole,
  hasScopes,
  type AccessTokenClaims,
  type Verifier,
  type VerifierOptions,
} from '../verifier.js'

/**
 * What every framework's middleware shares: reading the bearer token, the RFC 6750 challenge and
 * the scope and role checks. The middleware files only adapt requests and responses, so the
 * three frameworks cannot drift apart. Edge-safe, like the verifier.
 */

/** Verifier options, or a verifier to share between several middleware instances. */
export type AuthOptions = VerifierOptions | { verifier: Verifier }

export function verifierOf(options: AuthOptions): Verifier {
  return 'verifier' in options ? options.verifier : createVerifier(options)
}

/** A request without any credential: RFC 6750 §3.1 wants a bare `Bearer` challenge for it. */
class MissingTokenError extends VerifyError {
  constructor() {
    super('invalid_token', 'An access token is required (Authorization: Bearer <token>).')
  }
}

export interface AuthFailure {
  status: number
  headers: Record<string, string>
  body: { error: string; message: string }
}

/**
 * The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1; the scheme is
 * case-insensitive), or null for anything else. The token's own syntax is left to verification,
 * which refuses anything that is not a compact JWS (a regex here cost as much as a whole cached
 * verification). Baton's server reads its bearer tokens with this too.
 */
export function bearerTokenOf(authorization: string | null | undefined): string | null {
  if (typeof authorization !== 'string' || authorization.length < 8) return null
  if (authorization.charCodeAt(6) !== 32 || authorization.slice(0, 6).toLowerCase() !== 'bearer') {
    return null
  }
  const token = authorization.slice(7).trim()
  return token === '' || token.includes(' ') ? null : token
}

/**
 * RFC 6750 §3: a bare `Bearer` for a request without credentials, else the `invalid_token`
 * challenge. Quotes and backslashes cannot appear inside its quoted-string unescaped.
 */
export function invalidTokenChallenge(description: string | null): string {
  if (description === null) return 'Bearer'
  return `Bearer error="invalid_token", error_description="${quotable(description)}"`
}

/** The claims of the request's bearer token, or a `VerifyError`. */
export async function authenticate(
  verifier: Verifier,
  authorization: string | null | undefined,
): Promise<AccessTokenClaims> {
  if (authorization === undefined || authorization === null || authorization === '') {
    throw new MissingTokenError()
  }
  const token = bearerTokenOf(authorization)
  if (token === null) {
    throw new VerifyError('invalid_token', 'The Authorization header must be "Bearer <token>".')
  }
  return verifier.verify(token)
}

export function scopeFailure(
  claims: AccessTokenClaims | undefined,
  scopes: string[],
): AuthFailure | null {
  if (claims === undefined) return failureOf(new MissingTokenError())
  if (hasScopes(claims, scopes)) return null
  return failureOf(
    new VerifyError('insufficient_scope', `This needs the scope ${scopes.join(' ')}.`),
    scopes,
  )
}

export function roleFailure(
  claims: AccessTokenClaims | undefined,
  roles: string[],
): AuthFailure | null {
  if (claims === undefined) return failureOf(new MissingTokenError())
  if (hasAnyRole(claims, roles)) return null
  return failureOf(new VerifyError('forbidden', `This needs one of the roles ${roles.join(', ')}.`))
}

/** The response for a refusal; anything that is not a `VerifyError` is the caller's to rethrow. */
export function failureOf(error: unknown, scopes: string[] = []): AuthFailure | null {
  if (!(error instanceof VerifyError)) return null
  const headers: Record<string, string> = { 'cache-control': 'no-store' }
  if (error.status === 401) {
    headers['www-authenticate'] = invalidTokenChallenge(
      error instanceof MissingTokenError ? null : error.message,
    )
  } else if (error.code === 'insufficient_scope') {
    headers['www-authenticate'] =
      `Bearer error="insufficient_scope", error_description="${quotable(error.message)}", scope="${quotable(scopes.join(' '))}"`
  } else if (error.status === 503) {
    headers['retry-after'] = '1'
  }
  return { status: error.status, headers, body: { error: error.code, message: error.message } }
}

/** RFC 6750 §3: no quote or backslash inside a quoted-string. */
function quotable(text: string): string {
  return text.replace(/["\\]/g, '')
}
