import { afterEach, expect, it } from 'vitest'
import type { StoredSecurityEvent } from '../../packages/server/src/core/ports.js'
import {
  createTestServer,
  signup,
  strongPassword,
  uniqueEmail,
  type TestServer,
  type TokenBody,
} from '../helpers/server.js'

// The audit log through HTTP: what each route records, with user, session, IP, user agent and
// time; the retention that deletes old events; the cap on live sessions.

let server: TestServer
afterEach(async () => server?.close())

const userAgent = 'audit-test/1.0'
const headers = { 'user-agent': userAgent }

async function eventsOf(userId: string): Promise<StoredSecurityEvent[]> {
  return (await server.database.listEvents({ userId, limit: 200 })).items
}

async function login(email: string, password = strongPassword) {
  return server.app.inject({
    method: 'POST',
    url: '/auth/login',
    headers,
    payload: { email, password },
  })
}

it('records sign-in, failures, the rate limit once, sign-outs, revocations and reuse, with who and where', async () => {
  server = await createTestServer({ env: { BATON_LOGIN_MAX_FAILURES: '2' } })
  const email = uniqueEmail()
  const signedUp = await server.app.inject({
    method: 'POST',
    url: '/auth/signup',
    headers,
    payload: { email, password: strongPassword },
  })
  const first = signedUp.json<TokenBody & { refreshToken: string }>()
  const userId = first.user.id
  const second = (await login(email)).json<TokenBody & { refreshToken: string }>()
  for (let i = 0; i < 4; i++) await login(email, 'a wrong password')
  server.clock.advance(15 * 60 + 1)
  const third = (await login(email)).json<TokenBody & { refreshToken: string }>()

  // Sign out one session with its refresh token, delete another from a third, reuse, sign out everywhere.
  await server.app.inject({
    method: 'POST',
    url: '/auth/logout',
    headers,
    payload: { refreshToken: second.refreshToken },
  })
  const fourth = (await login(email)).json<TokenBody & { refreshToken: string }>()
  await server.app.inject({
    method: 'DELETE',
    url: `/auth/sessions/${third.sessionId}`,
    headers: { ...headers, authorization: `Bearer ${fourth.accessToken}` },
  })
  const rotated = await server.app.inject({
    method: 'POST',
    url: '/auth/refresh',
    headers,
    payload: { refreshToken: first.refreshToken },
  })
  expect(rotated.statusCode).toBe(200)
  server.clock.advance(60)
  await server.app.inject({
    method: 'POST',
    url: '/auth/refresh',
    headers,
    payload: { refreshToken: first.refreshToken },
  })
  await server.app.inject({
    method: 'POST',
    url: '/auth/logout-all',
    headers: { ...headers, authorization: `Bearer ${fourth.accessToken}` },
  })

  const events = (await eventsOf(userId)).reverse()
  expect(events.map((event) => event.type)).toEqual([
    'signup',
    'login',
    'login_failed',
    'login_failed',
    'login_rate_limited',
    'login',
    'logout',
    'login',
    'session_revoked',
    'refresh_token_reused',
    'logout_everywhere',
  ])
  for (const event of events) {
    expect(event).toMatchObject({ userId, ip: '127.0.0.1', userAgent, actor: null })
    expect(event.at).toBeGreaterThan(0)
  }
  const byType = (type: string) => events.filter((event) => event.type === type)
  expect(byType('logout')[0]?.sessionId).toBe(second.sessionId)
  expect(byType('session_revoked')[0]?.sessionId).toBe(third.sessionId)
  expect(byType('logout_everywhere')[0]).toMatchObject({
    sessionId: fourth.sessionId,
    detail: '1 sessions',
  })
  expect(byType('login_rate_limited')[0]?.detail).toBe(email)
})

it('deletes events older than BATON_AUDIT_RETENTION and keeps the rest', async () => {
  server = await createTestServer({ env: { BATON_AUDIT_RETENTION: '1d' } })
  const user = await signup(server)
  const old = {
    type: 'login',
    at: server.clock.now() - 2 * 86_400_000,
    userId: user.user.id,
    sessionId: null,
    ip: null,
    userAgent: null,
    actor: null,
    detail: 'old',
  }
  for (let i = 0; i < 3; i++) await server.database.record(old)
  expect(await eventsOf(user.user.id)).toHaveLength(4)
  await server.baton.purgeAudit()
  const left = await eventsOf(user.user.id)
  expect(left.map((event) => event.type)).toEqual(['signup'])
})

it('caps live sessions with BATON_MAX_SESSIONS_PER_USER: the oldest end, audited', async () => {
  server = await createTestServer({ env: { BATON_MAX_SESSIONS_PER_USER: '2' } })
  const email = uniqueEmail()
  const first = await signup(server, email)
  server.clock.advance(1)
  const second = (await login(email)).json<TokenBody>()
  server.clock.advance(1)
  const third = (await login(email)).json<TokenBody>()
  const me = (token: string) =>
    server.app.inject({
      method: 'GET',
      url: '/auth/me',
      headers: { authorization: `Bearer ${token}` },
    })
  expect((await me(first.accessToken)).json()).toMatchObject({ error: 'session_revoked' })
  expect((await me(second.accessToken)).statusCode).toBe(200)
  expect((await me(third.accessToken)).statusCode).toBe(200)
  const limited = (await eventsOf(first.user.id)).filter((event) => event.type === 'session_limit')
  expect(limited).toEqual([
    expect.objectContaining({ sessionId: first.sessionId, detail: 'over 2 sessions' }),
  ])
})

it('keeps exactly the newest sessions when sign-ins over the cap run at once', async () => {
  // Each sign-in lists the user's sessions only once all four have been stored: the race at
  // its widest, where every one of them sees the other three.
  let holding = false
  let stored = 0
  let allStored: () => void = () => {}
  const barrier = new Promise<void>((resolve) => (allStored = resolve))
  server = await createTestServer({
    env: { BATON_MAX_SESSIONS_PER_USER: '1' },
    wrapSessions: (store) =>
      new Proxy(store, {
        get(target, property, receiver) {
          const value: unknown = Reflect.get(target, property, receiver)
          if (typeof value !== 'function') return value
          const method = value as (...args: unknown[]) => Promise<unknown>
          if (property === 'create') {
            return async (...args: unknown[]) => {
              await method.apply(target, args)
              if (holding && ++stored === 4) allStored()
            }
          }
          if (property === 'listForUser') {
            return async (...args: unknown[]) => {
              if (holding) await barrier
              return method.apply(target, args)
            }
          }
          return method.bind(target)
        },
      }),
  })
  const email = uniqueEmail()
  const first = await signup(server, email)
  server.clock.advance(1)
  holding = true
  const logins = await Promise.all(
    [1, 2, 3, 4].map(async () => (await login(email)).json<TokenBody>()),
  )
  const me = async (token: string) =>
    (
      await server.app.inject({
        method: 'GET',
        url: '/auth/me',
        headers: { authorization: `Bearer ${token}` },
      })
    ).statusCode
  const live = await server.sessions.listForUser(first.user.id, server.clock.now())
  expect(live).toHaveLength(1)
  const statuses = await Promise.all(logins.map((tokens) => me(tokens.accessToken)))
  expect(statuses.filter((status) => status === 200)).toHaveLength(1)
  expect(logins[statuses.indexOf(200)]?.sessionId).toBe(live[0]?.id)
  expect(await me(first.accessToken)).toBe(401)
})
