import { afterEach, describe, expect, it } from 'vitest'
import {
  createTestServer,
  strongPassword,
  uniqueEmail,
  type TestServer,
  type TokenBody,
} from '../helpers/server.js'

let server: TestServer
afterEach(async () => server?.close())

const ownOrigin = 'http://127.0.0.1:3000'

function setCookieOf(headers: Record<string, unknown>): string {
  const value = headers['set-cookie']
  const cookies = Array.isArray(value) ? value : [value]
  const cookie = cookies.find(
    (entry): entry is string => typeof entry === 'string' && /^[^=;]+=/.test(entry),
  )
  if (cookie === undefined) throw new Error('no refresh cookie was set')
  return cookie
}

function cookieValue(setCookie: string): string {
  return /^[^=]+=([^;]*)/.exec(setCookie)?.[1] ?? ''
}

async function browserSignup(headers: Record<string, string> = { origin: ownOrigin }) {
  const response = await server.app.inject({
    method: 'POST',
    url: '/auth/signup',
    payload: { email: uniqueEmail(), password: strongPassword },
    headers,
  })
  expect(response.statusCode).toBe(201)
  return { response, body: response.json<TokenBody>(), cookie: setCookieOf(response.headers) }
}

const refreshWithCookie = (cookie: string, headers: Record<string, string>) =>
  server.app.inject({
    method: 'POST',
    url: '/auth/refresh',
    headers: { cookie: `__Secure-baton_rt=${cookieValue(cookie)}`, ...headers },
  })

describe('refresh token delivery', () => {
  it('sets the cookie exactly as docs/api.md says and keeps the token out of the body', async () => {
    server = await createTestServer()
    const { body, cookie } = await browserSignup()
    expect(body.refreshToken).toBeUndefined()
    const attributes = cookie.split(';').map((part) => part.trim())
    expect(attributes[0]).toMatch(/^__Secure-baton_rt=eyJ[\w-]+\.[\w-]+\.[\w-]+$/)
    expect(attributes.slice(1).sort()).toEqual(
      ['HttpOnly', 'Max-Age=1209600', 'Path=/auth', 'SameSite=Strict', 'Secure'].sort(),
    )
  })

  it('uses body mode without an Origin and when asked with Baton-Token-Delivery: body', async () => {
    server = await createTestServer()
    for (const headers of [{}, { origin: ownOrigin, 'baton-token-delivery': 'body' }]) {
      const response = await server.app.inject({
        method: 'POST',
        url: '/auth/signup',
        payload: { email: uniqueEmail(), password: strongPassword },
        headers,
      })
      expect(typeof response.json<TokenBody>().refreshToken).toBe('string')
      expect(response.headers['set-cookie']).toBeUndefined()
    }
  })

  it('uses cookie mode when asked, even without an Origin', async () => {
    server = await createTestServer()
    const { body, cookie } = await browserSignup({ 'baton-token-delivery': 'cookie' })
    expect(body.refreshToken).toBeUndefined()
    expect(cookie).toContain('HttpOnly')
  })

  it('refuses an unknown Baton-Token-Delivery value with 400', async () => {
    server = await createTestServer()
    const response = await server.app.inject({
      method: 'POST',
      url: '/auth/signup',
      payload: { email: uniqueEmail(), password: strongPassword },
      headers: { 'baton-token-delivery': 'header' },
    })
    expect(response.statusCode).toBe(400)
    expect(response.json()).toMatchObject({ error: 'invalid_request' })
  })

  it('honours the configured cookie name, path and domain', async () => {
    server = await createTestServer({
      env: {
        BATON_COOKIE_NAME: '__Secure-rt',
        BATON_COOKIE_PATH: '/api/auth',
        BATON_COOKIE_DOMAIN: 'example.com',
      },
    })
    const { cookie } = await browserSignup()
    expect(cookie).toMatch(/^__Secure-rt=/)
    expect(cookie).toContain('Path=/api/auth')
    expect(cookie).toContain('Domain=example.com')
  })

  it('drops Secure and the __Secure- prefix only when BATON_COOKIE_SECURE=false', async () => {
    server = await createTestServer({ env: { BATON_COOKIE_SECURE: 'false' } })
    const { cookie } = await browserSignup()
    expect(cookie).toMatch(/^baton_rt=/)
    expect(cookie).not.toContain('Secure')
  })

  it('rotates through the cookie: the new token arrives as a cookie and the old one is retired', async () => {
    server = await createTestServer()
    const { cookie } = await browserSignup()
    const response = await refreshWithCookie(cookie, { origin: ownOrigin })
    expect(response.statusCode).toBe(200)
    expect(response.json<TokenBody>().refreshToken).toBeUndefined()
    const next = setCookieOf(response.headers)
    expect(cookieValue(next)).not.toBe(cookieValue(cookie))
    expect((await refreshWithCookie(next, { origin: ownOrigin })).statusCode).toBe(200)
  })

  it('clears a dead refresh cookie', async () => {
    server = await createTestServer()
    const { cookie } = await browserSignup()
    await server.app.inject({
      method: 'POST',
      url: '/auth/logout',
      headers: { cookie: `__Secure-baton_rt=${cookieValue(cookie)}`, origin: ownOrigin },
    })
    const response = await refreshWithCookie(cookie, { origin: ownOrigin })
    expect(response.statusCode).toBe(401)
    expect(setCookieOf(response.headers)).toContain('Max-Age=0')
  })
})

