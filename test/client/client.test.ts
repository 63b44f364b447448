import { createServer, type Server } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import {
  BatonClientError,
  createClient,
  memoryStorage,
  type BatonClient,
  type ClientOptions,
  type SessionEvent,
  type TokenStorage,
} from '@baton-auth/client'
import { ManualClock } from '../helpers/clock.js'
import { freePort } from '../helpers/ports.js'
import {
  createTestServer,
  strongPassword,
  uniqueEmail,
  type TestServer,
} from '../helpers/server.js'

// @baton-auth/client against a real Baton listening on 127.0.0.1, over HTTP. Time moves with
// the server's ManualClock: expiry is reached without sleeping.

let server: TestServer | undefined
let baseUrl: string
const closers: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const close of closers.splice(0)) await close()
  await server?.close()
  server = undefined
})

async function startBaton(env: Record<string, string> = {}): Promise<TestServer> {
  const port = await freePort()
  baseUrl = `http://127.0.0.1:${port}`
  server = await createTestServer({ env: { BATON_ISSUER: baseUrl, ...env } })
  await server.app.listen({ port, host: '127.0.0.1' })
  return server
}

/** A fetch that records what it sends: method and path of every request. */
function recordingFetch(inner: typeof fetch = fetch) {
  const sent: string[] = []
  const wrapped: typeof fetch = async (input, init) => {
    const request = new Request(input, init)
    sent.push(`${request.method} ${new URL(request.url).pathname}`)
    return inner(request)
  }
  return { fetch: wrapped, sent, count: (line: string) => sent.filter((s) => s === line).length }
}

function bodyClient(options: Partial<ClientOptions> = {}) {
  const recorder = recordingFetch()
  const storage = options.storage ?? memoryStorage()
  const client = createClient({
    baseUrl,
    delivery: 'body',
    fetch: recorder.fetch,
    storage,
    now: () => server!.clock.now(),
    ...options,
  })
  return { client, storage, ...recorder }
}

const credentials = () => ({ email: uniqueEmail(), password: strongPassword })

/** The rejection of `promise`, which must be a BatonClientError. */
async function failure(promise: Promise<unknown>): Promise<BatonClientError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a rejection')
    },
    (reason: unknown) => reason,
  )
  expect(error).toBeInstanceOf(BatonClientError)
  return error as BatonClientError
}

const refreshTokenIn = async (storage: TokenStorage) =>
  (await storage.get('baton.refreshToken')) ?? undefined

