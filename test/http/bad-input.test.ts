import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createTestServer,
  decodeJWT,
  refresh,
  signup,
  strongPassword,
  uniqueEmail,
  type TestServer,
  type TokenBody,
} from '../helpers/server.js'

// A token that cannot be valid is a bad token (401 invalid_token), whatever is wrong with it and
// wherever it came; a malformed request names its field in plain words, never in the schema
// engine's own.

let server: TestServer
beforeAll(async () => {
  // No grace window: a token rotated behind a test's back would be refused on its next use.
  server = await createTestServer({ env: { BATON_REFRESH_REUSE_GRACE: '0' } })
})
afterAll(async () => server?.close())

const ownOrigin = 'http://127.0.0.1:3000'

let url: Promise<string> | undefined
/** The same server on a real port, for what only a real request line shows. */
const listening = (): Promise<string> => (url ??= server.app.listen({ port: 0, host: '127.0.0.1' }))

const impossibleTokens: [string, unknown][] = [
  ['10 KB of garbage', 'x'.repeat(10_240)],
  ['not base64url', '!!!.@@@.###'],
  ['two segments', 'abc.def'],
  ['four segments', 'a.b.c.d'],
  ['empty', ''],
  ['a number', 123],
  ['an object', { token: 'x' }],
  ['an array', ['x']],
  ['true', true],
  ['null', null],
]

const cookieName = '__Secure-baton_rt'

interface BrowserSession {
  body: TokenBody
  /** The refresh token, as the browser holds it in the cookie. */
  refreshToken: string
}

/** Signs up as a browser on our own origin: the refresh token comes in the cookie only. */
async function browserSignup(): Promise<BrowserSession> {
  const response = await server.app.inject({
    method: 'POST',
    url: '/auth/signup',
    payload: { email: uniqueEmail(), password: strongPassword },
    headers: { origin: ownOrigin },
  })
  expect(response.statusCode).toBe(201)
  const body = response.json<TokenBody>()
  expect(body.refreshToken).toBeUndefined()
  const setCookie = [response.headers['set-cookie']].flat().join('\n')
  const refreshToken = new RegExp(`${cookieName}=([^;]+)`).exec(setCookie)?.[1]
  if (refreshToken === undefined) throw new Error('no refresh cookie was set')
  return { body, refreshToken }
}

const refreshWithCookie = (refreshToken: string, payload?: unknown) =>
  server.app.inject({
    method: 'POST',
    url: '/auth/refresh',
    headers: { cookie: `${cookieName}=${refreshToken}`, origin: ownOrigin },
    ...(payload === undefined ? {} : { payload: payload as object }),
  })

/**
 * The session is exactly as it was: its record still names the original refresh token as
 * current, nothing was retired or revoked, and that token (the browser's cookie) still refreshes.
 * The server runs without a grace window, so a token rotated behind our back would be a reuse
 * now (401 refresh_token_reused), not a replay.
 */
async function expectUntouched(session: BrowserSession): Promise<void> {
  const { sub, sid, jti } = decodeJWT(session.refreshToken).payload
  const record = await server.sessions.get(
    { userId: String(sub), sessionId: String(sid) },
    server.clock.now(),
  )
  expect(record).toMatchObject({ currentJti: jti, previousJti: null, revokedAt: null })
  const response = await refreshWithCookie(session.refreshToken)
  expect(response.statusCode).toBe(200)
  expect(response.json<TokenBody>().sessionId).toBe(session.body.sessionId)
}

/** A response that leaves the browser's cookie alone: no Set-Cookie at all. */
function expectCookieKept(response: { headers: Record<string, unknown> }): void {
  expect(response.headers['set-cookie']).toBeUndefined()
}

