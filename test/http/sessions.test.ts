import { afterEach, describe, expect, it } from 'vitest'
import {
  createTestServer,
  me,
  refresh,
  signup,
  strongPassword,
  type TestServer,
  type TokenBody,
} from '../helpers/server.js'

let server: TestServer
afterEach(async () => server?.close())

interface SessionView {
  id: string
  createdAt: string
  lastUsedAt: string
  expiresAt: string
  ip: string | null
  userAgent: string | null
  current: boolean
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

async function login(
  email: string,
  userAgent: string,
): Promise<TokenBody & { refreshToken: string }> {
  const response = await server.app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email, password: strongPassword },
    headers: { 'user-agent': userAgent },
  })
  expect(response.statusCode).toBe(200)
  return response.json()
}

async function listSessions(token: string): Promise<SessionView[]> {
  const response = await server.app.inject({
    method: 'GET',
    url: '/auth/sessions',
    headers: bearer(token),
  })
  expect(response.statusCode).toBe(200)
  expect(response.headers['cache-control']).toBe('no-store')
  return response.json<{ sessions: SessionView[] }>().sessions
}

describe('GET /auth/me', () => {
  it('answers the user', async () => {
    server = await createTestServer()
    const tokens = await signup(server)
    const response = await me(server, tokens.accessToken)
    expect(response.statusCode).toBe(200)
    const body = response.json<{ id: string; email: string; roles: string[]; createdAt: string }>()
    expect(body).toEqual({
      id: tokens.user.id,
      email: tokens.user.email,
      roles: ['user'],
      createdAt: new Date(server.clock.now()).toISOString(),
    })
  })

  it('answers 401 with a bare Bearer challenge when the token is missing', async () => {
    server = await createTestServer()
    const response = await server.app.inject({ method: 'GET', url: '/auth/me' })
    expect(response.statusCode).toBe(401)
    expect(response.headers['www-authenticate']).toBe('Bearer')
    expect(response.json()).toMatchObject({ error: 'invalid_token' })
  })

  it('answers 401 access_token_expired with an RFC 6750 challenge', async () => {
    server = await createTestServer()
    const tokens = await signup(server)
    server.clock.advance(901)
    const response = await me(server, tokens.accessToken)
    expect(response.statusCode).toBe(401)
    expect(response.json()).toMatchObject({ error: 'access_token_expired' })
    expect(response.headers['www-authenticate']).toMatch(
      /^Bearer error="invalid_token", error_description="[^"]+"$/,
    )
  })
})

