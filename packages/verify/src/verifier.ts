import { decodeBase64urlInto, decodeJSONObject, decodeSignedJSONObject } from './base64url.js'
import { invalidToken, VerifyError } from './errors.js'
import { claimsProblem, headerProblem } from './jwt-checks.js'
import { RemoteKeySet, StaticKeySet, type JWKSet, type KeySet } from './key-set.js'
import { verifyAlgorithms, type CryptoBackend, type VerifyAlgorithm } from './signature-keys.js'
import { VerifiedTokenCache } from './verified-token-cache.js'
import { maxTokenLength, tokenTypes, type AccessTokenClaims } from './vocabulary.js'

export type { AccessTokenClaims }

/**
 * Sessions revoked before their access tokens expire (Baton's deny-list, pushed to the
 * verifier). Checked on every verification, cached or not: one lookup, no I/O.
 */
export interface RevocationCheck {
  isRevoked(sessionId: string, nowSeconds: number): boolean
}

export interface VerifierOptions {
  /** Exact `iss` (Baton's `BATON_ISSUER`). */
  issuer: string
  /** `aud` this service accepts (Baton's `BATON_AUDIENCE`). */
  audience: string
  /** Where Baton publishes its keys: `<issuer>/.well-known/jwks.json`. */
  jwksUrl?: string | URL
  /** Keys given directly instead of fetched. */
  jwks?: JWKSet
  /** Accepted algorithms; default every one Baton can sign with. */
  algorithms?: VerifyAlgorithm[]
  /** Seconds of clock skew allowed on `exp`, `nbf` and `iat`: default 5, at most 30 (docs/api.md). */
  clockTolerance?: number
  /** Verified tokens kept for repeated requests; 0 turns the cache off. Default 10,000. */
  cacheSize?: number
  revocations?: RevocationCheck
  /** Least time between two JWKS fetches caused by an unknown `kid` (seconds); default 30. */
  unknownKidCooldown?: number
  /** Override of how long a fetched JWKS stays fresh (seconds); default its `max-age`. */
  jwksMaxAge?: number
  /** Deadline of one JWKS fetch (seconds); default 5. */
  jwksTimeout?: number
  fetch?: typeof fetch
  /** Milliseconds since the epoch; for tests. */
  now?: () => number
  /** Default `auto`: `node:crypto` where the runtime has it, WebCrypto elsewhere. */
  crypto?: CryptoBackend
}

export interface Verifier {
  /** The token's claims, or a `VerifyError` with a docs/api.md code. */
  verify(token: string): Promise<AccessTokenClaims>
}

const maxParsedHeaders = 256
const encoder = new TextEncoder()
// The signing input and the signature are decoded into reused buffers: allocating fresh ones per
// token cost ten times as much, and showed as garbage collection. Safe for both backends:
// node:crypto verifies synchronously and WebCrypto copies its input before returning.
const signingInputBytes = new Uint8Array(maxTokenLength * 3)
const signatureBytes = new Uint8Array(maxTokenLength)

/**
 * Verifies Baton access tokens the way Baton does (docs/api.md "Tokens"): compact JWS only, `typ`
 * `at+jwt`, a `kid` from the issuer's own key set and an allow-listed algorithm that the key
 * itself is for (`jku`, `x5u`, `jwk` headers are ignored; `none` and HMAC never match), `iss`,
 * `aud`, a required `exp`, `nbf`/`iat` within the tolerance. Imports no `node:*` module.
 */
