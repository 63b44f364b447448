import { BatonError } from '../errors.js'
import { claimsProblem, headerProblem } from '@baton-auth/verify/shared'
import { decodeJWS, parseSignedJSONObject, type JWSVerifierKey } from './jws.js'

/** Where verification keys come from: a `KeyRing`, or several (refresh tokens). */
export interface VerificationKeys {
  verifier(kid: string): JWSVerifierKey | undefined
  /** Rereads the store for a `kid` not seen yet, rate-limited. */
  reloadForUnknownKid(kid: string): Promise<JWSVerifierKey | undefined>
}

/** Clock skew accepted on `iat` and `nbf` (never more than 30 s, per docs/api.md). */
export const clockToleranceSeconds = 30

export interface JWTExpectations {
  /** Exact `typ`; the `application/` prefix is accepted too (RFC 8725 §3.11). */
  typ: string
  issuer: string
  audience: string
  nowSeconds: number
}

export interface VerifiedJWT {
  payload: Record<string, unknown>
  /** `exp` has passed. The signature and every other claim are valid. */
  expired: boolean
}

const invalid = (detail: string): BatonError =>
  new BatonError('invalid_token', 'The token is invalid.', { detail })

/**
 * Verifies signature, `typ`, `iss`, `aud`, `nbf`, `iat` and the presence of `exp`; reports
 * expiry instead of throwing so the two-token table can use it. The key comes from our ring by
 * `kid` only (`jku`, `x5u`, `jwk` are ignored) and must be of the algorithm the header names:
 * `none` never matches a ring key, and HMAC only a key of the secret ring, which verifies
 * refresh tokens and nothing else.
 */
export async function verifyJWT(
  token: unknown,
  keyring: VerificationKeys,
  expect: JWTExpectations,
): Promise<VerifiedJWT> {
  const decoded = decodeJWS(token)
  if (decoded === null) throw invalid('malformed JWS')
  const { header } = decoded
  const headerIssue = headerProblem(header, expect.typ)
  if (headerIssue !== null) throw invalid(headerIssue)
  const kid = header.kid as string
  const key = keyring.verifier(kid) ?? (await keyring.reloadForUnknownKid(kid))
  if (key === undefined) throw invalid('unknown kid')
  if (key.alg !== header.alg) throw invalid(`alg ${String(header.alg)} does not match the key`)
  if (!key.verifySignature(decoded.signingInput, decoded.signature)) throw invalid('bad signature')

  const payload = parseSignedJSONObject(decoded.payloadSegment)
  if (payload === null) throw invalid('payload is not a JSON object')
  const claimsIssue = claimsProblem(payload, {
    issuer: expect.issuer,
    audience: expect.audience,
    nowSeconds: expect.nowSeconds,
    tolerance: clockToleranceSeconds,
  })
  if (claimsIssue !== null) throw invalid(claimsIssue)
  return { payload, expired: (payload.exp as number) <= expect.nowSeconds }
}
