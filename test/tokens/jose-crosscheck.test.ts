import {
  createPrivateKey,
  createSecretKey,
  randomUUID,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto'
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  jwtVerify,
  SignJWT,
  type JSONWebKeySet,
  type JWTPayload,
} from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SigningAlgorithm } from '../../packages/server/src/core/config/config.js'
import {
  createTestServer,
  decodeJWT,
  me,
  signup,
  type TestServer,
  type TokenBody,
} from '../helpers/server.js'

/**
 * Our hand-rolled compact JWS layer (src/core/tokens/jws.ts) against `jose`, both ways: what we
 * sign, jose verifies; what jose signs with our key, we accept. Access tokens use the published
 * ring of each algorithm; refresh tokens the HS256 secret ring, whatever the signing algorithm.
 */

const algorithms: SigningAlgorithm[] = ['ES256', 'EdDSA', 'RS256']

const accessTtl = 900
const refreshTtl = 14 * 24 * 3600

describe.each(algorithms)('%s', (alg) => {
  let server: TestServer
  let jwks: ReturnType<typeof createLocalJWKSet>
  let publishedKeys: JSONWebKeySet
  let current: { kid: string; privateKey: KeyObject }
  let refreshSecret: { kid: string; secret: KeyObject }
  let tokens: TokenBody & { refreshToken: string }

  beforeAll(async () => {
    server = await createTestServer({ env: { BATON_SIGNING_ALG: alg } })
    const response = await server.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
    expect(response.statusCode).toBe(200)
    publishedKeys = response.json<JSONWebKeySet>()
    jwks = createLocalJWKSet(publishedKeys)
    const stored = (await server.database.listKeys()).filter((key) => key.state === 'current')
    expect(stored.map((key) => key.alg).sort()).toEqual([alg, 'HS256'].sort())
    const key = stored.find((candidate) => candidate.alg === alg)
    const secret = stored.find((candidate) => candidate.alg === 'HS256')
    if (key === undefined || secret === undefined) throw new Error('no current keys')
    refreshSecret = {
      kid: secret.kid,
      secret: createSecretKey(
        Buffer.from((JSON.parse(secret.privateJwk) as { k: string }).k, 'base64url'),
      ),
    }
    current = {
      kid: key.kid,
      privateKey: createPrivateKey({
        key: JSON.parse(key.privateJwk) as JsonWebKey,
        format: 'jwk',
      }),
    }
    tokens = await signup(server)
  })
  afterAll(async () => server.close())

  const currentDate = (): Date => new Date(server.clock.now())
  const nowSeconds = (): number => Math.floor(server.clock.now() / 1000)

  describe('(a) jose verifies what we issue', () => {
    it('publishes only public keys, with kid, alg and use', () => {
      const key = publishedKeys.keys.find((candidate) => candidate.kid === current.kid)
      expect(key).toMatchObject({ kid: current.kid, alg, use: 'sig' })
      for (const published of publishedKeys.keys) {
        for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'])
          expect(published).not.toHaveProperty(secret)
      }
    })

    it('verifies an access token with the JWKS, issuer, audience, typ and algorithm', async () => {
      const { config } = server
      const { payload, protectedHeader } = await jwtVerify(tokens.accessToken, jwks, {
        issuer: config.issuer,
        audience: config.audience,
        typ: 'at+jwt',
        algorithms: [alg],
        currentDate: currentDate(),
        requiredClaims: ['iss', 'sub', 'aud', 'iat', 'exp', 'jti'],
      })
      expect(protectedHeader).toEqual({ alg, kid: current.kid, typ: 'at+jwt' })
      expect(Object.keys(payload).sort()).toEqual(
        ['aud', 'exp', 'iat', 'iss', 'jti', 'roles', 'scope', 'sid', 'sub'].sort(),
      )
      expect(payload).toMatchObject({
        iss: config.issuer,
        sub: tokens.user.id,
        aud: config.audience,
        sid: tokens.sessionId,
        roles: tokens.user.roles,
      })
      expect(typeof payload.scope).toBe('string')
      expect(Array.isArray(payload.roles)).toBe(true)
      expect(payload.roles).toEqual(['user'])
      expect(typeof payload.jti).toBe('string')
      expect(payload.jti).not.toBe('')
      expect(Number.isInteger(payload.iat)).toBe(true)
      expect(Math.abs((payload.iat ?? 0) - nowSeconds())).toBeLessThanOrEqual(1)
      expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(accessTtl)
      expect(tokens.expiresIn).toBe(accessTtl)
    })

    it('verifies a refresh token with the stored HS256 secret, issuer as audience, typ rt+jwt', async () => {
      const { config } = server
      const { payload, protectedHeader } = await jwtVerify(
        tokens.refreshToken,
        refreshSecret.secret,
        {
          issuer: config.issuer,
          audience: config.issuer,
          typ: 'rt+jwt',
          algorithms: ['HS256'],
          currentDate: currentDate(),
          requiredClaims: ['iss', 'sub', 'aud', 'iat', 'exp', 'jti'],
        },
      )
      expect(protectedHeader).toEqual({ alg: 'HS256', kid: refreshSecret.kid, typ: 'rt+jwt' })
      expect(Object.keys(payload).sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'jti', 'sid', 'sub'])
      expect(payload).toMatchObject({
        iss: config.issuer,
        sub: tokens.user.id,
        aud: config.issuer,
        sid: tokens.sessionId,
      })
      expect(payload).not.toHaveProperty('scope')
      expect(payload).not.toHaveProperty('roles')
      expect(typeof payload.jti).toBe('string')
      expect(payload.jti).not.toBe(decodeJWT(tokens.accessToken).payload.jti)
      expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(refreshTtl)
      expect(tokens.refreshExpiresIn).toBe(refreshTtl)
    })

    it('publishes nothing that verifies a refresh token', async () => {
      expect(publishedKeys.keys.map((key) => key.kid)).not.toContain(refreshSecret.kid)
      await expect(
        jwtVerify(tokens.refreshToken, jwks, {
          issuer: server.config.issuer,
          audience: server.config.issuer,
          typ: 'rt+jwt',
          currentDate: currentDate(),
        }),
      ).rejects.toThrow()
    })

    it('jose itself keeps the two token types apart', async () => {
      const { config } = server
      await expect(
        jwtVerify(tokens.refreshToken, refreshSecret.secret, {
          issuer: config.issuer,
          audience: config.audience,
          typ: 'at+jwt',
          algorithms: ['HS256'],
          currentDate: currentDate(),
        }),
      ).rejects.toThrow()
      await expect(
        jwtVerify(tokens.accessToken, jwks, {
          issuer: config.issuer,
          audience: config.issuer,
          typ: 'rt+jwt',
          algorithms: [alg],
          currentDate: currentDate(),
        }),
      ).rejects.toThrow()
    })
  })

  describe('(b) we accept what jose signs with our key', () => {
    const joseAccessToken = async (claims: JWTPayload): Promise<string> =>
      new SignJWT(claims)
        .setProtectedHeader({ alg, kid: current.kid, typ: 'at+jwt' })
        .sign(current.privateKey)

    const accessClaims = (): JWTPayload => {
      const now = nowSeconds()
      return {
        iss: server.config.issuer,
        sub: tokens.user.id,
        aud: server.config.audience,
        iat: now,
        exp: now + accessTtl,
        jti: randomUUID(),
        sid: tokens.sessionId,
        scope: 'openid profile',
        roles: ['user'],
      }
    }

    it('accepts a jose-signed access token on /auth/me and in the verifier', async () => {
      const claims = accessClaims()
      const token = await joseAccessToken(claims)
      expect(decodeProtectedHeader(token)).toEqual({ alg, kid: current.kid, typ: 'at+jwt' })
      // Not one of ours by construction: jose wrote every byte.
      expect(token).not.toBe(tokens.accessToken)

      const response = await me(server, token)
      expect(response.statusCode, response.body).toBe(200)
      expect(response.json<{ id: string }>().id).toBe(tokens.user.id)

      await expect(server.baton.accessTokens.verify(token)).resolves.toEqual(claims)
    })

    it('refuses the same jose-signed token once a claim is wrong (the check is real)', async () => {
      const token = await joseAccessToken({ ...accessClaims(), aud: 'another-api' })
      expect((await me(server, token)).statusCode).toBe(401)
      await expect(server.baton.accessTokens.verify(token)).rejects.toMatchObject({
        code: 'invalid_token',
      })
    })

    const refreshClaims = (): JWTPayload => {
      const now = nowSeconds()
      return {
        iss: server.config.issuer,
        sub: tokens.user.id,
        aud: server.config.issuer,
        iat: now,
        exp: now + refreshTtl,
        jti: randomUUID(),
        sid: tokens.sessionId,
      }
    }

    it('accepts a jose-signed HS256 refresh token in the verifier', async () => {
      const claims = refreshClaims()
      const token = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', kid: refreshSecret.kid, typ: 'rt+jwt' })
        .sign(refreshSecret.secret)
      await expect(server.baton.refreshTokens.inspect(token)).resolves.toEqual({
        claims,
        expired: false,
      })
    })

    it(`still accepts a refresh token signed with the ${alg} key, as releases before the secret ring signed them`, async () => {
      const claims = refreshClaims()
      const token = await new SignJWT(claims)
        .setProtectedHeader({ alg, kid: current.kid, typ: 'rt+jwt' })
        .sign(current.privateKey)
      await expect(server.baton.refreshTokens.inspect(token)).resolves.toEqual({
        claims,
        expired: false,
      })
    })
  })

  describe('(c) determinism of re-signing', () => {
    it('re-signing identical refresh claims gives byte-identical tokens', async () => {
      const now = nowSeconds()
      const claims = {
        sub: tokens.user.id,
        sid: tokens.sessionId,
        jti: randomUUID(),
        iat: now,
        exp: now + refreshTtl,
      }
      const first = server.baton.refreshTokens.sign({ ...claims })
      expect(server.baton.refreshTokens.sign({ ...claims })).toBe(first)
      const { payload } = await jwtVerify(first, refreshSecret.secret, {
        issuer: server.config.issuer,
        audience: server.config.issuer,
        typ: 'rt+jwt',
        algorithms: ['HS256'],
        currentDate: currentDate(),
      })
      expect(payload).toMatchObject(claims)
      const inspected = await server.baton.refreshTokens.inspect(first)
      expect(inspected.expired).toBe(false)
      expect(inspected.claims).toMatchObject(claims)
    })
  })
})