describe('body delivery', () => {
  it('signs up, reads me and the sessions, and signs out', async () => {
    await startBaton()
    const { client, storage, sent } = bodyClient()
    const account = credentials()
    const signedIn = await client.signup(account)
    expect(signedIn.user.email).toBe(account.email)
    expect(signedIn).not.toHaveProperty('refreshToken')
    expect(signedIn.expiresIn).toBe(900)
    expect(await refreshTokenIn(storage)).toMatch(/^eyJ/)

    const me = await client.me()
    expect(me).toMatchObject({ id: signedIn.user.id, email: account.email, roles: ['user'] })
    expect(typeof me.createdAt).toBe('string')
    const sessions = await client.sessions()
    expect(sessions).toEqual([expect.objectContaining({ id: signedIn.sessionId, current: true })])

    await client.logout()
    expect(await refreshTokenIn(storage)).toBeUndefined()
    expect(sent.at(-1)).toBe('POST /auth/logout')
    // Nothing held any more: no request, a typed error saying to sign in.
    const error = await failure(client.getAccessToken())
    expect([error.code, error.status]).toEqual(['login_required', 0])
    // The server has revoked the session: its access token is refused.
    const answer = await fetch(`${baseUrl}/auth/me`, {
      headers: { authorization: `Bearer ${signedIn.accessToken}` },
    })
    expect(answer.status).toBe(401)
    expect(((await answer.json()) as { error: string }).error).toBe('session_revoked')
  })

  it('logs in on a second device, lists both sessions, revokes one and signs out everywhere', async () => {
    await startBaton()
    const account = credentials()
    const laptop = bodyClient()
    const phone = bodyClient()
    const tablet = bodyClient()
    await laptop.client.signup(account)
    const onPhone = await phone.client.login(account)
    const onTablet = await tablet.client.login(account)

    const sessions = await laptop.client.sessions()
    expect(sessions).toHaveLength(3)
    expect(sessions.filter((session) => session.current)).toHaveLength(1)

    await laptop.client.revokeSession(onPhone.sessionId)
    const revoked = await failure(phone.client.me())
    expect([revoked.code, revoked.status]).toEqual(['session_revoked', 401])
    expect(revoked.message).not.toBe('')
    expect(await refreshTokenIn(phone.storage)).toBeUndefined()
    expect((await laptop.client.sessions()).map((session) => session.id)).not.toContain(
      onPhone.sessionId,
    )

    // Someone else's (or an unknown) session: 404, typed.
    const missing = await failure(laptop.client.revokeSession('no-such-session'))
    expect([missing.code, missing.status]).toEqual(['not_found', 404])

    await tablet.client.logoutEverywhere()
    expect(await refreshTokenIn(tablet.storage)).toBeUndefined()
    const everywhere = await failure(laptop.client.me())
    expect(everywhere.code).toBe('session_revoked')
    expect(onTablet.sessionId).not.toBe(onPhone.sessionId)
  })

  it('revoking its own session signs the client out', async () => {
    await startBaton()
    const { client, storage } = bodyClient()
    const { sessionId } = await client.signup(credentials())
    await client.revokeSession(sessionId)
    expect(await refreshTokenIn(storage)).toBeUndefined()
    expect((await failure(client.getAccessToken())).code).toBe('login_required')
  })

  it("turns the API's errors into typed errors with code and status", async () => {
    await startBaton()
    const { client } = bodyClient()
    const account = credentials()
    await client.signup(account)
    const taken = await failure(client.signup(account))
    expect([taken.code, taken.status]).toEqual(['email_taken', 409])
    const wrong = await failure(client.login({ ...account, password: 'not the password' }))
    expect([wrong.code, wrong.status]).toEqual(['invalid_credentials', 401])
    const weak = await failure(client.signup({ email: uniqueEmail(), password: 'password123' }))
    expect([weak.code, weak.status]).toEqual(['weak_password', 400])
    const bad = await failure(client.signup({ email: 'not an email', password: strongPassword }))
    expect([bad.code, bad.status]).toEqual(['invalid_request', 400])
    for (let attempt = 0; attempt < 5; attempt++) {
      await failure(client.login({ ...account, password: 'not the password' }))
    }
    const limited = await failure(client.login(account))
    expect([limited.code, limited.status]).toEqual(['rate_limited', 429])
    expect(limited.retryAfter).toBeGreaterThan(0)
  })

  it('says network_error when Baton does not answer', async () => {
    const port = await freePort()
    const client = createClient({ baseUrl: `http://127.0.0.1:${port}`, delivery: 'body' })
    const error = await failure(client.login(credentials()))
    expect([error.code, error.status]).toEqual(['network_error', 0])
    expect(() => createClient({ baseUrl: 'nope', delivery: 'body' })).toThrow(/baseUrl/)
    expect(() =>
      createClient({ baseUrl: 'http://x', delivery: 'header' as unknown as 'body' }),
    ).toThrow(/delivery/)
  })
})

describe("seed 001's X-AUTH-TOKEN header", () => {
  it('sends the bare access token in the configured header, and refreshes on its expiry', async () => {
    await startBaton({ BATON_ACCESS_TOKEN_HEADER: 'X-AUTH-TOKEN', BATON_ACCESS_TOKEN_TTL: '5m' })
    const seen: (string | null)[] = []
    const { client } = bodyClient({
      accessTokenHeader: 'X-AUTH-TOKEN',
      fetch: async (input, init) => {
        const request = new Request(input, init)
        seen.push(request.headers.get('x-auth-token'))
        expect(request.headers.get('authorization')).toBeNull()
        return fetch(request)
      },
    })
    const signedIn = await client.signup(credentials())
    expect(await client.me()).toMatchObject({ id: signedIn.user.id })
    expect(seen.at(-1)).toBe(signedIn.accessToken)
    // Past its expiry (the client reads the server's clock here): the next call refreshes first.
    server!.clock.advance(6 * 60)
    const response = await client.fetch(`${baseUrl}/auth/me`)
    expect(response.status).toBe(200)
    expect(seen.at(-1)).not.toBe(signedIn.accessToken)
    expect(() => createClient({ baseUrl, delivery: 'body', accessTokenHeader: 'X AUTH' })).toThrow(
      /accessTokenHeader/,
    )
  })
})

