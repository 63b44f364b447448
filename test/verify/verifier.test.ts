import { SignJWT, type JWK, type JWTPayload } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SigningAlgorithm } from '../../packages/server/src/core/config/config.js'
import {
  createVerifier,
  VerifyError,
  type CryptoBackend,
  type VerifierOptions,
} from '../../packages/verify/src/index.js'
import {
  audience,
  claims,
  issuer,
  makeKey,
  nowSeconds,
  sign,
  type TestKey,
} from '../helpers/foreign-tokens.js'
import { createTestServer, decodeJWT, signup, type TestServer } from '../helpers/server.js'
import { VerifiedTokenCache } from '../../packages/verify/src/verified-token-cache.js'

const algorithms: SigningAlgorithm[] = ['ES256', 'EdDSA', 'RS256']
const backends: CryptoBackend[] = ['node', 'webcrypto']

async function refusal(promise: Promise<unknown>): Promise<VerifyError> {
  const error = await promise.then(
    () => {
      throw new Error('the token was accepted')
    },
    (caught: unknown) => caught,
  )
  expect(error).toBeInstanceOf(VerifyError)
  return error as VerifyError
}

describe.each(backends)('createVerifier on %s crypto', (backend) => {
  describe.each(algorithms)('%s', (alg) => {
    let key: TestKey
    let options: VerifierOptions
    beforeAll(async () => {
      key = await makeKey(alg)
      options = { issuer, audience, jwks: { keys: [key.publicJwk] }, crypto: backend }
    })

    it('accepts a valid token and returns its claims', async () => {
      const payload = claims()
      const verified = await createVerifier(options).verify(await sign(key, payload))
      expect(verified).toMatchObject(payload)
    })

    it('accepts application/at+jwt (RFC 8725 §3.11)', async () => {
      const token = await sign(key, claims(), { typ: 'application/at+jwt' })
      await expect(createVerifier(options).verify(token)).resolves.toMatchObject({ sub: 'user-1' })
    })

    it('refuses a tampered payload', async () => {
      const token = await sign(key)
      const [header, , signature] = token.split('.')
      const forged = Buffer.from(JSON.stringify(claims({ roles: ['admin'] }))).toString('base64url')
      const error = await refusal(
        createVerifier(options).verify(`${header}.${forged}.${signature}`),
      )
      expect(error.code).toBe('invalid_token')
      expect(error.status).toBe(401)
      expect(error.detail).toBe('bad signature')
    })
  })
})

