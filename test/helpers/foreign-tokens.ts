import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { calculateJwkThumbprint, exportJWK, SignJWT, type JWK, type JWTPayload } from 'jose'
import type { SigningAlgorithm } from '../../packages/server/src/core/config/config.js'

/**
 * Access tokens shaped like Baton's but signed by the test with keys of its own (through jose),
 * so verifier and middleware tests can forge any header or claim.
 */
export const issuer = 'https://auth.example.com'
export const audience = 'orders-api'

export interface TestKey {
  alg: SigningAlgorithm
  kid: string
  privateKey: KeyObject
  publicJwk: JWK
}

export async function makeKey(alg: SigningAlgorithm): Promise<TestKey> {
  const { privateKey, publicKey } =
    alg === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : alg === 'EdDSA'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('rsa', { modulusLength: 2048 })
  const jwk = await exportJWK(publicKey)
  const kid = await calculateJwkThumbprint(jwk)
  return { alg, kid, privateKey, publicJwk: { ...jwk, kid, alg, use: 'sig' } }
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000)

/** RFC 9068 claims as Baton signs them, valid for 15 minutes from now. */
export function claims(overrides: JWTPayload = {}): JWTPayload {
  const iat = nowSeconds()
  return {
    iss: issuer,
    sub: 'user-1',
    aud: audience,
    iat,
    exp: iat + 900,
    jti: `jti-${Math.random()}`,
    sid: 'session-1',
    scope: 'orders:read',
    roles: ['user'],
    ...overrides,
  }
}

export function sign(
  key: TestKey,
  payload: JWTPayload = claims(),
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...header })
    .sign(key.privateKey)
}