describe('bad tokens are 401 invalid_token', () => {
  it.each(impossibleTokens)(
    'a bad refresh token in the body beside a valid cookie: %s',
    async (_, token) => {
      const session = await browserSignup()
      // The body is read first: its bad token decides, and the cookie's session is not touched.
      const response = await refreshWithCookie(session.refreshToken, { refreshToken: token })
      expect(response.statusCode).toBe(401)
      expect(response.json()).toEqual({ error: 'invalid_token', message: 'The token is invalid.' })
      expectCookieKept(response)
      await expectUntouched(session)
    },
  )

  it.each(impossibleTokens.filter(([, token]) => typeof token === 'string' && token !== ''))(
    'a bad refresh cookie beside a valid access token of the session: %s',
    async (_, token) => {
      const session = await browserSignup()
      // The two-token table consults the access token only for a valid refresh token.
      const response = await server.app.inject({
        method: 'POST',
        url: '/auth/refresh',
        headers: {
          cookie: `${cookieName}=${String(token)}`,
          origin: ownOrigin,
          authorization: `Bearer ${session.body.accessToken}`,
        },
      })
      expect(response.statusCode).toBe(401)
      expect(response.json()).toMatchObject({ error: 'invalid_token' })
      await expectUntouched(session)
    },
  )

  it.each(impossibleTokens.filter(([, token]) => typeof token === 'string' && token !== ''))(
    'access token in the Authorization header: %s',
    async (_, token) => {
      const response = await server.app.inject({
        method: 'GET',
        url: '/auth/me',
        headers: { authorization: `Bearer ${String(token)}` },
      })
      expect(response.statusCode).toBe(401)
      expect(response.json()).toMatchObject({ error: 'invalid_token' })
    },
  )

  it.each(impossibleTokens)(
    'logout with an impossible refresh token still answers 204: %s',
    async (_, token) => {
      const response = await server.app.inject({
        method: 'POST',
        url: '/auth/logout',
        payload: { refreshToken: token },
      })
      expect(response.statusCode).toBe(204)
    },
  )

  /** Tokens made from the session's own refresh token, none of them valid. */
  const spoiled: [string, (token: string) => unknown][] = [
    ['its token followed by 10 KB of garbage', (token) => `${token}${'x'.repeat(10_240)}`],
    [
      'its token with another signature',
      (token) => `${token.slice(0, token.lastIndexOf('.'))}.${'A'.repeat(43)}`,
    ],
    [
      'its header and claims without a signature',
      (token) => token.slice(0, token.lastIndexOf('.')),
    ],
    ['its token in a list', (token) => [token]],
    ['its token in an object', (token) => ({ token })],
  ]
  it.each(spoiled)(
    'logout with a spoiled refresh token answers 204 and signs nobody out: %s',
    async (_, spoil) => {
      const session = await browserSignup()
      const response = await server.app.inject({
        method: 'POST',
        url: '/auth/logout',
        payload: { refreshToken: spoil(session.refreshToken) },
      })
      expect(response.statusCode).toBe(204)
      await expectUntouched(session)
    },
  )
})

it('logout signs out whatever else the body holds (a stray scope included)', async () => {
  const session = await signup(server)
  const response = await server.app.inject({
    method: 'POST',
    url: '/auth/logout',
    payload: { refreshToken: session.refreshToken, scope: 5 },
  })
  expect(response.statusCode).toBe(204)
  expect((await refresh(server, session.refreshToken)).json()).toMatchObject({
    error: 'session_revoked',
  })
})

describe('validation errors name the field in plain words', () => {
  const cases: [string, unknown, RegExp][] = [
    ['a number as email', { email: 123, password: 'correct horse' }, /^email must be a string\.$/],
    ['no email', { password: 'correct horse' }, /^email is required\.$/],
    ['no body fields', {}, /^email is required\.$/],
    ['an array as body', [], /^The body must be a JSON object\.$/],
    [
      'a password too long',
      { email: 'a@example.com', password: 'x'.repeat(5000) },
      /^password must be at most 4096 characters\.$/,
    ],
  ]
  it.each(cases)('signup with %s', async (_, payload, message) => {
    const response = await server.app.inject({
      method: 'POST',
      url: '/auth/signup',
      payload: payload as object,
    })
    expect(response.statusCode).toBe(400)
    const body = response.json<{ error: string; message: string }>()
    expect(body.error).toBe('invalid_request')
    expect(body.message).toMatch(message)
    expect(body.message).not.toMatch(/body\/|anyOf|must NOT|schema/)
  })

  it.each([
    [
      'a path parameter past the router limit',
      `/auth/sessions/${'x'.repeat(2049)}`,
      'A path parameter is longer than 2048 characters.',
    ],
    [
      'a path that cannot be percent-decoded',
      '/auth/sessions/%E0%A4%A',
      'The URL path is not valid.',
    ],
  ])(
    "%s is 400 invalid_request in our shape over real HTTP, not the router's own",
    async (_, path, message) => {
      const session = await signup(server)
      const response = await fetch(`${await listening()}${path}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${session.accessToken}` },
      })
      expect(response.status).toBe(400)
      expect(response.headers.get('cache-control')).toBe('no-store')
      expect(response.headers.get('content-type')).toMatch(/^application\/json/)
      expect(await response.json()).toEqual({ error: 'invalid_request', message })
    },
  )

  it('a session id of exactly the router limit still reaches the schema', async () => {
    const session = await signup(server)
    const response = await server.app.inject({
      method: 'DELETE',
      url: `/auth/sessions/${'x'.repeat(2048)}`,
      headers: { authorization: `Bearer ${session.accessToken}` },
    })
    expect(response.statusCode).toBe(400)
    expect(response.json()).toEqual({
      error: 'invalid_request',
      message: 'id must be at most 128 characters.',
    })
  })

  it('a session id past its length is invalid_request naming the id, in our error shape', async () => {
    const session = await signup(server)
    const response = await server.app.inject({
      method: 'DELETE',
      url: `/auth/sessions/${'x'.repeat(300)}`,
      headers: { authorization: `Bearer ${session.accessToken}` },
    })
    expect(response.statusCode).toBe(400)
    expect(response.json()).toEqual({
      error: 'invalid_request',
      message: 'id must be at most 128 characters.',
    })
  })
})
