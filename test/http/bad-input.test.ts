import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createTestServer,
  refresh,
  signup,
  type TestServer,
  type TokenBody,
} from '../helpers/server.js'

// A token that cannot be valid is a bad token (401 invalid_token), whatever is wrong with it and
// wherever it came; a malformed request names its field in plain words, never in the schema
// engine's own.

let server: TestServer
beforeAll(async () => {
  server = await createTestServer()
})
afterAll(async () => server?.close())

const ownOrigin = 'http://127.0.0.1:3000'

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

/** The session still works as it did: its refresh token rotates. */
async function expectUntouched(session: TokenBody & { refreshToken: string }): Promise<void> {
  const response = await refresh(server, session.refreshToken)
  expect(response.statusCode).toBe(200)
}

describe('bad tokens are 401 invalid_token', () => {
  it.each(impossibleTokens)('refresh token in the body: %s', async (_, token) => {
    const session = await signup(server)
    const response = await server.app.inject({
      method: 'POST',
      url: '/auth/refresh',
      payload: { refreshToken: token },
    })
    expect(response.statusCode).toBe(401)
    expect(response.json()).toEqual({ error: 'invalid_token', message: 'The token is invalid.' })
    await expectUntouched(session)
  })

  it.each(impossibleTokens.filter(([, token]) => typeof token === 'string' && token !== ''))(
    'refresh token in the cookie: %s',
    async (_, token) => {
      const session = await signup(server)
      const response = await server.app.inject({
        method: 'POST',
        url: '/auth/refresh',
        headers: { cookie: `__Secure-baton_rt=${String(token)}`, origin: ownOrigin },
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
      const session = await signup(server)
      const response = await server.app.inject({
        method: 'POST',
        url: '/auth/logout',
        payload: { refreshToken: token },
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
