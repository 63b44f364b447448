import { VerifyError } from './errors.js'
import {
  algorithmOf,
  importSignatureKey,
  type CryptoBackend,
  type JsonWebKeyLike,
  type SignatureKey,
  type VerifyAlgorithm,
} from './signature-keys.js'

export interface JWKSet {
  keys: JsonWebKeyLike[]
}

export interface KeySetOptions {
  algorithms: readonly VerifyAlgorithm[]
  crypto: CryptoBackend
  /** Milliseconds since the epoch. */
  now: () => number
}

export interface RemoteKeySetOptions extends KeySetOptions {
  url: string
  fetch: typeof fetch
  /** Least time between two fetches caused by an unknown `kid` (ms). */
  unknownKidCooldown: number
  /** How long a fetched set is fresh (ms); undefined: the response's `max-age`, else 5 minutes. */
  maxAge: number | undefined
  /** Deadline of one fetch (ms). */
  timeout: number
}

/** Where the verifier finds keys by `kid`. */
export interface KeySet {
  /** A key already known, without waiting; may start a background refresh of a stale set. */
  cached(kid: string): SignatureKey | undefined
  /** The key, loading or refreshing the set when that is allowed; undefined if there is none. */
  resolve(kid: string): Promise<SignatureKey | undefined>
}

/** Imports every usable key of a set; a key that does not import is skipped, not fatal. */
async function importSet(
  jwks: unknown,
  options: KeySetOptions,
  previous: Map<string, { source: string; key: SignatureKey }>,
): Promise<Map<string, { source: string; key: SignatureKey }>> {
  const keys = new Map<string, { source: string; key: SignatureKey }>()
  const entries = (jwks as { keys?: unknown } | null)?.keys
  if (!Array.isArray(entries)) throw new Error('not a JWK set: "keys" is not an array')
  for (const entry of entries as unknown[]) {
    if (typeof entry !== 'object' || entry === null) continue
    const jwk = entry as JsonWebKeyLike
    if (typeof jwk.kid !== 'string' || jwk.kid === '' || keys.has(jwk.kid)) continue
    const alg = algorithmOf(jwk)
    if (alg === null || !options.algorithms.includes(alg)) continue
    const source = JSON.stringify([alg, jwk.kty, jwk.crv, jwk.x, jwk.y, jwk.n, jwk.e])
    const known = previous.get(jwk.kid)
    if (known?.source === source) {
      keys.set(jwk.kid, known)
      continue
    }
    try {
      keys.set(jwk.kid, {
        source,
        key: await importSignatureKey(jwk, jwk.kid, alg, options.crypto),
      })
    } catch {
      // A malformed or unsupported key must not stop the others from verifying.
    }
  }
  return keys
}

/** A JWKS given in the options: imported once, never refreshed. */
export class StaticKeySet implements KeySet {
  readonly #loading: Promise<Map<string, { source: string; key: SignatureKey }>>
  #keys: Map<string, { source: string; key: SignatureKey }> | undefined

  constructor(jwks: JWKSet, options: KeySetOptions) {
    this.#loading = importSet(jwks, options, new Map())
    this.#loading.then(
      (keys) => (this.#keys = keys),
      () => undefined,
    )
  }

  cached(kid: string): SignatureKey | undefined {
    return this.#keys?.get(kid)?.key
  }

  async resolve(kid: string): Promise<SignatureKey | undefined> {
    return (await this.#loading).get(kid)?.key
  }
}

/**
 * A JWKS fetched from the issuer and cached. A stale set keeps answering while one background
 * fetch refreshes it, so requests never wait on the network after the first; an unknown `kid`
 * (a rotation this cache has not seen) fetches at once, at most once per cooldown, so a flood of
 * made-up `kid`s cannot become a flood of fetches.
 */
export class RemoteKeySet implements KeySet {
  readonly #options: RemoteKeySetOptions
  #keys = new Map<string, { source: string; key: SignatureKey }>()
  #loaded = false
  #freshUntil = 0
  #lastFetchStartedAt = Number.NEGATIVE_INFINITY
  #inFlight: Promise<void> | undefined

  constructor(options: RemoteKeySetOptions) {
    this.#options = options
  }

  cached(kid: string): SignatureKey | undefined {
    if (!this.#loaded) return undefined
    if (this.#options.now() >= this.#freshUntil) this.#refresh().catch(() => undefined)
    return this.#keys.get(kid)?.key
  }

  async resolve(kid: string): Promise<SignatureKey | undefined> {
    if (!this.#loaded) {
      try {
        await this.#refresh()
      } catch (error) {
        throw new VerifyError(
          'store_unavailable',
          'The signing keys could not be fetched; try again shortly.',
          error instanceof Error ? error.message : String(error),
        )
      }
      return this.#keys.get(kid)?.key
    }
    const known = this.cached(kid)
    if (known !== undefined) return known
    if (this.#options.now() - this.#lastFetchStartedAt < this.#options.unknownKidCooldown) {
      return this.#inFlight ? this.#inFlight.then(() => this.#keys.get(kid)?.key) : undefined
    }
    // A failed refetch leaves the old set in place: the kid is simply unknown.
    await this.#refresh().catch(() => undefined)
    return this.#keys.get(kid)?.key
  }

  /** One fetch at a time; concurrent callers share it. */
  #refresh(): Promise<void> {
    this.#inFlight ??= this.#fetch().finally(() => (this.#inFlight = undefined))
    return this.#inFlight
  }

  async #fetch(): Promise<void> {
    this.#lastFetchStartedAt = this.#options.now()
    const response = await this.#options.fetch(this.#options.url, {
      headers: { accept: 'application/jwk-set+json, application/json' },
      signal: AbortSignal.timeout(this.#options.timeout),
      redirect: 'error',
    })
    if (!response.ok) throw new Error(`JWKS answered ${response.status}`)
    const keys = await importSet(await response.json(), this.#options, this.#keys)
    this.#keys = keys
    this.#loaded = true
    this.#freshUntil =
      this.#options.now() +
      (this.#options.maxAge ??
        // A `no-cache` JWKS would otherwise be refetched on every request.
        Math.max(1000, maxAgeOf(response.headers.get('cache-control')) ?? 300_000))
  }
}

/** `max-age` of a Cache-Control header in ms; `no-store`/`no-cache` count as zero. */
export function maxAgeOf(header: string | null): number | undefined {
  if (header === null) return undefined
  if (/(?:^|,)\s*no-(?:store|cache)\b/i.test(header)) return 0
  const match = /(?:^|,)\s*max-age\s*=\s*"?(\d+)"?/i.exec(header)
  return match ? Number(match[1]) * 1000 : undefined
}
