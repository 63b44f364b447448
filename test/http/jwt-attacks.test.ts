import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto'
import type { LightMyRequestResponse } from 'fastify'
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  jwtVerify,
  SignJWT,
  type JSONWebKeySet,
  type JWK,
} from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createTestServer,
  decodeJWT,
  me,
  refresh,
  signup,
  type TestServer,
  type TokenBody,
} from '../helpers/server.js'

/**
 * Attacks on token verification (docs/api.md "Tokens"), driven through the real HTTP routes. Every
 * family has a positive control: the same construction signed with the server's real key IS
 * accepted, so a refusal proves the attack was caught, not that the token was broken.
 */

type Claims = Record<string, unknown>
type Header = Record<string, unknown>

const b64 = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')

/** ES256 over `header.payload` with a key of our choosing (JOSE's raw r||s encoding). */
function es256(signingInput: string, key: KeyObject): string {
  return sign('sha256', Buffer.from(signingInput), { key, dsaEncoding: 'ieee-p1363' }).toString(
    'base64url',
  )
}

/** A compact JWS built by hand: no library gets a say in what the header holds. */
function forge(header: Header, payload: Claims, key: KeyObject): string {
  const signingInput = `${b64(header)}.${b64(payload)}`
  return `${signingInput}.${es256(signingInput, key)}`
}

/** A copy without one member. */
function without<T extends Record<string, unknown>>(value: T, name: string): T {
  const copy = { ...value }
  delete copy[name]
  return copy
}

function segments(token: string): [string, string, string] {
  const parts = token.split('.')
  expect(parts).toHaveLength(3)
  return [parts[0] ?? '', parts[1] ?? '', parts[2] ?? '']
}

interface ServerKey {
  kid: string
  alg: string
  privateKey: KeyObject
}

/** The key the server signs access tokens with now, straight from its store. */
async function currentKey(server: TestServer): Promise<ServerKey> {
  const keys = await server.database.listKeys()
  const current = keys.find((key) => key.state === 'current' && key.alg !== 'HS256')
  if (current === undefined) throw new Error('the test server has no current key')
  return {
    kid: current.kid,
    alg: current.alg,
    privateKey: createPrivateKey({
      key: JSON.parse(current.privateJwk) as JsonWebKey,
      format: 'jwk',
    }),
  }
}

/** The secret the server signs refresh tokens with now (HS256), straight from its store. */
async function currentRefreshSecret(server: TestServer): Promise<{ kid: string; secret: Buffer }> {
  const keys = await server.database.listKeys()
  const current = keys.find((key) => key.state === 'current' && key.alg === 'HS256')
  if (current === undefined) throw new Error('the test server has no refresh secret')
  const { k } = JSON.parse(current.privateJwk) as { k: string }
  return { kid: current.kid, secret: Buffer.from(k, 'base64url') }
}

async function publishedKeys(server: TestServer): Promise<JSONWebKeySet> {
  const response = await server.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
  expect(response.statusCode).toBe(200)
  return response.json<JSONWebKeySet>()
}

const nowSeconds = (server: TestServer): number => Math.floor(server.clock.now() / 1000)

async function getMe(
  server: TestServer,
  authorization: string | undefined,
): Promise<LightMyRequestResponse> {
  return server.app.inject({
    method: 'GET',
    url: '/auth/me',
    headers: authorization === undefined ? {} : { authorization },
  })
}

/** 401 with the RFC 6750 challenge and the given error code; never a 500. */
function expectBearerRefused(response: LightMyRequestResponse, code = 'invalid_token'): void {
  expect(response.statusCode, response.body).toBe(401)
  const challenge = response.headers['www-authenticate']
  expect(typeof challenge).toBe('string')
  expect(String(challenge).startsWith('Bearer error="invalid_token"')).toBe(true)
  expect(response.json<{ error: string }>().error).toBe(code)
}

async function expectMeRefused(
  server: TestServer,
  token: string,
  code = 'invalid_token',
): Promise<void> {
  expectBearerRefused(await me(server, token), code)
}

async function expectMeAccepted(server: TestServer, token: string, userId?: string): Promise<void> {
  const response = await me(server, token)
  expect(response.statusCode, response.body).toBe(200)
  if (userId !== undefined) expect(response.json<{ id: string }>().id).toBe(userId)
}

