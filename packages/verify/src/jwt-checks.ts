/**
 * The JWT rules of docs/api.md "Tokens", once, for the server's own verification (src/core) and for
 * `@baton-auth/verify`. Each returns what is wrong, for the operator's logs, or null; the callers turn
 * that into their own `invalid_token` error. Expiry is the callers' too: the server reports it to
 * the two-token table, the verifier refuses it.
 */

/** Before the key is looked up: no `crit`, the expected `typ`, a `kid` and an `alg`. */
export function headerProblem(
  header: Readonly<Record<string, unknown>>,
  typ: string,
): string | null {
  if (header.crit !== undefined) return 'unsupported crit header'
  const presented = typeof header.typ === 'string' ? header.typ.toLowerCase() : ''
  // RFC 8725 §3.11: the `application/` prefix may be left out, or not.
  if (presented !== typ && presented !== `application/${typ}`) {
    return `typ ${presented || 'missing'}`
  }
  if (typeof header.kid !== 'string' || typeof header.alg !== 'string') return 'kid or alg missing'
  return null
}

export interface ClaimExpectations {
  issuer: string
  audience: string
  nowSeconds: number
  /** Seconds `iat` and `nbf` may lie in the future (other machines' clocks). */
  tolerance: number
}

const requiredStrings = ['sub', 'jti', 'sid'] as const

/** After the signature: `iss`, `aud`, a numeric `exp`, `iat` and `nbf`, `sub`, `jti`, `sid`. */
export function claimsProblem(
  claims: Readonly<Record<string, unknown>>,
  expect: ClaimExpectations,
): string | null {
  if (claims.iss !== expect.issuer) return 'wrong iss'
  const aud = claims.aud
  if (!(aud === expect.audience || (Array.isArray(aud) && aud.includes(expect.audience)))) {
    return 'wrong aud'
  }
  const { exp, iat, nbf } = claims
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return 'exp missing'
  const latest = expect.nowSeconds + expect.tolerance
  if (typeof iat !== 'number' || iat > latest) return 'iat missing or in the future'
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > latest)) return 'not yet valid'
  for (const claim of requiredStrings) {
    if (typeof claims[claim] !== 'string' || claims[claim] === '') return `${claim} missing`
  }
  return null
}
