// Key material and realistic token claims, built once per run from the real key-ring code.
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto'
import { generateStoredKey } from '../../packages/server/dist/core/keys/keyring.js'

export const issuer = 'http://127.0.0.1:3000'
export const audience = 'baton'

/** A key as the key ring stores it (JWK JSON), plus the KeyObjects imported once. */
export async function benchKey(alg) {
  const stored = await generateStoredKey(alg, 'current', Date.now())
  const privateKey = createPrivateKey({ key: JSON.parse(stored.privateJwk), format: 'jwk' })
  const publicKey = createPublicKey(privateKey)
  return { stored, kid: stored.kid, privateKey, publicKey }
}

const id = () => randomBytes(16).toString('base64url')

/** The claims AccessTokens.issue() signs for a signed-in user (RFC 9068 shape, same order). */
export function accessTokenClaims(nowSeconds = Math.floor(Date.now() / 1000)) {
  return {
    iss: issuer,
    sub: id(),
    aud: audience,
    iat: nowSeconds,
    exp: nowSeconds + 900,
    jti: id(),
    sid: id(),
    scope: 'openid profile email',
    roles: ['user'],
  }
}