describe('access token refresh', () => {
  it('keeps a fresh token without asking, and refreshes once it is about to expire', async () => {
    await startBaton()
    const { client, count } = bodyClient()
    const { accessToken } = await client.signup(credentials())
    expect(await client.getAccessToken()).toBe(accessToken)
    server!.clock.advance(900 - 40)
    expect(await client.getAccessToken()).toBe(accessToken)
    expect(count('POST /auth/refresh')).toBe(0)
    // Within the 30 s leeway: refreshed before it can expire on the way.
    server!.clock.advance(15)
    const fresh = await client.getAccessToken()
    expect(fresh).not.toBe(accessToken)
    expect(count('POST /auth/refresh')).toBe(1)
    expect((await client.me()).email).toMatch(/@example\.com$/)
  })

  it('makes exactly one refresh request for many concurrent getAccessToken and fetch calls', async () => {
    await startBaton({ BATON_ACCESS_TOKEN_TTL: '60s' })
    const { client, storage, count } = bodyClient()
    await client.signup(credentials())
    const firstRefreshToken = await refreshTokenIn(storage)
    server!.clock.advance(61)
    const tokens = await Promise.all(Array.from({ length: 25 }, () => client.getAccessToken()))
    expect(new Set(tokens).size).toBe(1)
    expect(count('POST /auth/refresh')).toBe(1)
    expect(await refreshTokenIn(storage)).not.toBe(firstRefreshToken)

    server!.clock.advance(61)
    const answers = await Promise.all(
      Array.from({ length: 25 }, () => client.fetch(`${baseUrl}/auth/me`)),
    )
    expect(answers.map((answer) => answer.status)).toEqual(Array(25).fill(200))
    expect(count('POST /auth/refresh')).toBe(2)
    expect(count('GET /auth/me')).toBe(25)
  })

  it('refreshes and retries once when a server says access_token_expired (skewed clocks)', async () => {
    await startBaton()
    // The client's clock lags: it believes its token valid, the server does not.
    const lagging = new ManualClock(server!.clock.now())
    const { client, count } = bodyClient({ now: () => lagging.now() })
    const { accessToken } = await client.signup(credentials())
    server!.clock.advance(901)
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => client.fetch(`${baseUrl}/auth/me`)),
    )
    expect(answers.map((answer) => answer.status)).toEqual(Array(10).fill(200))
    expect(count('POST /auth/refresh')).toBe(1)
    expect(count('GET /auth/me')).toBe(20)
    expect(await client.getAccessToken()).not.toBe(accessToken)
  })

  it('retries a request with its body, and only once', async () => {
    await startBaton()
    const { client, count } = bodyClient()
    await client.signup(credentials())
    // A resource server that refuses the first token it sees as expired, then echoes.
    const seen: { authorization: string | undefined; body: string }[] = []
    const api: Server = createServer((request, response) => {
      let body = ''
      request.on('data', (chunk: Buffer) => (body += chunk.toString()))
      request.on('end', () => {
        seen.push({ authorization: request.headers.authorization, body })
        const expired = seen.length === 1 || request.url === '/always-expired'
        response.writeHead(expired ? 401 : 200, { 'content-type': 'application/json' })
        response.end(JSON.stringify(expired ? { error: 'access_token_expired' } : { body }))
      })
    })
    const port = await freePort()
    await new Promise<void>((resolve) => api.listen(port, '127.0.0.1', resolve))
    closers.push(() => new Promise((resolve) => api.close(() => resolve())))

    const answer = await client.fetch(`http://127.0.0.1:${port}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ item: 42 }),
    })
    expect(answer.status).toBe(200)
    expect(await answer.json()).toEqual({ body: '{"item":42}' })
    expect(seen.map((entry) => entry.body)).toEqual(['{"item":42}', '{"item":42}'])
    expect(seen[0]?.authorization).not.toBe(seen[1]?.authorization)
    expect(seen[1]?.authorization).toBe(`Bearer ${await client.getAccessToken()}`)
    expect(count('POST /auth/refresh')).toBe(1)

    // Refused again after the refresh: the answer comes back as it is, no loop.
    const refused = await client.fetch(`http://127.0.0.1:${port}/always-expired`)
    expect(refused.status).toBe(401)
    expect(count('POST /auth/refresh')).toBe(2)
  })

  it('surfaces a replayed refresh token as refresh_token_reused and forgets the session', async () => {
    await startBaton()
    const { client, storage } = bodyClient()
    await client.signup(credentials())
    // A thief copies the refresh token and uses it first; the client's copy is now retired.
    const stolen = await refreshTokenIn(storage)
    const thief = await fetch(`${baseUrl}/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken: stolen }),
    })
    expect(thief.status).toBe(200)
    server!.clock.advance(901) // past the grace window and the access token's life
    const error = await failure(client.getAccessToken())
    expect([error.code, error.status]).toEqual(['refresh_token_reused', 401])
    expect(await refreshTokenIn(storage)).toBeUndefined()
    expect((await failure(client.getAccessToken())).code).toBe('login_required')
  })

  it('surfaces a session revoked elsewhere as session_revoked on refresh', async () => {
    await startBaton()
    const account = credentials()
    const laptop = bodyClient()
    const phone = bodyClient()
    await laptop.client.signup(account)
    const { sessionId } = await phone.client.login(account)
    await laptop.client.revokeSession(sessionId)
    server!.clock.advance(901)
    const error = await failure(phone.client.getAccessToken())
    expect([error.code, error.status]).toEqual(['session_revoked', 401])
    expect(await refreshTokenIn(phone.storage)).toBeUndefined()
  })

  it('keeps the session through a store outage answer (503 is not a sign-out)', async () => {
    await startBaton()
    const outage = { on: false }
    const inner = recordingFetch()
    const flaky: typeof fetch = async (input, init) => {
      const request = new Request(input, init)
      if (outage.on && new URL(request.url).pathname === '/auth/refresh') {
        return new Response(JSON.stringify({ error: 'store_unavailable', message: 'try again' }), {
          status: 503,
          headers: { 'content-type': 'application/json', 'retry-after': '1' },
        })
      }
      return inner.fetch(request)
    }
    const { client, storage } = bodyClient({ fetch: flaky })
    await client.signup(credentials())
    server!.clock.advance(901)
    outage.on = true
    const error = await failure(client.getAccessToken())
    expect([error.code, error.status, error.retryAfter]).toEqual(['store_unavailable', 503, 1])
    expect(await refreshTokenIn(storage)).toMatch(/^eyJ/)
    outage.on = false
    expect((await client.me()).email).toMatch(/@example\.com$/)
  })
})

/**
 * What a browser does for `credentials: 'include'` that Node's fetch does not: keep the cookies
 * Baton sets (honouring Path and Max-Age) and send them back, with the page's Origin. 127.0.0.1
 * is a secure context for browsers, so they keep a `Secure` cookie from it too.
 */
function browserFetch(origin: string) {
  const jar = new Map<string, { value: string; path: string }>()
  const recorder = recordingFetch(async (input, init) => {
    const request = new Request(input, init)
    const url = new URL(request.url)
    const headers = new Headers(request.headers)
    if (request.method !== 'GET' || url.origin !== origin) headers.set('origin', origin)
    const cookies = [...jar]
      .filter(([, cookie]) => url.pathname.startsWith(cookie.path))
      .map(([name, cookie]) => `${name}=${cookie.value}`)
    if (request.credentials === 'include' && cookies.length > 0) {
      headers.set('cookie', cookies.join('; '))
    }
    const response = await fetch(new Request(request, { headers }))
    if (request.credentials === 'include') {
      for (const line of response.headers.getSetCookie()) {
        const [pair = '', ...attributes] = line.split(';').map((part) => part.trim())
        const name = pair.slice(0, pair.indexOf('='))
        const value = pair.slice(pair.indexOf('=') + 1)
        const path = attributes.find((a) => /^path=/i.test(a))?.slice(5) ?? '/'
        const maxAge = attributes.find((a) => /^max-age=/i.test(a))?.slice(8)
        if (maxAge !== undefined && Number(maxAge) <= 0) jar.delete(name)
        else jar.set(name, { value, path })
      }
    }
    return response
  })
  return { ...recorder, jar }
}

describe('cookie delivery', () => {
  const app = 'http://app.example.test'

  function cookieClient(browser: ReturnType<typeof browserFetch>): BatonClient {
    return createClient({
      baseUrl,
      delivery: 'cookie',
      fetch: browser.fetch,
      now: () => server!.clock.now(),
    })
  }

  it('keeps the refresh token in the HttpOnly cookie and resumes the session after a reload', async () => {
    await startBaton({ BATON_ALLOWED_ORIGINS: app })
    const browser = browserFetch(app)
    const storage = memoryStorage()
    const page = createClient({
      baseUrl,
      delivery: 'cookie',
      fetch: browser.fetch,
      storage,
      now: () => server!.clock.now(),
    })
    const account = credentials()
    const { user } = await page.signup(account)
    expect(browser.jar.get('__Secure-baton_rt')?.value).toMatch(/^eyJ/)
    expect(await storage.get('baton.refreshToken')).toBeNull()
    expect((await page.me()).id).toBe(user.id)

    // A reload: a new client knows nothing, the cookie brings the session back.
    const reloaded = cookieClient(browser)
    expect((await reloaded.me()).id).toBe(user.id)
    expect(browser.count('POST /auth/refresh')).toBe(1)

    // Expiry: one refresh with the cookie for many callers, and the cookie rotates.
    const before = browser.jar.get('__Secure-baton_rt')?.value
    server!.clock.advance(901)
    const tokens = await Promise.all(Array.from({ length: 10 }, () => reloaded.getAccessToken()))
    expect(new Set(tokens).size).toBe(1)
    expect(browser.count('POST /auth/refresh')).toBe(2)
    expect(browser.jar.get('__Secure-baton_rt')?.value).not.toBe(before)

    await reloaded.logout()
    expect(browser.jar.has('__Secure-baton_rt')).toBe(false)
    const signedOut = await failure(cookieClient(browser).getAccessToken())
    expect([signedOut.code, signedOut.status]).toEqual(['login_required', 401])
  })

  it('is refused from an origin Baton does not allow', async () => {
    await startBaton({ BATON_ALLOWED_ORIGINS: app })
    const browser = browserFetch(app)
    await cookieClient(browser).signup(credentials())
    const elsewhere = browserFetch('http://evil.example.test')
    elsewhere.jar.set('__Secure-baton_rt', browser.jar.get('__Secure-baton_rt')!)
    const error = await failure(cookieClient(elsewhere).getAccessToken())
    expect([error.code, error.status]).toEqual(['csrf_origin_mismatch', 403])
  })

  it('signs out everywhere and clears the cookie', async () => {
    await startBaton({ BATON_ALLOWED_ORIGINS: app })
    const browser = browserFetch(app)
    const other = bodyClient()
    const account = credentials()
    await other.client.signup(account)
    const page = cookieClient(browser)
    await page.login(account)
    await page.logoutEverywhere()
    expect(browser.jar.has('__Secure-baton_rt')).toBe(false)
    expect((await failure(other.client.me())).code).toBe('session_revoked')
  })
})

describe('session events', () => {
  it('says when the session changes and why it ended: signed out, revoked, reused, expired', async () => {
    await startBaton({ BATON_REFRESH_TOKEN_TTL: '1h' })
    const account = credentials()
    const events = (client: BatonClient) => {
      const seen: SessionEvent[] = []
      client.onSessionChange((event) => seen.push(event))
      return seen
    }

    const laptop = bodyClient()
    const onLaptop = events(laptop.client)
    const signedUp = await laptop.client.signup(account)
    expect(onLaptop).toEqual([
      { type: 'changed', sessionId: signedUp.sessionId, user: signedUp.user },
    ])

    const phone = bodyClient()
    const onPhone = events(phone.client)
    const onPhoneSession = await phone.client.login(account)
    await laptop.client.revokeSession(onPhoneSession.sessionId)
    await failure(phone.client.me())
    expect(onPhone.at(-1)).toEqual({ type: 'ended', reason: 'revoked', code: 'session_revoked' })

    const tablet = bodyClient()
    const onTablet = events(tablet.client)
    await tablet.client.login(account)
    const stolen = await refreshTokenIn(tablet.storage)
    await fetch(`${baseUrl}/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken: stolen }),
    })
    server!.clock.advance(901)
    await failure(tablet.client.getAccessToken())
    expect(onTablet.at(-1)).toEqual({
      type: 'ended',
      reason: 'reused',
      code: 'refresh_token_reused',
    })

    const desktop = bodyClient()
    const onDesktop = events(desktop.client)
    await desktop.client.login(account)
    // Both tokens expired: row 4 of the two-token table, sign in again.
    server!.clock.advance(3601)
    await failure(desktop.client.getAccessToken())
    expect(onDesktop.at(-1)).toEqual({ type: 'ended', reason: 'expired', code: 'login_required' })

    // Unsubscribed listeners hear nothing; a sign-out is the last event, once.
    const unsubscribe = laptop.client.onSessionChange(() => {
      throw new Error('unsubscribed listener called')
    })
    unsubscribe()
    await laptop.client.logout()
    await laptop.client.logout()
    expect(onLaptop.slice(1)).toEqual([{ type: 'ended', reason: 'signed_out', code: 'signed_out' }])
    // A session that was never there ends nothing.
    const stranger = bodyClient()
    const onStranger = events(stranger.client)
    await failure(stranger.client.getAccessToken())
    expect(onStranger).toEqual([])
  })
})

