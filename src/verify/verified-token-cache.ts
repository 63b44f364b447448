/**
 * Tokens already verified, keyed by the exact token string. A client reuses one access token
 * for its whole life, so its repeated requests cost a map lookup, not a signature check.
 * Bounded: the oldest entry goes first when full. Entries die with the token's `exp`.
 *
 * The map is indexed by the signature segment (86 characters for ES256 and EdDSA) rather than
 * the whole token (about 500): hashing the full string on every request cost more than the rest
 * of the lookup. A hit still requires the whole token to be identical.
 */
export class VerifiedTokenCache<T extends { exp: number }> {
  readonly #entries = new Map<string, { token: string; claims: T }>()
  readonly #maxEntries: number

  constructor(maxEntries = 10_000) {
    this.#maxEntries = maxEntries
  }

  /** `index`: the token's signature segment, when the caller has already cut it out. */
  get(token: string, nowSeconds: number, index = indexOf(token)): T | undefined {
    const key = index
    const entry = this.#entries.get(key)
    if (entry === undefined || entry.token !== token) return undefined
    if (entry.claims.exp <= nowSeconds) {
      this.#entries.delete(key)
      return undefined
    }
    return entry.claims
  }

  set(token: string, claims: T, index = indexOf(token)): void {
    if (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next()
      if (!oldest.done) this.#entries.delete(oldest.value)
    }
    this.#entries.set(index, { token, claims })
  }

  get size(): number {
    return this.#entries.size
  }
}

function indexOf(token: string): string {
  return token.slice(token.lastIndexOf('.') + 1)
}