describe('sessions', () => {
  it('lists the user’s live sessions with the current one marked', async () => {
    server = await createTestServer()
    const first = await signup(server)
    const laptop = await login(first.user.email, 'Laptop/1.0')
    const phone = await login(first.user.email, 'Phone/2.0')
    const sessions = await listSessions(phone.accessToken)
    expect(sessions.map((session) => session.id).sort()).toEqual(
      [first.sessionId, laptop.sessionId, phone.sessionId].sort(),
    )
    const current = sessions.filter((session) => session.current)
    expect(current.map((session) => session.id)).toEqual([phone.sessionId])
    const phoneView = sessions.find((session) => session.id === phone.sessionId)!
    expect(phoneView.userAgent).toBe('Phone/2.0')
    expect(phoneView.ip).toBe('127.0.0.1')
    for (const field of ['createdAt', 'lastUsedAt', 'expiresAt'] as const) {
      expect(new Date(phoneView[field]).toISOString()).toBe(phoneView[field])
    }
    // Another user sees none of them.
    const stranger = await signup(server)
    expect((await listSessions(stranger.accessToken)).map((session) => session.id)).toEqual([
      stranger.sessionId,
    ])
  })

  it('records the last use on rotation', async () => {
    server = await createTestServer()
    const tokens = await signup(server)
    server.clock.advance(120)
    const rotated = (await refresh(server, tokens.refreshToken)).json<TokenBody>()
    const [view] = await listSessions(rotated.accessToken)
    expect(Date.parse(view!.lastUsedAt) - Date.parse(view!.createdAt)).toBe(120_000)
  })

  it('signs one of my sessions out with DELETE /auth/sessions/:id', async () => {
    server = await createTestServer()
    const first = await signup(server)
    const second = await login(first.user.email, 'Other/1.0')
    const response = await server.app.inject({
      method: 'DELETE',
      url: `/auth/sessions/${first.sessionId}`,
      headers: bearer(second.accessToken),
    })
    expect(response.statusCode).toBe(204)
    expect((await refresh(server, first.refreshToken)).json()).toMatchObject({
      error: 'session_revoked',
    })
    expect((await me(server, first.accessToken)).json()).toMatchObject({ error: 'session_revoked' })
    expect((await me(server, second.accessToken)).statusCode).toBe(200)
    expect((await listSessions(second.accessToken)).map((session) => session.id)).toEqual([
      second.sessionId,
    ])
  })

  it('answers 404 for another user’s session and for an unknown id, changing nothing', async () => {
    server = await createTestServer()
    const alice = await signup(server)
    const mallory = await signup(server)
    for (const id of [alice.sessionId, 'no-such-session']) {
      const response = await server.app.inject({
        method: 'DELETE',
        url: `/auth/sessions/${id}`,
        headers: bearer(mallory.accessToken),
      })
      expect(response.statusCode).toBe(404)
      expect(response.json()).toMatchObject({ error: 'not_found' })
    }
    expect((await refresh(server, alice.refreshToken)).statusCode).toBe(200)
  })

  it('signs out everywhere with POST /auth/logout-all', async () => {
    server = await createTestServer()
    const first = await signup(server)
    const second = await login(first.user.email, 'Other/1.0')
    const bystander = await signup(server)
    const response = await server.app.inject({
      method: 'POST',
      url: '/auth/logout-all',
      headers: bearer(first.accessToken),
    })
    expect(response.statusCode).toBe(204)
    for (const tokens of [first, second]) {
      expect((await refresh(server, tokens.refreshToken)).json()).toMatchObject({
        error: 'session_revoked',
      })
      expect((await me(server, tokens.accessToken)).json()).toMatchObject({
        error: 'session_revoked',
      })
    }
    expect((await me(server, bystander.accessToken)).statusCode).toBe(200)
    expect((await refresh(server, bystander.refreshToken)).statusCode).toBe(200)
  })

  it('requires a bearer token on every account route', async () => {
    server = await createTestServer()
    for (const [method, url] of [
      ['POST', '/auth/logout-all'],
      ['GET', '/auth/sessions'],
      ['DELETE', '/auth/sessions/x'],
    ] as const) {
      const response = await server.app.inject({ method, url })
      expect(response.statusCode).toBe(401)
      expect(response.headers['www-authenticate']).toBe('Bearer')
    }
  })
})

describe('POST /auth/logout', () => {
  it('revokes the session of a body refresh token and answers 204', async () => {
    server = await createTestServer()
    const tokens = await signup(server)
    const response = await server.app.inject({
      method: 'POST',
      url: '/auth/logout',
      payload: { refreshToken: tokens.refreshToken },
    })
    expect(response.statusCode).toBe(204)
    expect((await me(server, tokens.accessToken)).json()).toMatchObject({
      error: 'session_revoked',
    })
  })

  it('revokes the session of a bearer token', async () => {
    server = await createTestServer()
    const tokens = await signup(server)
    const response = await server.app.inject({
      method: 'POST',
      url: '/auth/logout',
      headers: bearer(tokens.accessToken),
    })
    expect(response.statusCode).toBe(204)
    expect((await refresh(server, tokens.refreshToken)).json()).toMatchObject({
      error: 'session_revoked',
    })
  })

  it('never reveals whether the token was valid', async () => {
    server = await createTestServer()
    const tokens = await signup(server)
    const answers = []
    for (const payload of [
      { refreshToken: 'garbage' },
      { refreshToken: tokens.refreshToken },
      { refreshToken: tokens.refreshToken },
      {},
    ]) {
      const response = await server.app.inject({ method: 'POST', url: '/auth/logout', payload })
      answers.push([response.statusCode, response.body])
    }
    const bearerGarbage = await server.app.inject({
      method: 'POST',
      url: '/auth/logout',
      headers: bearer('x.y.z'),
    })
    answers.push([bearerGarbage.statusCode, bearerGarbage.body])
    expect(new Set(answers.map((answer) => JSON.stringify(answer))).size).toBe(1)
    expect(answers[0]).toEqual([204, ''])
  })
})