describe('createVerifier refuses', () => {
  let key: TestKey
  let other: TestKey
  let verifier: ReturnType<typeof createVerifier>
  beforeAll(async () => {
    key = await makeKey('ES256')
    other = await makeKey('ES256')
    verifier = createVerifier({ issuer, audience, jwks: { keys: [key.publicJwk] } })
  })

  const detailOf = async (token: string): Promise<string | undefined> =>
    (await refusal(verifier.verify(token))).detail

  it.each([
    ['another issuer', { iss: 'https://evil.example.com' }, 'wrong iss'],
    ['another audience', { aud: 'billing-api' }, 'wrong aud'],
    ['no exp', { exp: undefined }, 'exp missing'],
    ['iat far in the future', { iat: nowSeconds() + 120 }, 'iat missing or in the future'],
    ['nbf far in the future', { nbf: nowSeconds() + 120 }, 'not yet valid'],
    ['no sid', { sid: undefined }, 'sid missing'],
    ['no scope', { scope: undefined }, 'scope or roles missing'],
  ])('%s', async (_name, overrides, detail) => {
    expect(await detailOf(await sign(key, claims(overrides as JWTPayload)))).toBe(detail)
  })

  it('an expired token with access_token_expired', async () => {
    const iat = nowSeconds() - 1000
    const error = await refusal(verifier.verify(await sign(key, claims({ iat, exp: iat + 900 }))))
    expect(error.code).toBe('access_token_expired')
    expect(error.status).toBe(401)
  })

  it('a refresh token (typ rt+jwt) and a token without typ', async () => {
    expect(await detailOf(await sign(key, claims(), { typ: 'rt+jwt' }))).toBe('typ rt+jwt')
    expect(await detailOf(await sign(key, claims(), { typ: undefined }))).toBe('typ missing')
  })

  it('alg none', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', kid: key.kid, typ: 'at+jwt' }))
    const payload = Buffer.from(JSON.stringify(claims()))
    const token = `${header.toString('base64url')}.${payload.toString('base64url')}.`
    expect((await refusal(verifier.verify(token))).code).toBe('invalid_token')
  })

  it('HS256 keyed with the published public key', async () => {
    const secret = new TextEncoder().encode(JSON.stringify(key.publicJwk))
    const token = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'HS256', kid: key.kid, typ: 'at+jwt' })
      .sign(secret)
    expect(await detailOf(token)).toBe('alg HS256 not allowed')
  })

  it('a key from a jwk or jku header instead of the key set', async () => {
    const embedded = await sign(other, claims(), { jwk: other.publicJwk })
    expect(await detailOf(embedded)).toBe('unknown kid')
    const remote = await sign(other, claims(), { jku: 'https://evil.example.com/jwks' })
    expect(await detailOf(remote)).toBe('unknown kid')
  })

  it('an allowed algorithm that is not the key’s own', async () => {
    const rsa = await makeKey('RS256')
    const token = await sign(rsa, claims(), { kid: key.kid })
    expect(await detailOf(token)).toBe('alg RS256 does not match the key')
  })

  it('a crit header, a malformed token, an oversized one, a non-string', async () => {
    const critical = await new SignJWT(claims())
      .setProtectedHeader({
        alg: 'ES256',
        kid: key.kid,
        typ: 'at+jwt',
        crit: ['x-ext'],
        'x-ext': 1,
      })
      .sign(key.privateKey, { crit: { 'x-ext': true } })
    expect(await detailOf(critical)).toBe('unsupported crit header')
    expect(await detailOf('a.b')).toBe('not a compact JWS')
    expect(await detailOf('x'.repeat(9000))).toBe('not a token of acceptable size')
    expect((await refusal(verifier.verify(42 as unknown as string))).code).toBe('invalid_token')
  })

  it('a signature segment with characters outside base64url', async () => {
    const token = await sign(key)
    expect(await detailOf(`${token.slice(0, -2)}+/`)).toBe('signature is not base64url')
  })

  it('a second spelling of a valid signature (non-zero bits past its last byte)', async () => {
    const token = await sign(key)
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const last = alphabet.indexOf(token.slice(-1))
    // 64 bytes take 86 characters: the last one carries 2 bits of the signature and 4 zeros.
    const respelled = `${token.slice(0, -1)}${alphabet[last | 1]}`
    expect(Buffer.from(respelled.split('.')[2] ?? '', 'base64url')).toEqual(
      Buffer.from(token.split('.')[2] ?? '', 'base64url'),
    )
    expect(await detailOf(respelled)).toBe('signature is not base64url')
    expect(await detailOf(`${token}==`)).toBe('signature is not base64url')
  })

  it('an algorithm left out of the allow-list', async () => {
    const edKey = await makeKey('EdDSA')
    const strict = createVerifier({
      issuer,
      audience,
      jwks: { keys: [key.publicJwk, edKey.publicJwk] },
      algorithms: ['ES256'],
    })
    const error = await refusal(strict.verify(await sign(edKey)))
    expect(error.detail).toBe('alg EdDSA not allowed')
    await expect(strict.verify(await sign(key))).resolves.toBeDefined()
  })

  it('bad options at creation', () => {
    expect(() => createVerifier({ issuer, audience })).toThrow(/jwksUrl or jwks/)
    expect(() =>
      createVerifier({ issuer, audience, jwks: { keys: [] }, clockTolerance: 60 }),
    ).toThrow(/clockTolerance/)
    expect(() =>
      createVerifier({ issuer, audience, jwks: { keys: [] }, algorithms: ['HS256' as 'ES256'] }),
    ).toThrow(/unsupported algorithm/)
  })
})

