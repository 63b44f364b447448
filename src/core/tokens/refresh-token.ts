import { epochSeconds, type Clock } from '../clock.js'
import type { KeyRing } from '../keys/keyring.js'
import { verifyJWT } from './verify-jwt.js'

export interface RefreshTokenClaims {
  iss: string
  sub: string
  aud: string
  iat: number
  exp: number
  jti: string
  sid: string
}

export interface RefreshTokensOptions {
  keyring: KeyRing
  clock: Clock
  issuer: string
}

export const refreshTokenType = 'rt+jwt'

/** Refresh tokens: audience is the issuer itself, so no resource server accepts one. */
export class RefreshTokens {
  readonly #options: RefreshTokensOptions

  constructor(options: RefreshTokensOptions) {
    this.#options = options
  }

  /**
   * Signs from explicit claims: re-signing the stored successor for a grace replay yields the
   * same `jti`, `iat` and `exp` (and the same bytes with a deterministic algorithm).
   */
  sign(claims: { sub: string; sid: string; jti: string; iat: number; exp: number }): string {
    const payload: RefreshTokenClaims = {
      iss: this.#options.issuer,
      sub: claims.sub,
      aud: this.#options.issuer,
      iat: claims.iat,
      exp: claims.exp,
      jti: claims.jti,
      sid: claims.sid,
    }
    return this.#options.keyring.signer().sign(refreshTokenType, payload)
  }

  async inspect(token: string): Promise<{ claims: RefreshTokenClaims; expired: boolean }> {
    const { payload, expired } = await verifyJWT(token, this.#options.keyring, {
      typ: refreshTokenType,
      issuer: this.#options.issuer,
      audience: this.#options.issuer,
      nowSeconds: epochSeconds(this.#options.clock),
    })
    return { claims: payload as unknown as RefreshTokenClaims, expired }
  }
}
