import { afterEach, describe, expect, it } from 'vitest'
import { describeUserAgent } from '../../packages/server/src/account-pages/user-agent.js'
import { loadConfig } from '../../packages/server/src/core/config/config.js'
import {
  createTestServer,
  strongPassword,
  uniqueEmail,
  type TestServer,
} from '../helpers/server.js'

// The account pages over HTTP: where they are served, with which headers, and the switch that
// turns them off. What a person does on them is test/browser/account-pages.test.ts.

let server: TestServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

const assetsOf = (html: string) => [...html.matchAll(/(?:href|src)="([^"]+)"/g)].map((m) => m[1]!)

describe('account pages', () => {
  it('serves the pages with a strict policy, and their files cached for good', async () => {
    server = await createTestServer()
    for (const [url, title] of [
      ['/account', 'Your account · Baton'],
      ['/account/sign-in', 'Sign in · Baton'],
      ['/account/sign-up', 'Create your account · Baton'],
      ['/account/forgot-password', 'Reset your password · Baton'],
      ['/account/reset-password', 'Choose a new password · Baton'],
      ['/account/verify-email', 'Confirm your email address · Baton'],
    ] as const) {
      const page = await server.app.inject({ method: 'GET', url })
      expect(page.statusCode).toBe(200)
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8')
      expect(page.headers['content-security-policy']).toContain("default-src 'none'")
      expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'")
      expect(page.headers['x-content-type-options']).toBe('nosniff')
      expect(page.headers['cache-control']).toBe('no-store')
      expect(page.body).toContain(`<title>${title}</title>`)
      const assets = assetsOf(page.body).filter((href) => href.startsWith('/account/assets/'))
      expect(assets).toHaveLength(3)
      for (const asset of assets) {
        const file = await server.app.inject({ method: 'GET', url: asset })
        expect(file.statusCode).toBe(200)
        expect(file.headers['cache-control']).toBe('public, max-age=31536000, immutable')
        expect(file.headers['x-content-type-options']).toBe('nosniff')
      }
    }
    const trailing = await server.app.inject({ method: 'GET', url: '/account/' })
    expect([trailing.statusCode, trailing.headers.location]).toEqual([308, '/account'])
    const unknown = await server.app.inject({ method: 'GET', url: '/account/assets/account.js' })
    expect(unknown.statusCode).toBe(404)
    expect(unknown.json()).toMatchObject({ error: 'not_found' })
    // HTML, not API: the OpenAPI document leaves them out.
    const openapi = await server.app.inject({ method: 'GET', url: '/openapi.json' })
    expect(Object.keys(openapi.json<{ paths: object }>().paths).join()).not.toContain('/account')
  })

  it('moves to BATON_ACCOUNT_PAGES_PATH, and is gone with BATON_ACCOUNT_PAGES=false', async () => {
    server = await createTestServer({ env: { BATON_ACCOUNT_PAGES_PATH: '/me/account/' } })
    const moved = await server.app.inject({ method: 'GET', url: '/me/account/sign-in' })
    expect(moved.statusCode).toBe(200)
    expect(moved.body).toContain('data-base="/me/account"')
    expect(moved.body).toContain('href="/me/account/sign-up"')
    expect((await server.app.inject({ method: 'GET', url: '/account' })).statusCode).toBe(404)
    await server.close()

    server = await createTestServer({ env: { BATON_ACCOUNT_PAGES: 'false' } })
    for (const url of [
      '/account',
      '/account/sign-in',
      '/account/sign-up',
      '/account/forgot-password',
    ]) {
      expect((await server.app.inject({ method: 'GET', url })).statusCode).toBe(404)
    }
  })

  it('refuses a path that is not one, or one of the API', () => {
    for (const path of [
      'account',
      '/a b',
      '/auth',
      '/auth/pages',
      '/.well-known',
      '/openapi.json',
    ]) {
      expect(() => loadConfig({ BATON_ACCOUNT_PAGES_PATH: path })).toThrow(
        /^BATON_ACCOUNT_PAGES_PATH: /,
      )
    }
  })
})

describe('sign-in from another origin (login CSRF)', () => {
  it('refuses a sign-in into the cookie from an origin that is not allowed, and sets no cookie', async () => {
    server = await createTestServer({
      env: { BATON_ISSUER: 'https://auth.example.com', BATON_MAILER_URL: 'log' },
    })
    const email = uniqueEmail()
    await server.app.inject({
      method: 'POST',
      url: '/auth/signup',
      payload: { email, password: strongPassword },
    })
    for (const [url, origin] of [
      ['/auth/login', 'https://evil.example'],
      ['/auth/signup', 'https://evil.example'],
      // A sandboxed frame's, or a data: URL's: a browser's, and no allowed one.
      ['/auth/login', 'null'],
    ] as const) {
      const answer = await server.app.inject({
        method: 'POST',
        url,
        headers: { origin },
        payload: { email: url === '/auth/login' ? email : uniqueEmail(), password: strongPassword },
      })
      expect(answer.statusCode).toBe(403)
      expect(answer.json()).toMatchObject({ error: 'csrf_origin_mismatch' })
      expect(answer.headers['set-cookie']).toBeUndefined()
    }
    // Our own origin signs in; so does a client that is no browser (no Origin, body delivery).
    const own = await server.app.inject({
      method: 'POST',
      url: '/auth/login',
      headers: { origin: 'https://auth.example.com' },
      payload: { email, password: strongPassword },
    })
    expect(own.statusCode).toBe(200)
    expect(own.headers['set-cookie']).toBeDefined()
    const native = await server.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email, password: strongPassword },
    })
    expect(native.statusCode).toBe(200)
  })
})

describe('the device names of the account pages', () => {
  it.each([
    [
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
      'Chrome on Windows',
    ],
    [
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
      'Edge on Windows',
    ],
    [
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
      'Safari on macOS',
    ],
    [
      'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
      'Safari on iPhone',
    ],
    [
      'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1',
      'Chrome on iPhone',
    ],
    [
      'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
      'Chrome on Android',
    ],
    [
      'Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36',
      'Samsung Internet on Android',
    ],
    [
      'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
      'Firefox on Linux',
    ],
    [
      'Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
      'Chrome on ChromeOS',
    ],
    [
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36',
      'Chrome on Linux',
    ],
    ['curl/8.5.0', 'curl'],
    ['node', 'a script'],
    ['', 'Unknown device'],
    [null, 'Unknown device'],
  ])('%s -> %s', (userAgent, name) => {
    expect(describeUserAgent(userAgent)).toBe(name)
  })
})