describe('CSRF: cookie-authenticated requests need our own or an allowed origin', () => {
  it.each([
    ['no Origin and no Referer', {}],
    ['a foreign Origin', { origin: 'https://evil.example' }],
    ['Origin null', { origin: 'null' }],
    ['a foreign Referer without Origin', { referer: 'https://evil.example/page' }],
    ['an origin that only shares a prefix', { origin: 'http://127.0.0.1:30000' }],
  ])('refuses %s with 403 csrf_origin_mismatch', async (_name, headers) => {
    // No grace window: a cookie rotated by the refused request would be a reuse (401) below.
    server = await createTestServer({ env: { BATON_REFRESH_REUSE_GRACE: '0' } })
    const { cookie } = await browserSignup()
    const response = await refreshWithCookie(cookie, headers)
    expect(response.statusCode).toBe(403)
    expect(response.json()).toMatchObject({ error: 'csrf_origin_mismatch' })
    // Refused before any rotation: the cookie still works from our origin.
    expect((await refreshWithCookie(cookie, { origin: ownOrigin })).statusCode).toBe(200)
  })

  it('accepts our own origin, a Referer from it, and an allowed origin', async () => {
    server = await createTestServer({ env: { BATON_ALLOWED_ORIGINS: 'https://app.example.com' } })
    let { cookie } = await browserSignup()
    const attempts: Record<string, string>[] = [
      { origin: ownOrigin },
      { referer: `${ownOrigin}/account?x=1` },
      { origin: 'https://app.example.com' },
    ]
    for (const headers of attempts) {
      const response = await refreshWithCookie(cookie, headers)
      expect(response.statusCode).toBe(200)
      cookie = setCookieOf(response.headers)
    }
  })

  it('never answers a refresh token that came in the cookie in the body, whatever the header says', async () => {
    server = await createTestServer()
    const { cookie } = await browserSignup()
    const response = await refreshWithCookie(cookie, {
      origin: ownOrigin,
      'baton-token-delivery': 'body',
    })
    expect(response.statusCode).toBe(200)
    expect(response.json<TokenBody>().refreshToken).toBeUndefined()
    expect(response.body).not.toContain(cookieValue(setCookieOf(response.headers)))
    expect(setCookieOf(response.headers)).toContain('HttpOnly')
  })

  it('answers a cookie-authenticated request in the cookie even without an Origin', async () => {
    server = await createTestServer()
    const { cookie } = await browserSignup()
    const response = await refreshWithCookie(cookie, { referer: `${ownOrigin}/account` })
    expect(response.statusCode).toBe(200)
    expect(response.json<TokenBody>().refreshToken).toBeUndefined()
    expect(setCookieOf(response.headers)).toContain('HttpOnly')
  })

  it('does not check the origin when the token comes in the body (no ambient credential)', async () => {
    server = await createTestServer()
    const signup = await server.app.inject({
      method: 'POST',
      url: '/auth/signup',
      payload: { email: uniqueEmail(), password: strongPassword },
    })
    const response = await server.app.inject({
      method: 'POST',
      url: '/auth/refresh',
      payload: { refreshToken: signup.json<TokenBody>().refreshToken },
      headers: { origin: 'https://other.example', 'baton-token-delivery': 'body' },
    })
    expect(response.statusCode).toBe(200)
  })

  it('guards logout with the cookie too, and logout clears the cookie', async () => {
    server = await createTestServer()
    const { cookie } = await browserSignup()
    const forged = await server.app.inject({
      method: 'POST',
      url: '/auth/logout',
      headers: {
        cookie: `__Secure-baton_rt=${cookieValue(cookie)}`,
        origin: 'https://evil.example',
      },
    })
    expect(forged.statusCode).toBe(403)
    const logout = await server.app.inject({
      method: 'POST',
      url: '/auth/logout',
      headers: { cookie: `__Secure-baton_rt=${cookieValue(cookie)}`, origin: ownOrigin },
    })
    expect(logout.statusCode).toBe(204)
    expect(setCookieOf(logout.headers)).toMatch(/Max-Age=0/)
    expect((await refreshWithCookie(cookie, { origin: ownOrigin })).json()).toMatchObject({
      error: 'session_revoked',
    })
  })
})

describe('CORS for BATON_ALLOWED_ORIGINS', () => {
  it('lets an allowed origin call with credentials, and nobody else', async () => {
    server = await createTestServer({ env: { BATON_ALLOWED_ORIGINS: 'https://app.example.com' } })
    const preflight = await server.app.inject({
      method: 'OPTIONS',
      url: '/auth/refresh',
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,baton-token-delivery',
      },
    })
    expect(preflight.statusCode).toBe(204)
    expect(preflight.headers['access-control-allow-origin']).toBe('https://app.example.com')
    expect(preflight.headers['access-control-allow-credentials']).toBe('true')
    expect(String(preflight.headers['access-control-allow-headers'])).toContain(
      'baton-token-delivery',
    )

    const foreign = await server.app.inject({
      method: 'OPTIONS',
      url: '/auth/refresh',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    })
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined()

    const signup = await server.app.inject({
      method: 'POST',
      url: '/auth/signup',
      payload: { email: uniqueEmail(), password: strongPassword },
      headers: { origin: 'https://app.example.com' },
    })
    expect(signup.headers['access-control-allow-origin']).toBe('https://app.example.com')
  })

  it('sends no CORS headers when no origin is allowed', async () => {
    server = await createTestServer()
    const response = await server.app.inject({
      method: 'POST',
      url: '/auth/signup',
      payload: { email: uniqueEmail(), password: strongPassword },
      headers: { origin: 'https://app.example.com' },
    })
    expect(response.headers['access-control-allow-origin']).toBeUndefined()
  })
})
