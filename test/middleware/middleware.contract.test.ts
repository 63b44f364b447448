import type { JWTPayload } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { VerifierOptions } from '../../packages/verify/src/index.js'
import { forbiddenTokenHeaders } from '../../packages/verify/src/shared.js'
import { audience, claims, issuer, makeKey, sign, type TestKey } from '../helpers/foreign-tokens.js'
import { frameworks, startApp, type RunningApp } from './apps.js'

/**
 * One contract, three frameworks: each middleware is a thin shell over the same verifier, and
 * these tests prove they answer alike, through real HTTP, for every outcome.
 */

let key: TestKey

beforeAll(async () => {
  key = await makeKey('ES256')
})

const token = (overrides: JWTPayload = {}): Promise<string> =>
  sign(key, claims({ scope: 'orders:read profile', ...overrides }))

describe.each(frameworks)('%s middleware', (framework) => {
  let app: RunningApp
  const revoked = new Set<string>()
  beforeAll(async () => {
    const options: VerifierOptions = {
      issuer,
      audience,
      jwks: { keys: [key.publicJwk] },
      revocations: { isRevoked: (sid) => revoked.has(sid) },
    }
    app = await startApp(framework, options)
  })
  afterAll(async () => app.close())

  const get = (path: string, authorization?: string): Promise<Response> =>
    fetch(`${app.url}${path}`, {
      headers: authorization === undefined ? {} : { authorization },
    })

  it('passes a valid token and hands its claims to the route', async () => {
    const response = await get('/me', `Bearer ${await token()}`)
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ sub: 'user-1', sid: 'session-1' })
  })

  it('accepts the scheme in any case (RFC 6750 §2.1)', async () => {
    expect((await get('/me', `bearer ${await token()}`)).status).toBe(200)
  })

  it('answers a missing token with a bare Bearer challenge', async () => {
    const response = await get('/me')
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toBe('Bearer')
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(await response.json()).toMatchObject({ error: 'invalid_token' })
  })

  it.each([
    ['another scheme', 'Basic dXNlcjpwYXNz', 'invalid_token'],
    ['a malformed token', 'Bearer not-a-jwt', 'invalid_token'],
  ])('refuses %s with an invalid_token challenge', async (_name, header, code) => {
    const response = await get('/me', header)
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toMatch(
      /^Bearer error="invalid_token", error_description="[^"]+"$/,
    )
    expect(await response.json()).toMatchObject({ error: code })
  })

  it('refuses an expired token with access_token_expired', async () => {
    const iat = Math.floor(Date.now() / 1000) - 2000
    const response = await get('/me', `Bearer ${await token({ iat, exp: iat + 900 })}`)
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"')
    expect(await response.json()).toMatchObject({ error: 'access_token_expired' })
  })

  it('refuses a token for another audience, saying which and which it expects', async () => {
    const response = await get('/me', `Bearer ${await token({ aud: 'billing-api' })}`)
    expect(response.status).toBe(401)
    const message =
      "The access token is for the audience 'billing-api', not this API's 'orders-api' (the verifier's audience option)."
    expect(await response.json()).toEqual({ error: 'invalid_token', message })
    expect(response.headers.get('www-authenticate')).toContain(message)
  })

  it('refuses a token of another issuer, saying which and which it expects', async () => {
    const response = await get('/me', `Bearer ${await token({ iss: 'https://other.example' })}`)
    expect(await response.json()).toMatchObject({
      error: 'invalid_token',
      message: expect.stringContaining(
        "issued by 'https://other.example', not by 'https://auth.example.com'",
      ) as unknown,
    })
  })

  it('refuses a refresh token sent as an access token, saying so', async () => {
    const refreshToken = await sign(key, claims(), { typ: 'rt+jwt' })
    const response = await get('/me', `Bearer ${refreshToken}`)
    expect(await response.json()).toEqual({
      error: 'invalid_token',
      message: 'A refresh token was sent where an access token belongs; send the access token.',
    })
  })

  it('keeps a forged claim printable and short in the challenge header', async () => {
    const response = await get(
      '/me',
      `Bearer ${await token({ aud: `x\r\nSet-Cookie: a=b${'y'.repeat(200)}` })}`,
    )
    expect(response.status).toBe(401)
    const challenge = response.headers.get('www-authenticate') ?? ''
    expect(challenge).not.toMatch(/[\r\n]/)
    expect(challenge.length).toBeLessThan(300)
  })

  it('refuses a revoked session with session_revoked', async () => {
    const revokedToken = await token({ sid: 'session-revoked' })
    expect((await get('/me', `Bearer ${revokedToken}`)).status).toBe(200)
    revoked.add('session-revoked')
    const response = await get('/me', `Bearer ${revokedToken}`)
    expect(response.status).toBe(401)
    expect(await response.json()).toMatchObject({ error: 'session_revoked' })
  })

  it('requireScope: 200 with the scope, 403 insufficient_scope without', async () => {
    expect((await get('/orders', `Bearer ${await token()}`)).status).toBe(200)
    const response = await get('/orders', `Bearer ${await token({ scope: 'profile' })}`)
    expect(response.status).toBe(403)
    expect(response.headers.get('www-authenticate')).toMatch(
      /^Bearer error="insufficient_scope", error_description="[^"]+", scope="orders:read"$/,
    )
    expect(await response.json()).toMatchObject({ error: 'insufficient_scope' })
  })

  it('requireScope needs the whole scope, not a prefix of another', async () => {
    const response = await get('/orders', `Bearer ${await token({ scope: 'orders:read-all' })}`)
    expect(response.status).toBe(403)
  })

  it('requireRole: 200 with the role, 403 forbidden without', async () => {
    expect(
      (await get('/admin', `Bearer ${await token({ roles: ['user', 'admin'] })}`)).status,
    ).toBe(200)
    const response = await get('/admin', `Bearer ${await token()}`)
    expect(response.status).toBe(403)
    expect(await response.json()).toMatchObject({ error: 'forbidden' })
  })

  it('leaves unprotected routes alone', async () => {
    const response = await get('/public')
    expect(response.status).toBe(200)
  })
})