async function expectRefreshRefused(
  server: TestServer,
  token: string,
  code = 'invalid_token',
): Promise<void> {
  const response = await refresh(server, token)
  expect(response.statusCode, response.body).toBe(401)
  expect(response.json<{ error: string }>().error).toBe(code)
}

async function expectRefreshAccepted(server: TestServer, token: string): Promise<void> {
  const response = await refresh(server, token)
  expect(response.statusCode, response.body).toBe(200)
  expect(typeof response.json<TokenBody>().accessToken).toBe('string')
}

describe('JWT attacks on /auth/me and /auth/refresh', () => {
  let server: TestServer
  let key: ServerKey
  let alice: TokenBody & { refreshToken: string }
  let bob: TokenBody & { refreshToken: string }
  /** A real access token's header and claims, to forge from. */
  let accessHeader: Header
  let accessClaims: Claims
  let refreshClaims: Claims

  beforeAll(async () => {
    server = await createTestServer()
    key = await currentKey(server)
    expect(key.alg).toBe('ES256')
    alice = await signup(server)
    bob = await signup(server)
    accessHeader = decodeJWT(alice.accessToken).header
    accessClaims = decodeJWT(alice.accessToken).payload
    refreshClaims = decodeJWT(alice.refreshToken).payload
    expect(accessHeader).toEqual({ alg: 'ES256', kid: key.kid, typ: 'at+jwt' })
  })
  afterAll(async () => server.close())

  /** A refresh token of a brand-new session, so a control that rotates it spoils nothing. */
  async function freshRefreshClaims(): Promise<Claims> {
    return decodeJWT((await signup(server)).refreshToken).payload
  }

  /** Access claims valid now, with overrides (`undefined` removes a claim). */
  function accessNow(overrides: Claims = {}): Claims {
    const now = nowSeconds(server)
    const claims: Claims = { ...accessClaims, iat: now, exp: now + 900, ...overrides }
    for (const [name, value] of Object.entries(overrides))
      if (value === undefined) delete claims[name]
    return claims
  }

  const realAccessHeader = (): Header => ({ alg: 'ES256', kid: key.kid, typ: 'at+jwt' })
  const realRefreshHeader = (): Header => ({ alg: 'ES256', kid: key.kid, typ: 'rt+jwt' })

  describe('positive controls', () => {
    it('accepts the tokens the server issued', async () => {
      await expectMeAccepted(server, alice.accessToken, alice.user.id)
      await expectRefreshAccepted(server, (await signup(server)).refreshToken)
    })

    it('accepts tokens forged by hand and by jose with the real key', async () => {
      await expectMeAccepted(
        server,
        forge(realAccessHeader(), accessNow(), key.privateKey),
        alice.user.id,
      )
      const withJose = await new SignJWT(accessNow())
        .setProtectedHeader(realAccessHeader() as { alg: string })
        .sign(key.privateKey)
      await expectMeAccepted(server, withJose, alice.user.id)
      await expectRefreshAccepted(
        server,
        forge(realRefreshHeader(), await freshRefreshClaims(), key.privateKey),
      )
    })
  })

  describe('alg: none', () => {
    it('refuses an unsigned token, with an empty signature or the original one kept', async () => {
      const header = { alg: 'none', typ: 'at+jwt', kid: key.kid }
      const [, , signature] = segments(alice.accessToken)
      const unsigned = `${b64(header)}.${b64(accessNow())}.`
      await expectMeRefused(server, unsigned)
      await expectMeRefused(server, `${unsigned}${signature}`)
      // Only the header differs from a real token: keeping the real payload too.
      const [, payload] = segments(alice.accessToken)
      await expectMeRefused(server, `${b64(header)}.${payload}.`)
      await expectMeRefused(server, `${b64(header)}.${payload}.${signature}`)
      for (const alg of ['None', 'NONE', 'nOnE']) {
        await expectMeRefused(server, `${b64({ ...header, alg })}.${payload}.${signature}`)
      }

      const refreshHeader = { alg: 'none', typ: 'rt+jwt', kid: key.kid }
      const [, refreshPayload, refreshSignature] = segments(alice.refreshToken)
      await expectRefreshRefused(server, `${b64(refreshHeader)}.${refreshPayload}.`)
      await expectRefreshRefused(
        server,
        `${b64(refreshHeader)}.${refreshPayload}.${refreshSignature}`,
      )
    })

    it('control: the same claims signed with the real key are accepted', async () => {
      await expectMeAccepted(server, forge(realAccessHeader(), accessNow(), key.privateKey))
    })
  })

  describe('HS256 keyed with the public key', () => {
    async function publicKeySecrets(): Promise<Buffer[]> {
      const { keys } = await publishedKeys(server)
      const jwk = keys.find((candidate) => candidate.kid === key.kid)
      if (jwk === undefined) throw new Error('our kid is not in the JWKS')
      expect(jwk.d).toBeUndefined()
      const publicKey = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' })
      const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString()
      const der = publicKey.export({ type: 'spki', format: 'der' })
      const { x, y } = jwk
      return [
        Buffer.from(pem),
        Buffer.from(pem.trimEnd()),
        der,
        Buffer.from(JSON.stringify(jwk)),
        Buffer.from(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x, y })),
        Buffer.from(await calculateJwkThumbprint(jwk)),
      ]
    }

    const hmac = (header: Header, payload: Claims, secret: Buffer): string => {
      const signingInput = `${b64(header)}.${b64(payload)}`
      return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`
    }

    it('refuses it on /auth/me and /auth/refresh, whatever form the secret takes', async () => {
      const secrets = await publicKeySecrets()
      for (const secret of secrets) {
        await expectMeRefused(
          server,
          hmac({ ...realAccessHeader(), alg: 'HS256' }, accessNow(), secret),
        )
        await expectRefreshRefused(
          server,
          hmac({ ...realRefreshHeader(), alg: 'HS256' }, refreshClaims, secret),
        )
      }
      // The same attack through jose, with the PEM bytes as the HMAC secret.
      const withJose = await new SignJWT(accessNow())
        .setProtectedHeader({ ...realAccessHeader(), alg: 'HS256' })
        .sign(new Uint8Array(secrets[0] ?? Buffer.alloc(0)))
      await expectMeRefused(server, withJose)
    })

    it('control: the claims are accepted when ES256-signed with the real key', async () => {
      await expectMeAccepted(server, forge(realAccessHeader(), accessNow(), key.privateKey))
    })
  })

  describe('the HS256 refresh secret', () => {
    const hmac = (header: Header, payload: Claims, secret: Buffer): string => {
      const signingInput = `${b64(header)}.${b64(payload)}`
      return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`
    }

    it('signs the refresh tokens the server hands out, and is not published', async () => {
      const refresh = await currentRefreshSecret(server)
      expect(decodeJWT(alice.refreshToken).header).toEqual({
        alg: 'HS256',
        kid: refresh.kid,
        typ: 'rt+jwt',
      })
      const { keys } = await publishedKeys(server)
      expect(keys.map((published) => published.kid)).not.toContain(refresh.kid)
      expect(JSON.stringify(keys)).not.toContain(refresh.secret.toString('base64url'))
    })

    it('never makes an access token, even signed with the real secret', async () => {
      const refresh = await currentRefreshSecret(server)
      const header = { alg: 'HS256', kid: refresh.kid, typ: 'at+jwt' }
      await expectMeRefused(server, hmac(header, accessNow(), refresh.secret))
      // Nor does its kid with the signing key's algorithm and signature.
      await expectMeRefused(server, forge({ ...header, alg: 'ES256' }, accessNow(), key.privateKey))
    })

    it('refuses a refresh token whose header names the secret with another algorithm', async () => {
      const refresh = await currentRefreshSecret(server)
      const claims = await freshRefreshClaims()
      const header = { alg: 'ES256', kid: refresh.kid, typ: 'rt+jwt' }
      await expectRefreshRefused(server, forge(header, claims, key.privateKey))
      await expectRefreshRefused(server, hmac({ ...header, alg: 'HS512' }, claims, refresh.secret))
      await expectRefreshRefused(server, hmac({ ...header, alg: 'none' }, claims, refresh.secret))
    })

    it('refuses signatures of the wrong length, or with a bit flipped, never with a 500', async () => {
      const [header, payload, signature] = segments((await signup(server)).refreshToken)
      const raw = Buffer.from(signature, 'base64url')
      expect(raw).toHaveLength(32)
      const flipped = Buffer.from(raw)
      flipped[31] = (flipped[31] ?? 0) ^ 1
      for (const candidate of [
        raw.subarray(0, 31),
        raw.subarray(0, 16),
        Buffer.concat([raw, Buffer.from([0])]),
        Buffer.concat([raw, raw]),
        Buffer.alloc(32),
        flipped,
        Buffer.alloc(1),
      ]) {
        await expectRefreshRefused(
          server,
          `${header}.${payload}.${candidate.toString('base64url')}`,
        )
      }
    })

    it('refuses a refresh token signed with a secret of the attacker', async () => {
      const refresh = await currentRefreshSecret(server)
      const header = { alg: 'HS256', kid: refresh.kid, typ: 'rt+jwt' }
      const claims = await freshRefreshClaims()
      await expectRefreshRefused(server, hmac(header, claims, Buffer.alloc(32, 7)))
      await expectRefreshRefused(server, hmac(header, claims, Buffer.alloc(0)))
    })

    it('control: the same claims signed with the real secret are accepted', async () => {
      const refresh = await currentRefreshSecret(server)
      const header = { alg: 'HS256', kid: refresh.kid, typ: 'rt+jwt' }
      await expectRefreshAccepted(server, hmac(header, await freshRefreshClaims(), refresh.secret))
    })
  })

  describe('tampered payload, signature kept', () => {
    it('refuses a token whose sub or roles were changed', async () => {
      const [header, , signature] = segments(alice.accessToken)
      const asBob = { ...decodeJWT(alice.accessToken).payload, sub: bob.user.id }
      const asAdmin = { ...decodeJWT(alice.accessToken).payload, roles: ['user', 'admin'] }
      const longerLife = {
        ...decodeJWT(alice.accessToken).payload,
        exp: nowSeconds(server) + 86_400,
      }
      for (const payload of [asBob, asAdmin, longerLife]) {
        await expectMeRefused(server, `${header}.${b64(payload)}.${signature}`)
      }

      const [refreshHeader, , refreshSignature] = segments(alice.refreshToken)
      const otherSession = { ...refreshClaims, sid: bob.sessionId, sub: bob.user.id }
      await expectRefreshRefused(
        server,
        `${refreshHeader}.${b64(otherSession)}.${refreshSignature}`,
      )
    })

    it('control: the same tampered claims, signed with the real key, are accepted', async () => {
      // Proves the signature is what refuses them (here the forged token really acts as Bob).
      await expectMeAccepted(
        server,
        forge(realAccessHeader(), accessNow({ sub: bob.user.id }), key.privateKey),
        bob.user.id,
      )
    })
  })

  describe('kid', () => {
    const badKids: unknown[] = [
      'no-such-kid',
      '../../../../etc/passwd',
      '../../../../dev/null',
      "' OR '1'='1",
      '__proto__',
      'constructor',
      '',
      42,
      0,
      null,
      true,
      { kid: 'x' },
      [],
    ]

    it('refuses an unknown, path-traversing or non-string kid, even with a valid signature', async () => {
      // Signed with the real key: only the kid is wrong, so only the kid lookup can refuse it.
      for (const kid of badKids) {
        await expectMeRefused(
          server,
          forge({ ...realAccessHeader(), kid }, accessNow(), key.privateKey),
        )
        await expectRefreshRefused(
          server,
          forge({ ...realRefreshHeader(), kid }, refreshClaims, key.privateKey),
        )
      }
      const noKid = without(realAccessHeader(), 'kid')
      await expectMeRefused(server, forge(noKid, accessNow(), key.privateKey))
    })

    it('control: the real kid is accepted', async () => {
      await expectMeAccepted(server, forge(realAccessHeader(), accessNow(), key.privateKey))
    })
  })

  describe('jku / jwk / x5u headers and foreign keys', () => {
    let attacker: { privateKey: KeyObject; publicJwk: JWK; thumbprint: string }

    beforeAll(async () => {
      const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      const publicJwk = pair.publicKey.export({ format: 'jwk' }) as JWK
      attacker = {
        privateKey: pair.privateKey,
        publicJwk,
        thumbprint: await calculateJwkThumbprint(publicJwk),
      }
    })

    const attackerHeaders = (typ: string): Header[] => {
      const embedded = { ...attacker.publicJwk, kid: attacker.thumbprint, alg: 'ES256', use: 'sig' }
      const elsewhere = 'https://attacker.example/.well-known/jwks.json'
      return [
        { alg: 'ES256', typ, kid: attacker.thumbprint, jwk: embedded },
        { alg: 'ES256', typ, kid: key.kid, jwk: embedded },
        { alg: 'ES256', typ, kid: attacker.thumbprint, jku: elsewhere },
        { alg: 'ES256', typ, kid: key.kid, jku: elsewhere },
        { alg: 'ES256', typ, kid: attacker.thumbprint, jku: elsewhere, jwk: embedded },
        {
          alg: 'ES256',
          typ,
          kid: key.kid,
          x5u: 'https://attacker.example/cert.pem',
          jwk: embedded,
        },
        { alg: 'ES256', typ, jwk: embedded },
      ]
    }

    it('refuses tokens signed by an attacker key it is told to fetch or trust', async () => {
      for (const header of attackerHeaders('at+jwt')) {
        await expectMeRefused(server, forge(header, accessNow(), attacker.privateKey))
      }
      for (const header of attackerHeaders('rt+jwt')) {
        await expectRefreshRefused(server, forge(header, refreshClaims, attacker.privateKey))
      }
    })

    it('refuses a token signed by another P-256 key carrying our kid', async () => {
      await expectMeRefused(server, forge(realAccessHeader(), accessNow(), attacker.privateKey))
      await expectRefreshRefused(
        server,
        forge(realRefreshHeader(), refreshClaims, attacker.privateKey),
      )
      const withJose = await new SignJWT(accessNow())
        .setProtectedHeader(realAccessHeader() as { alg: string })
        .sign(attacker.privateKey)
      await expectMeRefused(server, withJose)
    })

    it('control: the headers are ignored, so the real key with the real kid is accepted', async () => {
      const withHeaders = {
        ...realAccessHeader(),
        jku: 'https://attacker.example/jwks',
        jwk: attacker.publicJwk,
      }
      await expectMeAccepted(server, forge(withHeaders, accessNow(), key.privateKey), alice.user.id)
      await expectRefreshAccepted(
        server,
        forge(
          { ...realRefreshHeader(), jku: 'https://attacker.example/jwks' },
          await freshRefreshClaims(),
          key.privateKey,
        ),
      )
    })
  })

  describe('token confusion', () => {
    it('refuses a refresh token as a bearer token', async () => {
      const fresh = await signup(server)
      await expectMeRefused(server, fresh.refreshToken)
      // Even re-labelled at+jwt and signed with the real key: the audience is the issuer's.
      const relabelled = forge(
        realAccessHeader(),
        decodeJWT(fresh.refreshToken).payload,
        key.privateKey,
      )
      await expectMeRefused(server, relabelled)
    })

    it('refuses an access token as a refresh token', async () => {
      const fresh = await signup(server)
      await expectRefreshRefused(server, fresh.accessToken)
      // Re-labelled rt+jwt with the real key: the audience is still the APIs', not the issuer.
      const relabelled = forge(
        realRefreshHeader(),
        decodeJWT(fresh.accessToken).payload,
        key.privateKey,
      )
      await expectRefreshRefused(server, relabelled)
    })

    it('control: each token is accepted where it belongs', async () => {
      const fresh = await signup(server)
      await expectMeAccepted(server, fresh.accessToken, fresh.user.id)
      await expectRefreshAccepted(server, fresh.refreshToken)
    })
  })

  describe('iss and aud', () => {
    it('refuses a wrong iss or aud signed with a trusted key', async () => {
      const { issuer, audience } = server.config
      const wrong: Claims[] = [
        accessNow({ iss: 'https://evil.example' }),
        accessNow({ iss: `${issuer}/` }),
        accessNow({ iss: undefined }),
        accessNow({ aud: 'someone-else' }),
        accessNow({ aud: issuer }),
        accessNow({ aud: ['someone-else'] }),
        accessNow({ aud: undefined }),
        accessNow({ aud: { audience } }),
      ]
      for (const claims of wrong)
        await expectMeRefused(server, forge(realAccessHeader(), claims, key.privateKey))

      const refreshWrong: Claims[] = [
        { ...refreshClaims, iss: 'https://evil.example' },
        { ...refreshClaims, aud: audience },
        { ...refreshClaims, aud: 'someone-else' },
      ]
      for (const claims of refreshWrong) {
        await expectRefreshRefused(server, forge(realRefreshHeader(), claims, key.privateKey))
      }
    })

    it('control: the right iss and aud (string or array) are accepted', async () => {
      const { audience } = server.config
      await expectMeAccepted(server, forge(realAccessHeader(), accessNow(), key.privateKey))
      await expectMeAccepted(
        server,
        forge(realAccessHeader(), accessNow({ aud: ['other-api', audience] }), key.privateKey),
      )
    })
  })

  describe('exp, iat and nbf', () => {
    it('refuses a token whose exp has passed with access_token_expired', async () => {
      const now = nowSeconds(server)
      await expectMeRefused(
        server,
        forge(realAccessHeader(), accessNow({ iat: now - 1000, exp: now - 100 }), key.privateKey),
        'access_token_expired',
      )
      await expectMeRefused(
        server,
        forge(realAccessHeader(), accessNow({ iat: now - 1000, exp: now }), key.privateKey),
        'access_token_expired',
      )
    })

    it('refuses a token without a usable exp', async () => {
      for (const exp of [undefined, null, '9999999999', [nowSeconds(server) + 900]]) {
        await expectMeRefused(server, forge(realAccessHeader(), accessNow({ exp }), key.privateKey))
      }
      const noExp = without(refreshClaims, 'exp')
      await expectRefreshRefused(server, forge(realRefreshHeader(), noExp, key.privateKey))
    })

    it('refuses iat or nbf more than 30 s in the future', async () => {
      const now = nowSeconds(server)
      for (const overrides of [
        { iat: now + 31 },
        { iat: now + 3600 },
        { nbf: now + 31 },
        { nbf: now + 3600 },
        { nbf: 'now' },
      ]) {
        await expectMeRefused(
          server,
          forge(realAccessHeader(), accessNow(overrides), key.privateKey),
        )
      }
      await expectRefreshRefused(
        server,
        forge(realRefreshHeader(), { ...refreshClaims, iat: now + 3600 }, key.privateKey),
      )
    })

    it('control: a valid exp, and iat/nbf at most 30 s ahead, are accepted', async () => {
      const now = nowSeconds(server)
      for (const overrides of [
        {},
        { iat: now + 20 },
        { iat: now + 30 },
        { nbf: now + 20 },
        { nbf: now - 5 },
      ]) {
        await expectMeAccepted(
          server,
          forge(realAccessHeader(), accessNow(overrides), key.privateKey),
        )
      }
      await expectMeAccepted(
        server,
        forge(realAccessHeader(), accessNow({ iat: now - 1000, exp: now + 1 }), key.privateKey),
      )
    })
  })

  describe('typ and crit', () => {
    it('refuses a missing or generic typ', async () => {
      const noTyp = without(realAccessHeader(), 'typ')
      const headers: Header[] = [
        noTyp,
        { ...noTyp, typ: 'JWT' },
        { ...noTyp, typ: 'jwt' },
        { ...noTyp, typ: 'application/jwt' },
        { ...noTyp, typ: 'rt+jwt' },
        { ...noTyp, typ: '' },
        { ...noTyp, typ: 7 },
      ]
      for (const header of headers)
        await expectMeRefused(server, forge(header, accessNow(), key.privateKey))
      for (const typ of [undefined, 'JWT', 'at+jwt']) {
        const header: Header = { alg: 'ES256', kid: key.kid }
        if (typ !== undefined) header.typ = typ
        await expectRefreshRefused(server, forge(header, refreshClaims, key.privateKey))
      }
    })

    it('refuses a crit header', async () => {
      for (const crit of [['exp'], ['b64'], ['http://example.com/x'], [], 'exp']) {
        await expectMeRefused(
          server,
          forge({ ...realAccessHeader(), crit, exp: 1 }, accessNow(), key.privateKey),
        )
      }
      await expectRefreshRefused(
        server,
        forge({ ...realRefreshHeader(), crit: ['exp'], exp: 1 }, refreshClaims, key.privateKey),
      )
    })

    it('control: at+jwt and application/at+jwt are accepted', async () => {
      await expectMeAccepted(server, forge(realAccessHeader(), accessNow(), key.privateKey))
      await expectMeAccepted(
        server,
        forge({ ...realAccessHeader(), typ: 'application/at+jwt' }, accessNow(), key.privateKey),
      )
    })
  })

  describe('garbage and malformed Authorization headers', () => {
    const tenKilobytes = 10 * 1024
    const garbage = (): string[] => {
      const [header, payload, signature] = segments(alice.accessToken)
      return [
        'abc',
        'a.b.c',
        '...',
        '..',
        '.',
        'eyJ.eyJ.',
        'eyJ.eyJ.eyJ',
        `${header}.${payload}`,
        `${header}.${payload}.`,
        `${header}..${signature}`,
        `.${payload}.${signature}`,
        `${header}.${payload}.${signature}.${signature}`,
        `${b64('[]')}.${payload}.${signature}`,
        `${b64('"x"')}.${payload}.${signature}`,
        `${b64('null')}.${payload}.${signature}`,
        `${header}.${b64('[1]')}.${signature}`,
        `${header}.${b64('not json')}.${signature}`,
        'x'.repeat(tenKilobytes),
        // 10 KB of valid base64url, in JWS shape, with a real header.
        `${header}.${'A'.repeat(tenKilobytes)}.${signature}`,
        `${header}.${b64({ ...accessClaims, pad: 'x'.repeat(tenKilobytes) })}.${signature}`,
      ]
    }

    it('refuses garbage tokens on /auth/me', async () => {
      for (const token of garbage()) await expectMeRefused(server, token)
    })

    it('refuses garbage tokens on /auth/refresh', async () => {
      for (const token of garbage()) {
        const response = await refresh(server, token)
        // Longer than any token Baton issues included: a token that cannot be valid is a bad
        // token, not a malformed request.
        expect(response.statusCode, `${token.slice(0, 40)}: ${response.body}`).toBe(401)
        expect(response.json<{ error: string }>().error).toBe('invalid_token')
      }
      await expectRefreshRefused(server, '')
    })

    it('refuses empty tokens and non-bearer schemes with an invalid_token challenge', async () => {
      const headers = [
        'Bearer ',
        'Bearer',
        'Bearer  ',
        'Basic xxx',
        `Basic ${Buffer.from('alice:password').toString('base64')}`,
        `Token ${alice.accessToken}`,
        `Bearer${alice.accessToken}`,
        `Bearer ${alice.accessToken} extra`,
        `Bearer "${alice.accessToken}"`,
        `Bearer ${'A'.repeat(tenKilobytes)}`,
      ]
      for (const authorization of headers) expectBearerRefused(await getMe(server, authorization))
    })

    it('answers a missing Authorization header with a bare Bearer challenge', async () => {
      const response = await getMe(server, undefined)
      expect(response.statusCode).toBe(401)
      expect(response.headers['www-authenticate']).toBe('Bearer')
      expect(response.json<{ error: string }>().error).toBe('invalid_token')
    })

    it('control: the real token, also with a lower-case scheme, is accepted', async () => {
      expect((await getMe(server, `Bearer ${alice.accessToken}`)).statusCode).toBe(200)
      expect((await getMe(server, `bearer ${alice.accessToken}`)).statusCode).toBe(200)
    })
  })

  describe('ES256 signature encoding', () => {
    it('refuses signatures of the wrong length and DER-encoded signatures, never with a 500', async () => {
      const [header, payload, signature] = segments(alice.accessToken)
      const raw = Buffer.from(signature, 'base64url')
      expect(raw).toHaveLength(64)
      const signingInput = `${header}.${payload}`
      const der = sign('sha256', Buffer.from(signingInput), {
        key: key.privateKey,
        dsaEncoding: 'der',
      })
      const signatures = [
        der,
        raw.subarray(0, 63),
        raw.subarray(0, 32),
        Buffer.concat([raw, Buffer.from([0])]),
        Buffer.concat([Buffer.from([0]), raw]),
        Buffer.concat([raw, raw]),
        Buffer.alloc(64),
        Buffer.alloc(64, 0xff),
        Buffer.alloc(1),
        Buffer.alloc(512, 7),
      ]
      for (const candidate of signatures) {
        await expectMeRefused(server, `${signingInput}.${candidate.toString('base64url')}`)
      }

      // A refresh token as releases before the HS256 secret ring signed them, with the ES256 key.
      const legacyRefresh = forge(realRefreshHeader(), await freshRefreshClaims(), key.privateKey)
      const [refreshHeader, refreshPayload, refreshSignature] = segments(legacyRefresh)
      const refreshInput = `${refreshHeader}.${refreshPayload}`
      const refreshDer = sign('sha256', Buffer.from(refreshInput), {
        key: key.privateKey,
        dsaEncoding: 'der',
      })
      const refreshRaw = Buffer.from(refreshSignature, 'base64url')
      for (const candidate of [refreshDer, refreshRaw.subarray(0, 63), Buffer.alloc(64)]) {
        await expectRefreshRefused(server, `${refreshInput}.${candidate.toString('base64url')}`)
      }
    })

    it('refuses a second spelling of a signature (non-zero bits past its last byte)', async () => {
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
      const respell = (token: string): string => {
        // Set the lowest of the last character's unused bits: the signature's bytes stay the same.
        const respelled = `${token.slice(0, -1)}${alphabet[alphabet.indexOf(token.slice(-1)) | 1]}`
        expect(Buffer.from(segments(respelled)[2], 'base64url')).toEqual(
          Buffer.from(segments(token)[2], 'base64url'),
        )
        return respelled
      }
      const fresh = await signup(server)
      expect((await me(server, respell(fresh.accessToken))).statusCode).toBe(401)
      expect((await me(server, fresh.accessToken)).statusCode).toBe(200)
      const other = await signup(server)
      const response = await refresh(server, respell(other.refreshToken))
      expect(response.statusCode).toBe(401)
      expect(response.json()).toMatchObject({ error: 'invalid_token' })
    })

    it('refuses a signature segment that is not base64url (RFC 7515 §2, as jose does)', async () => {
      // Node's base64url decoder skips foreign characters, so without a strict check of the
      // signature segment a real token with junk spliced into its signature would still verify.
      const splice = (token: string, junk: string): string => {
        const [header, payload, signature] = segments(token)
        const middle = signature.length >> 1
        return `${header}.${payload}.${signature.slice(0, middle)}${junk}${signature.slice(middle)}`
      }
      const fresh = await signup(server)
      const junks = ['~', '~~~~', '+', '/', '=']
      for (const junk of junks) {
        const mangled = splice(fresh.accessToken, junk)
        // Not a JWS for a standard verifier either: jose refuses every one of them.
        await expect(
          jwtVerify(mangled, createLocalJWKSet(await publishedKeys(server)), {
            issuer: server.config.issuer,
            audience: server.config.audience,
            typ: 'at+jwt',
            currentDate: new Date(server.clock.now()),
          }),
          junk,
        ).rejects.toThrow()
      }
      const accepted: string[] = []
      for (const junk of junks) {
        const response = await me(server, splice(fresh.accessToken, junk))
        if (response.statusCode !== 401) accepted.push(`/auth/me ${junk} -> ${response.statusCode}`)
      }
      // The body allows any character: '!', '$', a space, a newline.
      // Each on a session of its own, so a grace replay cannot hide or cause an acceptance.
      for (const junk of ['!', '$', ' ', '\n', '~', '=']) {
        const { refreshToken } = await signup(server)
        const response = await refresh(server, splice(refreshToken, junk))
        if (response.statusCode !== 401) {
          accepted.push(`/auth/refresh ${JSON.stringify(junk)} -> ${response.statusCode}`)
        }
      }
      expect(accepted, 'tokens with a non-base64url signature segment were accepted').toEqual([])
    })

    it('control: the same signing input, signed in JOSE r||s form, is accepted', async () => {
      const [header, payload] = segments(alice.accessToken)
      const signingInput = `${header}.${payload}`
      await expectMeAccepted(
        server,
        `${signingInput}.${es256(signingInput, key.privateKey)}`,
        alice.user.id,
      )
    })
  })
})