export function createVerifier(options: VerifierOptions): Verifier {
  const algorithms = options.algorithms ?? [...verifyAlgorithms]
  for (const alg of algorithms) {
    if (!verifyAlgorithms.includes(alg)) throw new TypeError(`unsupported algorithm ${String(alg)}`)
  }
  if (algorithms.length === 0) throw new TypeError('algorithms must not be empty')
  const tolerance = options.clockTolerance ?? 5
  if (!(tolerance >= 0 && tolerance <= 30)) {
    throw new TypeError('clockTolerance must be between 0 and 30 seconds')
  }
  if (typeof options.issuer !== 'string' || options.issuer === '') {
    throw new TypeError('issuer is required')
  }
  if (typeof options.audience !== 'string' || options.audience === '') {
    throw new TypeError('audience is required')
  }
  const now = options.now ?? Date.now
  const keySetOptions = { algorithms, crypto: options.crypto ?? 'auto', now }
  let keys: KeySet
  if (options.jwks !== undefined) {
    keys = new StaticKeySet(options.jwks, keySetOptions)
  } else if (options.jwksUrl !== undefined) {
    keys = new RemoteKeySet({
      ...keySetOptions,
      url: String(options.jwksUrl),
      fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
      unknownKidCooldown: (options.unknownKidCooldown ?? 30) * 1000,
      maxAge: options.jwksMaxAge === undefined ? undefined : options.jwksMaxAge * 1000,
      timeout: (options.jwksTimeout ?? 5) * 1000,
    })
  } else {
    throw new TypeError('give jwksUrl or jwks')
  }
  const { issuer, audience, revocations } = options
  const cacheSize = options.cacheSize ?? 10_000
  const cache = cacheSize > 0 ? new VerifiedTokenCache<AccessTokenClaims>(cacheSize) : undefined
  const parsedHeaders = new Map<string, Record<string, unknown> | null>()

  const headerOf = (segment: string): Record<string, unknown> | null => {
    let header = parsedHeaders.get(segment)
    if (header === undefined) {
      header = decodeJSONObject(segment)
      if (parsedHeaders.size >= maxParsedHeaders) parsedHeaders.clear()
      parsedHeaders.set(segment, header)
    }
    return header
  }

  const checkRevoked = (claims: AccessTokenClaims, nowSeconds: number): AccessTokenClaims => {
    if (revocations?.isRevoked(claims.sid, nowSeconds)) {
      throw new VerifyError('session_revoked', 'This session has been signed out.')
    }
    return claims
  }

  return {
    async verify(token) {
      const nowSeconds = now() / 1000
      if (typeof token !== 'string' || token.length === 0 || token.length > maxTokenLength) {
        throw invalidToken('not a token of acceptable size')
      }
      // The signature segment indexes the cache and is what gets verified: cut it out once.
      const signatureText = token.slice(token.lastIndexOf('.') + 1)
      if (cache !== undefined) {
        // Entries live until exp + tolerance: the cache key's "expiry" is shifted accordingly.
        const cached = cache.get(token, nowSeconds - tolerance, signatureText)
        if (cached !== undefined) return checkRevoked(cached, nowSeconds)
      }
      const firstDot = token.indexOf('.')
      const secondDot = token.indexOf('.', firstDot + 1)
      if (firstDot <= 0 || secondDot <= firstDot + 1 || token.indexOf('.', secondDot + 1) !== -1) {
        throw invalidToken('not a compact JWS')
      }
      const header = headerOf(token.slice(0, firstDot))
      if (header === null) throw invalidToken('header is not a JSON object')
      const headerIssue = headerProblem(header, tokenTypes.access)
      if (headerIssue !== null) throw headerRefusal(headerIssue, header)
      const kid = header.kid as string
      const alg = header.alg as string
      if (!algorithms.includes(alg as VerifyAlgorithm)) throw invalidToken(`alg ${alg} not allowed`)
      const key = keys.cached(kid) ?? (await keys.resolve(kid))
      if (key === undefined) throw invalidToken('unknown kid')
      if (key.alg !== alg) throw invalidToken(`alg ${alg} does not match the key`)
      const signature = decodeBase64urlInto(signatureText, signatureBytes)
      if (signature === null) throw invalidToken('signature is not base64url')
      const { written } = encoder.encodeInto(token.slice(0, secondDot), signingInputBytes)
      const verified = key.verify(signingInputBytes.subarray(0, written), signature)
      // node:crypto answers synchronously: awaiting a plain boolean would cost a microtask.
      if (verified !== true && (verified === false || !(await verified))) {
        throw invalidToken('bad signature')
      }

      const claims = decodeSignedJSONObject(token.slice(firstDot + 1, secondDot))
      if (claims === null) throw invalidToken('payload is not a JSON object')
      const claimsIssue = claimsProblem(claims, { issuer, audience, nowSeconds, tolerance })
      if (claimsIssue !== null) throw claimsRefusal(claimsIssue, claims, { issuer, audience })
      if (typeof claims.scope !== 'string' || !Array.isArray(claims.roles)) {
        throw invalidToken('scope or roles missing')
      }
      if ((claims.exp as number) + tolerance <= nowSeconds) {
        throw new VerifyError('access_token_expired', 'The access token has expired.')
      }
      const frozen = Object.freeze(claims) as AccessTokenClaims
      cache?.set(token, frozen, signatureText)
      return checkRevoked(frozen, nowSeconds)
    },
  }
}

/** True when the space-separated `scope` claim grants every one of `required`. */
export function hasScopes(claims: Pick<AccessTokenClaims, 'scope'>, required: string[]): boolean {
  if (required.length === 0) return true
  const granted = claims.scope.split(' ')
  return required.every((scope) => granted.includes(scope))
}

/** True when the `roles` claim holds at least one of `accepted`. */
export function hasAnyRole(claims: Pick<AccessTokenClaims, 'roles'>, accepted: string[]): boolean {
  return accepted.length === 0 || accepted.some((role) => claims.roles.includes(role))
}

/**
 * The refusals a developer wiring up an API meets first (a token for another audience or issuer,
 * a refresh token where an access token belongs), in words that say what to change; the terse
 * `detail` stays for logs. Token values are shown shortened and printable only, since they end
 * up in a `WWW-Authenticate` header.
 */
function headerRefusal(issue: string, header: Readonly<Record<string, unknown>>): VerifyError {
  if (!issue.startsWith('typ ')) return invalidToken(issue)
  const typ = typeof header.typ === 'string' ? header.typ.toLowerCase() : ''
  const message =
    typ === tokenTypes.refresh || typ === `application/${tokenTypes.refresh}`
      ? 'A refresh token was sent where an access token belongs; send the access token.'
      : `The token's type is ${shown(header.typ)}, not an access token (${tokenTypes.access}).`
  return new VerifyError('invalid_token', message, issue)
}

function claimsRefusal(
  issue: string,
  claims: Readonly<Record<string, unknown>>,
  expected: { issuer: string; audience: string },
): VerifyError {
  switch (issue) {
    case 'wrong aud':
      return new VerifyError(
        'invalid_token',
        `The access token is for the audience ${shown(claims.aud)}, not this API's ` +
          `${shown(expected.audience)} (the verifier's audience option).`,
        issue,
      )
    case 'wrong iss':
      return new VerifyError(
        'invalid_token',
        `The access token was issued by ${shown(claims.iss)}, not by ${shown(expected.issuer)} ` +
          "(the verifier's issuer option).",
        issue,
      )
    default:
      return invalidToken(issue)
  }
}

function shown(value: unknown): string {
  if (value === undefined) return '(none)'
  const text = Array.isArray(value) ? value.map(textOf).join(', ') : textOf(value)
  const printable = text.replace(/[^\x20-\x7e]/g, '?')
  return `'${printable.length > 80 ? `${printable.slice(0, 77)}...` : printable}'`
}

function textOf(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value))
}
