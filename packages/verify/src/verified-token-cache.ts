/**
 * Tokens already verified, keyed by the exact token string. A client reuses one access token
 * for its whole life, so its repeated requests cost a map lookup, not a signature check.
 * Entries die with the token's `exp`.
 *
 * Bounded by two generations of at most half the size each: new entries go into the young one,
 * and when it is full the old one is dropped whole and the young one takes its place; a hit in
 * the old generation moves the entry back into the young one, so tokens in use stay. Evicting
 * entry by entry from the front of one Map instead cost 2.3 µs per insertion once full, as much
 * as the rest of a verification's overhead.
 *
 * The maps are indexed by the signature segment (86 characters for ES256 and EdDSA) rather than
 * the whole token (about 500): hashing the full string on every request cost more than the rest
 * of the lookup. A hit still requires the whole token to be identical.
 */
export class VerifiedTokenCache<T extends { exp: number }> {
  #young = new Map<string, { token: string; claims: T }>()
  #old = new Map<string, { token: string; claims: T }>()
  readonly #generationSize: number

  /** At most `maxEntries` entries (rounded up to an even number). */
  constructor(maxEntries = 10_000) {
    this.#generationSize = Math.max(1, Math.ceil(maxEntries / 2))
  }

  /** `index`: the token's signature segment, when the caller has already cut it out. */
  get(token: string, nowSeconds: number, index = indexOf(token)): T | undefined {
    let entry = this.#young.get(index)
    if (entry === undefined) {
      entry = this.#old.get(index)
      if (entry === undefined || entry.token !== token) return undefined
      this.#old.delete(index)
      if (entry.claims.exp > nowSeconds) this.#insert(index, entry)
    } else if (entry.token !== token) {
      return undefined
    }
    if (entry.claims.exp <= nowSeconds) {
      this.#young.delete(index)
      return undefined
    }
    return entry.claims
  }

  set(token: string, claims: T, index = indexOf(token)): void {
    this.#old.delete(index)
    this.#insert(index, { token, claims })
  }

  get size(): number {
    return this.#young.size + this.#old.size
  }

  #insert(index: string, entry: { token: string; claims: T }): void {
    if (this.#young.size >= this.#generationSize && !this.#young.has(index)) {
      this.#old = this.#young
      this.#young = new Map()
    }
    this.#young.set(index, entry)
  }
}

function indexOf(token: string): string {
  return token.slice(token.lastIndexOf('.') + 1)
}