describe('proactive refresh and clocks', () => {
  it('refreshes on its own at about 80 % of the access lifetime, before any call needs it', async () => {
    // Real time here: a 3-second access token, refreshed between 2.25 and 2.55 seconds (later
    // only by the timer's lateness on a loaded machine).
    await startBaton({ BATON_ACCESS_TOKEN_TTL: '3s' })
    const { client, count } = bodyClient({ now: Date.now })
    closers.push(async () => client.close())
    await client.signup(credentials())
    const signedInAt = Date.now()
    const refreshed = new Promise<number>((resolve) => {
      const stop = setInterval(() => {
        if (count('POST /auth/refresh') > 0) {
          clearInterval(stop)
          resolve(Date.now() - signedInAt)
        }
      }, 20)
    })
    const after = await refreshed
    expect(after).toBeGreaterThan(2000)
    expect(after).toBeLessThan(3000) // before the token expires, whatever the load
    expect(count('POST /auth/refresh')).toBe(1)
  })

  it('does not refresh on its own when proactiveRefresh is false', async () => {
    await startBaton({ BATON_ACCESS_TOKEN_TTL: '1s' })
    const { client, count } = bodyClient({ now: Date.now, proactiveRefresh: false })
    closers.push(async () => client.close())
    await client.signup(credentials())
    await new Promise((resolve) => setTimeout(resolve, 1200))
    expect(count('POST /auth/refresh')).toBe(0)
  })

  it("judges expiry by the server's clock from its Date header, after the device clock is set back", async () => {
    await startBaton()
    // The device clock is an hour behind the server's, then its owner sets it another hour back.
    let deviceBehind = 3_600_000
    const { client, sent, count } = bodyClient({ now: () => server!.clock.now() - deviceBehind })
    await client.signup(credentials())
    expect(Math.round(client.clockSkew / 1000)).toBe(3600)
    deviceBehind += 3_600_000
    await client.me() // any answer from Baton carries its Date
    expect(Math.round(client.clockSkew / 1000)).toBe(7200)

    server!.clock.advance(880)
    // 20 seconds left by the server's clock, inside the 30-second leeway: refreshed before use.
    // Trusting the device clock, the client would send the token and meet a 401 first.
    const response = await client.fetch(`${baseUrl}/auth/me`)
    expect(response.status).toBe(200)
    expect(sent.slice(-2)).toEqual(['POST /auth/refresh', 'GET /auth/me'])
    expect(count('POST /auth/refresh')).toBe(1)
  })
})
