import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { clientIdPattern, type OAuthClientConfig } from '../config/config.js'
import { BatonError } from '../errors.js'
import type { OAuthClientStore, StoredOAuthClient } from '../ports.js'

/** How a client authenticated at an endpoint (RFC 8414 `*_auth_methods_supported` names). */
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none'

/** What a request presented to identify its client. */
export interface ClientCredentials {
  id: string
  /** Null for `none` (a public client sends its `client_id` only). */
  secret: string | null
  method: ClientAuthMethod
}

export interface OAuthClient {
  id: string
  confidential: boolean
  source: 'env' | 'database'
}

export interface OAuthClientsOptions {
  /** `BATON_OAUTH_CLIENTS`. */
  configured: readonly OAuthClientConfig[]
  store: OAuthClientStore
  /**
   * Longest time (ms) the stored clients are used before they are read again, on the next
   * request that needs them: a client removed with `baton clients remove` is refused by then.
   * @default 5000
   */
  maxAge?: number
  /**
   * Least time (ms) between two reads caused by an unknown `client_id`: a client just added is
   * accepted at once, and made-up ids cannot turn into a flood of store reads.
   * @default 1000
   */
  unknownIdReloadInterval?: number
  /** Monotonic milliseconds; tests pass their own. @default performance.now */
  now?: () => number
}

interface KnownClient {
  client: OAuthClient
  secretHash: Buffer | null
}

const hashPrefix = 'sha256:'

/**
 * The stored form of a client secret. SHA-256 suffices: Baton generates every stored secret with
 * 256 bits of entropy, so there is no dictionary to slow down (unlike passwords).
 */
export function hashClientSecret(secret: string): string {
  return `${hashPrefix}${digest(secret).toString('base64url')}`
}

/** A new confidential client's secret: 256 random bits, base64url. */
export function generateClientSecret(): string {
  return randomBytes(32).toString('base64url')
}

export function isValidClientId(id: string): boolean {
  return clientIdPattern.test(id)
}

const invalidClient = (detail: string): BatonError =>
  new BatonError('invalid_client', 'Client authentication failed.', { detail })

/**
 * The OAuth clients: those of `BATON_OAUTH_CLIENTS` (secrets hashed once, at start) and those of
 * the database, reread on demand so that `baton clients add/remove` takes effect without a
 * restart. A configured client wins over a stored one of the same id.
 */
export class OAuthClients {
  readonly #store: OAuthClientStore
  readonly #maxAge: number
  readonly #unknownIdReloadInterval: number
  readonly #now: () => number
  readonly #configured: ReadonlyMap<string, KnownClient>
  #stored = new Map<string, KnownClient>()
  /** When (`now()`) the last successful read started. */
  #storedAt = Number.NEGATIVE_INFINITY
  #reading: Promise<void> | undefined

  constructor(options: OAuthClientsOptions) {
    this.#store = options.store
    this.#maxAge = options.maxAge ?? 5000
    this.#unknownIdReloadInterval = options.unknownIdReloadInterval ?? 1000
    this.#now = options.now ?? (() => performance.now())
    this.#configured = new Map(
      options.configured.map(({ id, secret }) => [
        id,
        {
          client: { id, confidential: secret !== null, source: 'env' },
          secretHash: secret === null ? null : digest(secret),
        },
      ]),
    )
  }

  /** The client with this id, or null. May read the store (and so fail with `store_unavailable`). */
  async find(id: string): Promise<OAuthClient | null> {
    return (await this.#lookup(id))?.client ?? null
  }

  /**
   * RFC 6749 §2.3: a confidential client proves itself with its secret, a public one sends its id
   * alone. Anything else is `invalid_client`; the message never says which part was wrong.
   */
  async authenticate(credentials: ClientCredentials): Promise<OAuthClient> {
    const known = isValidClientId(credentials.id) ? await this.#lookup(credentials.id) : null
    // Hashing whatever was sent, known client or not, keeps the work the same for both.
    const presented = digest(credentials.secret ?? '')
    if (known === null) throw invalidClient(`unknown client ${credentials.id.slice(0, 128)}`)
    if (known.secretHash === null) {
      if (credentials.method !== 'none' || credentials.secret !== null) {
        throw invalidClient(`public client ${known.client.id} sent a secret`)
      }
      return known.client
    }
    if (credentials.method === 'none' || credentials.secret === null) {
      throw invalidClient(`confidential client ${known.client.id} sent no secret`)
    }
    if (!timingSafeEqual(presented, known.secretHash)) {
      throw invalidClient(`wrong secret for client ${known.client.id}`)
    }
    return known.client
  }

  async #lookup(id: string): Promise<KnownClient | null> {
    const configured = this.#configured.get(id)
    if (configured !== undefined) return configured
    const age = this.#now() - this.#storedAt
    if (age >= this.#maxAge || (!this.#stored.has(id) && age >= this.#unknownIdReloadInterval)) {
      await this.#read()
    }
    return this.#stored.get(id) ?? null
  }

  /** One read at a time: concurrent requests share it. A failed read keeps nothing stale alive. */
  async #read(): Promise<void> {
    this.#reading ??= (async () => {
      const startedAt = this.#now()
      try {
        const clients = await this.#store.listClients()
        this.#stored = new Map(clients.map((client) => [client.id, known(client)]))
        this.#storedAt = startedAt
      } finally {
        this.#reading = undefined
      }
    })()
    return this.#reading
  }
}

function known(stored: StoredOAuthClient): KnownClient {
  const confidential = stored.secretHash !== null
  return {
    client: { id: stored.id, confidential, source: 'database' },
    // An unreadable hash matches no secret: the client stays confidential and unusable.
    secretHash: confidential ? (parseHash(stored.secretHash) ?? Buffer.alloc(32)) : null,
  }
}

function parseHash(text: string | null): Buffer | null {
  if (text === null || !text.startsWith(hashPrefix)) return null
  const bytes = Buffer.from(text.slice(hashPrefix.length), 'base64url')
  return bytes.length === 32 ? bytes : null
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest()
}