describe.each(frameworks)('%s middleware with an unreachable JWKS', (framework) => {
  let app: RunningApp
  beforeAll(async () => {
    app = await startApp(framework, {
      issuer,
      audience,
      jwksUrl: 'http://127.0.0.1:9/.well-known/jwks.json',
      jwksTimeout: 1,
    })
  })
  afterAll(async () => app.close())

  it('answers 503 store_unavailable with Retry-After, never 401 or 500', async () => {
    const response = await fetch(`${app.url}/me`, {
      headers: { authorization: `Bearer ${await token()}` },
    })
    expect(response.status).toBe(503)
    expect(response.headers.get('retry-after')).toBe('1')
    expect(await response.json()).toMatchObject({ error: 'store_unavailable' })
  })
})

describe.each(frameworks)("%s middleware with seed 001's X-AUTH-TOKEN header", (framework) => {
  let app: RunningApp
  beforeAll(async () => {
    app = await startApp(framework, {
      issuer,
      audience,
      jwks: { keys: [key.publicJwk] },
      header: 'X-AUTH-TOKEN',
    })
  })
  afterAll(async () => app.close())

  const get = (headers: Record<string, string>): Promise<Response> =>
    fetch(`${app.url}/me`, { headers })

  it('takes the bare token from the configured header', async () => {
    const response = await get({ 'x-auth-token': await token() })
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ sub: 'user-1' })
  })

  it('ignores Authorization, and says which header it reads', async () => {
    const response = await get({ authorization: `Bearer ${await token()}` })
    expect(response.status).toBe(401)
    expect(await response.json()).toEqual({
      error: 'invalid_token',
      message: 'An access token is required (x-auth-token: <token>).',
    })
  })

  it('refuses a Bearer-prefixed value in the custom header', async () => {
    const response = await get({ 'x-auth-token': `Bearer ${await token()}` })
    expect(response.status).toBe(401)
    expect(await response.json()).toMatchObject({ error: 'invalid_token' })
  })
})

it('refuses a header name no request can carry, at setup', async () => {
  await expect(
    startApp('express', { issuer, audience, jwks: { keys: [] }, header: 'X AUTH' }),
  ).rejects.toThrow(/not an HTTP header name/)
})

describe.each(frameworks)(
  '%s middleware refuses a header that means something else',
  (framework) => {
    it.each([
      'Origin',
      'Set-Cookie',
      'X-Forwarded-For',
      'Proxy-Authorization',
      'Cookie',
      'Content-Length',
      'Transfer-Encoding',
      'Connection',
      'Baton-Token-Delivery',
    ])('%s, at setup', async (header) => {
      await expect(
        startApp(framework, { issuer, audience, jwks: { keys: [] }, header }),
      ).rejects.toThrow(new RegExp(`^the access token cannot travel in the ${header} header`))
    })

    it('and every name of the shared list', async () => {
      for (const header of forbiddenTokenHeaders) {
        await expect(
          startApp(framework, { issuer, audience, jwks: { keys: [] }, header }),
          header,
        ).rejects.toThrow(TypeError)
      }
    })
  },
)