describe('expiry by the server clock', () => {
  let server: TestServer

  beforeAll(async () => {
    server = await createTestServer()
  })
  afterAll(async () => server.close())

  it('refuses a real access token with access_token_expired once its TTL has passed', async () => {
    const tokens = await signup(server)
    // Verified (and cached) while valid: the cache must not outlive exp.
    await expectMeAccepted(server, tokens.accessToken, tokens.user.id)
    server.clock.advance(server.config.accessTokenTtl - 1)
    await expectMeAccepted(server, tokens.accessToken, tokens.user.id)
    server.clock.advance(1)
    await expectMeRefused(server, tokens.accessToken, 'access_token_expired')
    server.clock.advance(3600)
    await expectMeRefused(server, tokens.accessToken, 'access_token_expired')
    // The refresh token is still good: the client recovers by refreshing.
    const refreshed = await refresh(server, tokens.refreshToken)
    expect(refreshed.statusCode, refreshed.body).toBe(200)
    await expectMeAccepted(server, refreshed.json<TokenBody>().accessToken, tokens.user.id)
  })

  it('refuses an expired refresh token', async () => {
    const tokens = await signup(server)
    server.clock.advance(server.config.refreshTokenTtl + 1)
    await expectRefreshRefused(server, tokens.refreshToken, 'refresh_token_expired')
  })
})
