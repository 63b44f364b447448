import { epochSeconds, type Clock } from '../clock.js'
import { BatonError } from '../errors.js'
import { randomId } from '../ids.js'
import type { KeyRing } from '../keys/keyring.js'
import {
  tokenTypes,
  VerifiedTokenCache,
  type SignedAccessTokenClaims,
} from '@baton-auth/verify/shared'
import { verifyJWT } from './verify-jwt.js'

/** RFC 9068 access token claims as we sign them (the verifier's vocabulary). */
export type AccessTokenClaims = SignedAccessTokenClaims

export interface AccessTokenSubject {
  userId: string
  sessionId: string
  scope: string
  roles: string[]
  clientId: string | null
}

export interface AccessTokensOptions {
  keyring: KeyRing
  clock: Clock
  issuer: string
  audience: string
  /** Seconds. */
  ttl: number
  cacheSize?: number
}

export const accessTokenType = tokenTypes.access

export class AccessTokens {
  readonly #options: AccessTokensOptions
  readonly #cache: VerifiedTokenCache<AccessTokenClaims>

  constructor(options: AccessTokensOptions) {
    this.#options = options
    this.#cache = new VerifiedTokenCache(options.cacheSize)
  }

  get ttl(): number {
    return this.#options.ttl
  }

  issue(subject: AccessTokenSubject): { token: string; claims: AccessTokenClaims } {
    const iat = epochSeconds(this.#options.clock)
    const claims: AccessTokenClaims = {
      iss: this.#options.issuer,
      sub: subject.userId,
      aud: this.#options.audience,
      iat,
      exp: iat + this.#options.ttl,
      jti: randomId(),
      sid: subject.sessionId,
      scope: subject.scope,
      roles: subject.roles,
    }
    if (subject.clientId !== null) claims.client_id = subject.clientId
    return { token: this.#options.keyring.signer().sign(accessTokenType, claims), claims }
  }

  /**
   * Verifies a bearer token: `invalid_token` or `access_token_expired` on failure. A token seen
   * before costs a cache lookup. The deny-list is the caller's check: it changes, the
   * signature does not.
   */
  async verify(token: string): Promise<AccessTokenClaims> {
    const now = epochSeconds(this.#options.clock)
    const cached = this.#cache.get(token, now)
    if (cached !== undefined) return cached
    const { claims, expired } = await this.inspect(token)
    if (expired) throw new BatonError('access_token_expired', 'The access token has expired.')
    this.#cache.set(token, claims)
    return claims
  }

  /** Full verification except that an expired token is reported instead of refused. */
  async inspect(token: string): Promise<{ claims: AccessTokenClaims; expired: boolean }> {
    const { payload, expired } = await verifyJWT(token, this.#options.keyring, {
      typ: accessTokenType,
      issuer: this.#options.issuer,
      audience: this.#options.audience,
      nowSeconds: epochSeconds(this.#options.clock),
    })
    if (typeof payload.scope !== 'string' || !Array.isArray(payload.roles)) {
      throw new BatonError('invalid_token', 'The token is invalid.', {
        detail: 'scope or roles missing',
      })
    }
    return { claims: payload as unknown as AccessTokenClaims, expired }
  }
}
