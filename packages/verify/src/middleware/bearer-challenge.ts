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

/** Where the access token travels, beside the verifier (or its options). */
export interface TokenHeaderOption {
  /**
   * The request header carrying the access token. `Authorization` (the default) holds
   * `Bearer <token>` (RFC 6750); any other header, such as seed 001's `X-AUTH-TOKEN`, holds the
   * bare token. Match the Baton server's `BATON_ACCESS_TOKEN_HEADER`.
   * @default 'Authorization'
   */
  header?: string
}

/** Verifier options, or a verifier to share between several middleware instances. */
export type AuthOptions = (VerifierOptions | { verifier: Verifier }) & TokenHeaderOption

const tokenChar = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/**
 * Headers that already mean something to HTTP, to browsers, to proxies or to Baton, lower case:
 * an access token there would be dropped, rewritten, logged, forwarded or read as something
 * else. The one list of them: `BATON_ACCESS_TOKEN_HEADER`, the middleware's `header` option (and
 * any client that takes the same setting) refuse every name in it.
 */
export const forbiddenTokenHeaders: readonly string[] = Object.freeze([
  // Credentials and cookies of their own.
  'cookie',
  'set-cookie',
  'proxy-authorization',
  'www-authenticate',
  'proxy-authenticate',
  // Who is calling and from where: CSRF checks, CORS, proxies.
  'host',
  'origin',
  'referer',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-real-ip',
  'access-control-request-method',
  'access-control-request-headers',
  // The message's framing and the connection (hop-by-hop: a proxy drops or rewrites them).
  'content-type',
  'content-length',
  'content-encoding',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'upgrade',
  'expect',
  // Baton's own.
  'baton-token-delivery',
])

/**
 * The header name in the lower case Node gives headers, checked: a name no header can have, or
 * one that already means something else (`forbiddenTokenHeaders`), is a setup mistake to report
 * at once.
 */
export function tokenHeaderName(header: string | undefined): string {
  if (header === undefined) return 'authorization'
  const name = header.trim().toLowerCase()
  if (!tokenChar.test(name)) throw new TypeError(`"${header}" is not an HTTP header name`)
  if (forbiddenTokenHeaders.includes(name)) {
    throw new TypeError(
      `the access token cannot travel in the ${header.trim()} header, which already means something else to HTTP, proxies or Baton`,
    )
  }
  return name
}

export function verifierOf(options: AuthOptions): Verifier {
  if ('verifier' in options) return options.verifier
  const verifierOptions: VerifierOptions & TokenHeaderOption = { ...options }
  delete verifierOptions.header
  return createVerifier(verifierOptions)
}

/** A request without any credential: RFC 6750 §3.1 wants a bare `Bearer` challenge for it. */
class MissingTokenError extends VerifyError {
  constructor(header = 'authorization') {
    super('invalid_token', `An access token is required (${headerExample(header)}).`)
  }
}

/** How a token is written in `header`, for messages. */
export function headerExample(header: string): string {
  return header === 'authorization' ? 'Authorization: Bearer <token>' : `${header}: <token>`
}

/** Why a present `header` (lower case) holds no token in the expected form. */
export function malformedTokenHeader(header: string): string {
  return header === 'authorization'
    ? 'The Authorization header must be "Bearer <token>".'
    : `The ${header} header must hold the access token alone.`
}

/**
 * The token in the value of `header` (lower case): `Authorization: Bearer <token>`, or the bare
 * token of any other header. Null when there is none in the expected form.
 */
export function tokenOfHeader(header: string, value: string | null | undefined): string | null {
  if (header === 'authorization') return bearerTokenOf(value)
  if (typeof value !== 'string') return null
  const token = value.trim()
  return token === '' || token.includes(' ') ? null : token
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

/**
 * The claims of the request's access token, or a `VerifyError`. `value`: the request's value of
 * `header` (lower case; `authorization` by default).
 */
export async function authenticate(
  verifier: Verifier,
  value: string | null | undefined,
  header = 'authorization',
): Promise<AccessTokenClaims> {
  if (value === undefined || value === null || value === '') {
    throw new MissingTokenError(header)
  }
  const token = tokenOfHeader(header, value)
  if (token === null) throw new VerifyError('invalid_token', malformedTokenHeader(header))
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
    headers['www-authenticate'] = insufficientScopeChallenge(error.message, scopes)
  } else if (error.status === 503) {
    headers['retry-after'] = '1'
  }
  return { status: error.status, headers, body: { error: error.code, message: error.message } }
}

/** RFC 6750 §3.1: a valid token that may not do this; `scopes` are those that would. */
export function insufficientScopeChallenge(description: string, scopes: string[]): string {
  return `Bearer error="insufficient_scope", error_description="${quotable(description)}", scope="${quotable(scopes.join(' '))}"`
}

/** RFC 6750 §3: no quote or backslash inside a quoted-string. */
function quotable(text: string): string {
  return text.replace(/["\\]/g, '')
}