describe('the verified-token cache', () => {
  it('answers a repeated token without verifying again, and honours exp', async () => {
    const key = await makeKey('ES256')
    let now = Date.now()
    const jwks = { keys: [key.publicJwk] }
    const verifier = createVerifier({ issuer, audience, jwks, now: () => now, clockTolerance: 0 })
    const iat = Math.floor(now / 1000)
    const token = await sign(key, claims({ iat, exp: iat + 60 }))
    const first = await verifier.verify(token)
    // Same object back: the second call was a cache hit, not a second parse.
    expect(await verifier.verify(token)).toBe(first)
    now += 61_000
    expect((await refusal(verifier.verify(token))).code).toBe('access_token_expired')
  })

  it('still applies revocations to cached tokens', async () => {
    const key = await makeKey('ES256')
    const revoked = new Set<string>()
    const verifier = createVerifier({
      issuer,
      audience,
      jwks: { keys: [key.publicJwk] },
      revocations: { isRevoked: (sid) => revoked.has(sid) },
    })
    const token = await sign(key)
    await verifier.verify(token)
    revoked.add('session-1')
    const error = await refusal(verifier.verify(token))
    expect(error.code).toBe('session_revoked')
    expect(error.status).toBe(401)
  })

  it('with a one-entry cache, a different token never hits another’s entry', async () => {
    const key = await makeKey('ES256')
    const verifier = createVerifier({
      issuer,
      audience,
      jwks: { keys: [key.publicJwk] },
      cacheSize: 1,
    })
    const a = await sign(key, claims({ sub: 'a' }))
    const b = await sign(key, claims({ sub: 'b' }))
    expect((await verifier.verify(a)).sub).toBe('a')
    expect((await verifier.verify(b)).sub).toBe('b')
    expect((await verifier.verify(a)).sub).toBe('a')
  })
})

describe('a remote JWKS', () => {
  interface FakeJwks {
    fetch: typeof fetch
    calls: number
    keys: JWK[]
    failing: boolean
    cacheControl: string
  }
  const fakeJwks = (keys: JWK[]): FakeJwks => {
    const state: FakeJwks = {
      calls: 0,
      keys,
      failing: false,
      cacheControl: 'public, max-age=300',
      fetch: async () => {
        state.calls++
        if (state.failing) throw new TypeError('fetch failed')
        return new Response(JSON.stringify({ keys: state.keys }), {
          headers: { 'content-type': 'application/json', 'cache-control': state.cacheControl },
        })
      },
    }
    return state
  }

  it('fetches once, then serves concurrent and later verifications from the cache', async () => {
    const key = await makeKey('ES256')
    const remote = fakeJwks([key.publicJwk])
    const verifier = createVerifier({
      issuer,
      audience,
      jwksUrl: 'https://a/jwks',
      fetch: remote.fetch,
    })
    const tokens = await Promise.all(Array.from({ length: 5 }, () => sign(key)))
    await Promise.all(tokens.map((token) => verifier.verify(token)))
    expect(remote.calls).toBe(1)
  })

  it('refetches on an unknown kid at most once per 30 s', async () => {
    const key = await makeKey('ES256')
    const rotated = await makeKey('ES256')
    const remote = fakeJwks([key.publicJwk])
    let now = Date.now()
    const verifier = createVerifier({
      issuer,
      audience,
      jwksUrl: 'https://a/jwks',
      fetch: remote.fetch,
      now: () => now,
    })
    await verifier.verify(await sign(key))
    expect(remote.calls).toBe(1)
    // A made-up kid right after the first fetch: inside the cooldown, no fetch.
    expect((await refusal(verifier.verify(await sign(rotated)))).detail).toBe('unknown kid')
    expect(remote.calls).toBe(1)
    now += 30_000
    remote.keys = [key.publicJwk, rotated.publicJwk]
    await expect(verifier.verify(await sign(rotated))).resolves.toBeDefined()
    expect(remote.calls).toBe(2)
    // A flood of unknown kids within the next 30 s costs no fetch at all.
    const stranger = await makeKey('ES256')
    for (let attempt = 0; attempt < 20; attempt++) {
      now += 1000
      await refusal(verifier.verify(await sign(stranger)))
    }
    expect(remote.calls).toBe(2)
  })

  it('refreshes a stale set in the background and keeps verifying with it', async () => {
    const key = await makeKey('ES256')
    const remote = fakeJwks([key.publicJwk])
    remote.cacheControl = 'public, max-age=60'
    let now = Date.now()
    const verifier = createVerifier({
      issuer,
      audience,
      jwksUrl: 'https://a/jwks',
      fetch: remote.fetch,
      now: () => now,
      cacheSize: 0,
    })
    await verifier.verify(await sign(key))
    now += 59_000
    await verifier.verify(await sign(key))
    expect(remote.calls).toBe(1)
    now += 2_000
    remote.failing = true
    // Stale, and the refresh fails: the known key still verifies.
    await expect(verifier.verify(await sign(key))).resolves.toBeDefined()
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(remote.calls).toBe(2)
  })

  it('answers 503 store_unavailable while the first fetch fails, then recovers', async () => {
    const key = await makeKey('ES256')
    const remote = fakeJwks([key.publicJwk])
    remote.failing = true
    const verifier = createVerifier({
      issuer,
      audience,
      jwksUrl: 'https://a/jwks',
      fetch: remote.fetch,
    })
    const error = await refusal(verifier.verify(await sign(key)))
    expect(error.code).toBe('store_unavailable')
    expect(error.status).toBe(503)
    remote.failing = false
    await expect(verifier.verify(await sign(key))).resolves.toBeDefined()
  })

  it('skips keys it cannot use and still verifies with the others', async () => {
    const key = await makeKey('ES256')
    const remote = fakeJwks([
      { kty: 'oct', k: 'c2VjcmV0', kid: 'hmac', alg: 'HS256' },
      { kty: 'EC', crv: 'P-256', x: 'bad', y: 'bad', kid: 'broken', alg: 'ES256' },
      { ...key.publicJwk, use: 'enc', kid: 'encryption-only' },
      key.publicJwk,
    ])
    const verifier = createVerifier({
      issuer,
      audience,
      jwksUrl: 'https://a/jwks',
      fetch: remote.fetch,
    })
    await expect(verifier.verify(await sign(key))).resolves.toBeDefined()
  })
})

