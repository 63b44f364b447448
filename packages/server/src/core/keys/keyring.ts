import {
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
  randomBytes,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto'
import { calculateJwkThumbprint, type JWK } from 'jose'
import type { Clock } from '../clock.js'
import type { SigningAlgorithm } from '../config/config.js'
import { randomId } from '../ids.js'
import type { KeyState, KeyStore, StoredKey } from '../ports.js'
import {
  createHmacSigner,
  createHmacVerifierKey,
  createJWSSigner,
  createJWSVerifierKey,
  minimumSecretBytes,
  secretAlgorithm,
  type JWSSigner,
  type JWSVerifierKey,
  type KeyAlgorithm,
} from '../tokens/jws.js'

export interface KeyRingOptions {
  store: KeyStore
  clock: Clock
  /**
   * What the ring's current key signs with. An asymmetric algorithm makes the published ring
   * (access tokens, JWKS); `HS256` the secret ring (refresh tokens). Both live in the same store
   * and each ring sees only keys of its own kind.
   */
  alg: KeyAlgorithm
  /**
   * How long a retired key keeps verifying (seconds): the longest life of any token it signed.
   */
  retiredKeyLifetime: number
  /** Least time between two store reloads caused by an unknown `kid` (ms). */
  unknownKidReloadInterval?: number
}

export interface PublicJWK extends JWK {
  kid: string
  alg: string
  use: 'sig'
}

interface LoadedKey {
  stored: StoredKey
  signer: JWSSigner
  verifier: JWSVerifierKey
  /** Null for a secret key: nothing of it is ever published. */
  publicJwk: PublicJWK | null
}

/**
 * The keys of one kind (asymmetric signing keys, or the refresh-token secrets), shared by every
 * instance through the database store. States:
 * next (published, not yet signing, so caches learn it first), current (signs),
 * retired (verifies until every token it signed has expired, then removed).
 */
export class KeyRing {
  readonly #options: Required<KeyRingOptions>
  readonly #secret: boolean
  #keys = new Map<string, LoadedKey>()
  #current: LoadedKey | undefined
  #lastUnknownKidReload = Number.NEGATIVE_INFINITY

  constructor(options: KeyRingOptions) {
    this.#options = { unknownKidReloadInterval: 10_000, ...options }
    this.#secret = isSecretAlgorithm(options.alg)
  }

  /** Loads the ring and makes sure a current key of the configured algorithm exists. */
  async init(): Promise<void> {
    await this.reload()
    if (this.#current?.stored.alg === this.#options.alg) return
    const now = this.#options.clock.now()
    const key = await generateStoredKey(this.#options.alg, 'current', now)
    await this.#options.store.insertKey(key)
    // A key of another algorithm (the setting changed) keeps verifying what it signed.
    for (const loaded of this.#keys.values()) {
      if (loaded.stored.state !== 'retired') await this.#retire(loaded.stored, now)
    }
    await this.reload()
    // Instances that start together on an empty database each add a current key. Every one of
    // them picks the same survivor (reload's order), and whichever sees the others retires them:
    // exactly one key keeps signing, and the retired ones still verify what they signed.
    const losers = [...this.#keys.values()].filter(
      (loaded) => loaded.stored.state === 'current' && loaded !== this.#current,
    )
    for (const loaded of losers) await this.#retire(loaded.stored, now)
    if (losers.length > 0) await this.reload()
  }

  /**
   * Rereads the ring from the store, promotes a *next* key whose activation time has come, and
   * drops retired keys whose tokens have all expired.
   */
  async reload(): Promise<void> {
    const now = this.#options.clock.now()
    let stored = await this.#listOwnKeys()
    if (await this.#promoteDueKeys(stored, now)) stored = await this.#listOwnKeys()
    const keys = new Map<string, LoadedKey>()
    for (const key of stored) {
      if (key.state === 'retired' && key.removeAfter !== null && key.removeAfter <= now) {
        await this.#options.store.deleteKey(key.kid)
        continue
      }
      // Key material never changes under a kid: reuse what is already imported.
      const loaded = this.#keys.get(key.kid)
      keys.set(key.kid, loaded ? { ...loaded, stored: key } : loadKey(key))
    }
    this.#keys = keys
    this.#current = [...keys.values()]
      .filter((key) => key.stored.state === 'current')
      .sort(
        (a, b) =>
          (b.stored.activatedAt ?? 0) - (a.stored.activatedAt ?? 0) ||
          (a.stored.kid < b.stored.kid ? -1 : 1),
      )[0]
  }

  async #listOwnKeys(): Promise<StoredKey[]> {
    const keys = await this.#options.store.listKeys()
    return keys.filter((key) => isSecretAlgorithm(key.alg) === this.#secret)
  }

  /** The key that signs now. */
  signer(): JWSSigner {
    if (!this.#current) throw new Error('KeyRing.init() has not run')
    return this.#current.signer
  }

  /** A verification key by `kid`, from this ring only. */
  verifier(kid: string): JWSVerifierKey | undefined {
    return this.#keys.get(kid)?.verifier
  }

  /**
   * Another instance may have rotated: reread the ring, at most once per interval, so a flood of
   * made-up `kid`s cannot turn into a flood of store reads.
   */
  async reloadForUnknownKid(kid: string): Promise<JWSVerifierKey | undefined> {
    const now = this.#options.clock.now()
    if (now - this.#lastUnknownKidReload < this.#options.unknownKidReloadInterval) return undefined
    this.#lastUnknownKidReload = now
    await this.reload()
    return this.verifier(kid)
  }

  /**
   * Public keys of every published state, for `/.well-known/jwks.json`: next, current, and
   * retired until every token they signed has expired (even between two reloads).
   */
  jwks(): { keys: PublicJWK[] } {
    const now = this.#options.clock.now()
    return {
      keys: [...this.#keys.values()]
        .filter(({ stored }) => stored.removeAfter === null || stored.removeAfter > now)
        .flatMap((key) => (key.publicJwk === null ? [] : [key.publicJwk])),
    }
  }

  /** When the earliest *next* key is due to start signing, if one is waiting. */
  nextActivationAt(): number | undefined {
    const times = [...this.#keys.values()]
      .filter(({ stored }) => stored.state === 'next' && stored.activatedAt !== null)
      .map(({ stored }) => stored.activatedAt as number)
    return times.length === 0 ? undefined : Math.min(...times)
  }

  /**
   * A due next key becomes current and the current one retires, stamped with the planned
   * activation time rather than "now": every instance that does this writes the same values, so
   * instances racing to promote agree.
   */
  async #promoteDueKeys(stored: StoredKey[], now: number): Promise<boolean> {
    const due = stored
      .filter((key) => key.state === 'next' && key.activatedAt !== null && key.activatedAt <= now)
      .sort((a, b) => (b.activatedAt as number) - (a.activatedAt as number))
    const [promoted] = due
    if (promoted === undefined) return false
    const activatedAt = promoted.activatedAt as number
    await this.#options.store.updateKey(promoted.kid, {
      state: 'current',
      activatedAt,
      retiredAt: null,
      removeAfter: null,
    })
    for (const key of stored) {
      if (key.kid === promoted.kid) continue
      if (key.state === 'current' || (key.state === 'next' && due.includes(key))) {
        await this.#retire(key, activatedAt)
      }
    }
    return true
  }

  async #retire(key: StoredKey, now: number): Promise<void> {
    await this.#options.store.updateKey(key.kid, {
      state: 'retired' satisfies KeyState,
      activatedAt: key.activatedAt,
      retiredAt: now,
      removeAfter: now + this.#options.retiredKeyLifetime * 1000,
    })
  }
}

/**
 * Adds a new key as *next*: published at once, signing from `activateAt` on (each instance
 * promotes it at its first reload after that; `createBaton` schedules one). Publishing first
 * lets every verifier's JWKS cache learn the key before any token carries it.
 */
export async function addNextKey(
  store: KeyStore,
  alg: KeyAlgorithm,
  now: number,
  activateAt: number,
): Promise<StoredKey> {
  const key = await generateStoredKey(alg, 'next', now)
  key.activatedAt = activateAt
  await store.insertKey(key)
  return key
}

export async function generateStoredKey(
  alg: KeyAlgorithm,
  state: KeyState,
  now: number,
): Promise<StoredKey> {
  if (alg === secretAlgorithm) return generateSecret(state, now)
  const { privateKey, publicKey } = generateKeyPair(alg)
  const publicJwk = publicKey.export({ format: 'jwk' })
  const kid = await calculateJwkThumbprint(publicJwk, 'sha256')
  return {
    kid,
    alg,
    state,
    privateJwk: JSON.stringify(privateKey.export({ format: 'jwk' })),
    publicJwk: JSON.stringify({ ...publicJwk, kid, alg, use: 'sig' }),
    createdAt: now,
    activatedAt: state === 'current' ? now : null,
    retiredAt: null,
    removeAfter: null,
  }
}

export function isSecretAlgorithm(alg: string): boolean {
  return alg === secretAlgorithm
}

/**
 * A refresh-token secret: random bytes stored as an `oct` JWK beside the private signing keys.
 * Its kid is random too, since a thumbprint of a secret would be a hash of the secret.
 */
function generateSecret(state: KeyState, now: number): StoredKey {
  return {
    kid: randomId(),
    alg: secretAlgorithm,
    state,
    privateJwk: JSON.stringify({
      kty: 'oct',
      k: randomBytes(minimumSecretBytes).toString('base64url'),
    }),
    publicJwk: '',
    createdAt: now,
    activatedAt: state === 'current' ? now : null,
    retiredAt: null,
    removeAfter: null,
  }
}

function generateKeyPair(alg: SigningAlgorithm): { privateKey: KeyObject; publicKey: KeyObject } {
  switch (alg) {
    case 'ES256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' })
    case 'EdDSA':
      return generateKeyPairSync('ed25519')
    case 'RS256':
      return generateKeyPairSync('rsa', { modulusLength: 2048 })
  }
}

function loadKey(stored: StoredKey): LoadedKey {
  if (isSecretAlgorithm(stored.alg)) {
    const { k } = JSON.parse(stored.privateJwk) as { k?: string }
    const secret = createSecretKey(Buffer.from(k ?? '', 'base64url'))
    return {
      stored,
      signer: createHmacSigner(stored.kid, secret),
      verifier: createHmacVerifierKey(stored.kid, secret),
      publicJwk: null,
    }
  }
  const alg = stored.alg as SigningAlgorithm
  const privateKey = createPrivateKey({
    key: JSON.parse(stored.privateJwk) as JsonWebKey,
    format: 'jwk',
  })
  const publicKey = createPublicKey(privateKey)
  const publicJwk = JSON.parse(stored.publicJwk) as PublicJWK
  return {
    stored,
    signer: createJWSSigner(alg, stored.kid, privateKey),
    verifier: createJWSVerifierKey(alg, stored.kid, publicKey),
    publicJwk,
  }
}
