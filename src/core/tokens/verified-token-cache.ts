/**
 * Tokens already verified, keyed by the exact token string. A client reuses one access token
 * for its whole life, so its repeated requests cost a map lookup, not a signature check.
 * Bounded: the oldest entry goes first when full. Entries die with the token's `exp`.
 */
export class VerifiedTokenCache<T extends { exp: number }> {
  readonly #entries = new Map<string, T>()
  readonly #maxEntries: number

  constructor(maxEntries = 10_000) {
    this.#maxEntries = maxEntries
  }

  get(token: string, nowSeconds: number): T | undefined {
    const claims = this.#entries.get(token)
    if (claims === undefined) return undefined
    if (claims.exp <= nowSeconds) {
      this.#entries.delete(token)
      return undefined
    }
    return claims
  }

  set(token: string, claims: T): void {
    if (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next()
      if (!oldest.done) this.#entries.delete(oldest.value)
    }
    this.#entries.set(token, claims)
  }

  get size(): number {
    return this.#entries.size
  }
}
