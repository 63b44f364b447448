import { BatonError } from '../errors.js'
import type { KeyRing } from '../keys/keyring.js'
import { decodeJWS, parseSignedJSONObject } from './jws.js'

/** Clock skew accepted on `iat` and `nbf` (never more than 30 s, per API.md). */
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
 * `none` and HMAC never match a ring key.
 */
export async function verifyJWT(
  token: unknown,
  keyring: KeyRing,
  expect: JWTExpectations,
): Promise<VerifiedJWT> {
  const decoded = decodeJWS(token)
  if (decoded === null) throw invalid('malformed JWS')
  const { header } = decoded
  if (header.crit !== undefined) throw invalid('unsupported crit header')
  const typ = typeof header.typ === 'string' ? header.typ.toLowerCase() : ''
  if (typ !== expect.typ && typ !== `application/${expect.typ}`)
    throw invalid(`typ ${typ || 'missing'}`)
  if (typeof header.kid !== 'string' || typeof header.alg !== 'string')
    throw invalid('kid or alg missing')
  const key = keyring.verifier(header.kid) ?? (await keyring.reloadForUnknownKid(header.kid))
  if (key === undefined) throw invalid('unknown kid')
  if (key.alg !== header.alg) throw invalid(`alg ${header.alg} does not match the key`)
  if (!key.verifySignature(decoded.signingInput, decoded.signature)) throw invalid('bad signature')

  const payload = parseSignedJSONObject(decoded.payloadSegment)
  if (payload === null) throw invalid('payload is not a JSON object')
  if (payload.iss !== expect.issuer) throw invalid('wrong iss')
  const aud = payload.aud
  if (!(aud === expect.audience || (Array.isArray(aud) && aud.includes(expect.audience)))) {
    throw invalid('wrong aud')
  }
  const { exp, iat, nbf } = payload
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw invalid('exp missing')
  if (typeof iat !== 'number' || iat > expect.nowSeconds + clockToleranceSeconds)
    throw invalid('iat in the future')
  if (
    nbf !== undefined &&
    (typeof nbf !== 'number' || nbf > expect.nowSeconds + clockToleranceSeconds)
  ) {
    throw invalid('not yet valid')
  }
  for (const claim of ['sub', 'jti', 'sid'] as const) {
    if (typeof payload[claim] !== 'string' || payload[claim] === '')
      throw invalid(`${claim} missing`)
  }
  return { payload, expired: exp <= expect.nowSeconds }
}