describe('against a Baton server', () => {
  let server: TestServer
  let url: string
  beforeAll(async () => {
    server = await createTestServer({ env: { BATON_AUDIENCE: audience } })
    url = await server.app.listen({ port: 0, host: '127.0.0.1' })
  })
  afterAll(async () => server.close())

  it.each(backends)('verifies its access tokens through its JWKS URL (%s)', async (backend) => {
    const { accessToken, user } = await signup(server)
    const verifier = createVerifier({
      issuer: server.config.issuer,
      audience,
      jwksUrl: `${url}/.well-known/jwks.json`,
      crypto: backend,
    })
    const verified = await verifier.verify(accessToken)
    expect(verified.sub).toBe(user.id)
    expect(verified).toEqual(decodeJWT(accessToken).payload)
  })

  it('refuses its refresh tokens', async () => {
    const { refreshToken } = await signup(server)
    const verifier = createVerifier({
      issuer: server.config.issuer,
      audience,
      jwksUrl: `${url}/.well-known/jwks.json`,
    })
    expect((await refusal(verifier.verify(refreshToken))).code).toBe('invalid_token')
  })
})

describe('VerifiedTokenCache', () => {
  const entry = (exp = 2_000_000_000) => ({ exp })
  const token = (n: number) => `header.payload.signature${n}`

  it('never holds more than its bound, and keeps a token in use across evictions', () => {
    const cache = new VerifiedTokenCache<{ exp: number }>(100)
    cache.set(token(0), entry())
    for (let n = 1; n <= 1000; n++) {
      cache.set(token(n), entry())
      expect(cache.size).toBeLessThanOrEqual(100)
      // A client keeps presenting token 0: it must never fall out.
      expect(cache.get(token(0), 0)).toBeDefined()
    }
    expect(cache.get(token(1), 0)).toBeUndefined()
    expect(cache.get(token(1000), 0)).toBeDefined()
  })

  it('drops an entry at its exp, in either generation', () => {
    const cache = new VerifiedTokenCache<{ exp: number }>(2)
    cache.set(token(1), entry(100))
    cache.set(token(2), entry(100)) // token 1 moves to the old generation
    expect(cache.get(token(1), 99)).toBeDefined()
    expect(cache.get(token(1), 100)).toBeUndefined()
    expect(cache.get(token(2), 100)).toBeUndefined()
    expect(cache.size).toBe(0)
  })
})
