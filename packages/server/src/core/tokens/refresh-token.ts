import { epochSeconds, type Clock } from '../clock.js'
import { BatonError } from '../errors.js'
import type { KeyRing } from '../keys/keyring.js'
import type { JWSVerifierKey } from './jws.js'
import { verifyJWT, type VerificationKeys } from './verify-jwt.js'
import { tokenTypes } from '@baton-auth/verify/shared'

export interface RefreshTokenClaims {
  iss: string
  sub: string
  aud: string
  iat: number
  exp: number
  jti: string
  sid: string
  /** The OAuth client the session was granted to; absent for `/auth` sessions. */
  client_id?: string
  /** The OAuth session's original grant (present with `client_id`). */
  scope?: string
}

export interface RefreshTokenSubject {
  sub: string
  sid: string
  jti: string
  iat: number
  exp: number
  clientId?: string
  scope?: string
}

export interface RefreshTokensOptions {
  /** The secret (HS256) ring: signs every new refresh token. */
  keyring: KeyRing
  /**
   * The signing ring of the access tokens, which signed refresh tokens before they had a ring of
   * their own: their tokens stay good until they expire or rotate.
   */
  earlierKeyring?: KeyRing
  clock: Clock
  issuer: string
}

export const refreshTokenType = tokenTypes.refresh

/**
 * Refresh tokens: HS256 under the secret ring, audience the issuer itself. No resource server
 * could verify one, and none would accept one.
 */
export class RefreshTokens {
  readonly #options: RefreshTokensOptions
  readonly #keys: VerificationKeys

  constructor(options: RefreshTokensOptions) {
    this.#options = options
    const { keyring, earlierKeyring } = options
    this.#keys =
      earlierKeyring === undefined
        ? keyring
        : {
            verifier: (kid) => keyring.verifier(kid) ?? earlierKeyring.verifier(kid),
            async reloadForUnknownKid(kid): Promise<JWSVerifierKey | undefined> {
              return (
                (await keyring.reloadForUnknownKid(kid)) ??
                (await earlierKeyring.reloadForUnknownKid(kid))
              )
            },
          }
  }

  /**
   * Signs from explicit claims: re-signing the stored successor for a grace replay yields the
   * same `jti`, `iat` and `exp`, and with HS256 the same bytes.
   */
  sign(claims: RefreshTokenSubject): string {
    const payload: RefreshTokenClaims = {
      iss: this.#options.issuer,
      sub: claims.sub,
      aud: this.#options.issuer,
      iat: claims.iat,
      exp: claims.exp,
      jti: claims.jti,
      sid: claims.sid,
    }
    // Signed, so `/oauth/token` checks the client binding and the grant without a store read.
    if (claims.clientId !== undefined) {
      payload.client_id = claims.clientId
      payload.scope = claims.scope ?? ''
    } else if (claims.scope !== undefined && claims.scope !== '') {
      // An /auth session signed in with a scope: a refresh may narrow within it, unread.
      payload.scope = claims.scope
    }
    return this.#options.keyring.signer().sign(refreshTokenType, payload)
  }

  async inspect(token: string): Promise<{ claims: RefreshTokenClaims; expired: boolean }> {
    const { payload, expired } = await verifyJWT(token, this.#keys, {
      typ: refreshTokenType,
      issuer: this.#options.issuer,
      audience: this.#options.issuer,
      nowSeconds: epochSeconds(this.#options.clock),
    })
    if (
      (payload.client_id !== undefined && typeof payload.client_id !== 'string') ||
      (payload.scope !== undefined && typeof payload.scope !== 'string')
    ) {
      throw new BatonError('invalid_token', 'The token is invalid.', {
        detail: 'refresh token claims of the wrong type',
      })
    }
    return { claims: payload as unknown as RefreshTokenClaims, expired }
  }
}
