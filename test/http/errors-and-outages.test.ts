import { afterEach, describe, expect, it } from 'vitest'
import { FaultSwitch } from '../helpers/faulty-store.js'
import { captureLogs } from '../helpers/logs.js'
import {
  createTestServer,
  me,
  refresh,
  signup,
  strongPassword,
  type TestServer,
  type TokenBody,
} from '../helpers/server.js'
import { createTestStorage } from '../helpers/storage.js'

let server: TestServer
afterEach(async () => server?.close())

describe('malformed requests', () => {
  it('answers 413 payload_too_large above 16 KiB', async () => {
    server = await createTestServer()
    const response = await server.app.inject({
      method: 'POST',
      url: '/auth/login',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ email: 'a@example.com', password: 'x'.repeat(17 * 1024) }),
    })
    expect(response.statusCode).toBe(413)
    expect(response.json()).toMatchObject({ error: 'payload_too_large' })
  })

  it('answers 400 invalid_request for malformed JSON', async () => {
    server = await createTestServer()
    for (const payload of ['{"email":', '{email: 1}', 'null x', '\u0000']) {
      const response = await server.app.inject({
        method: 'POST',
        url: '/auth/signup',
        headers: { 'content-type': 'application/json' },
        payload,
      })
      expect(response.statusCode).toBe(400)
      expect(response.json()).toMatchObject({ error: 'invalid_request' })
    }
  })

  it('refuses prototype-poisoning keys with 400', async () => {
    server = await createTestServer()
    const response = await server.app.inject({
      method: 'POST',
      url: '/auth/signup',
      headers: { 'content-type': 'application/json' },
      payload:
        '{"email":"a@example.com","password":"correct horse battery","__proto__":{"admin":true}}',
    })
    expect(response.statusCode).toBe(400)
  })

  it('answers 400 for a body that is not JSON', async () => {
    server = await createTestServer()
    const response = await server.app.inject({
      method: 'POST',
      url: '/auth/login',
      headers: { 'content-type': 'text/plain' },
      payload: 'email=a@example.com',
    })
    expect(response.statusCode).toBe(400)
    expect(response.json()).toMatchObject({ error: 'invalid_request' })
  })

  it('answers 404 not_found for an unknown route', async () => {
    server = await createTestServer()
    const response = await server.app.inject({ method: 'GET', url: '/auth/nothing?token=secret' })
    expect(response.statusCode).toBe(404)
    expect(response.json()).toMatchObject({ error: 'not_found' })
    expect(response.body).not.toContain('secret')
  })

  it('never answers 500 to anything a client sends', async () => {
    server = await createTestServer()
    const tokens = await signup(server)
    const bodies: unknown[] = [
      undefined,
      '',
      '[]',
      '"string"',
      '123',
      'true',
      '{}',
      '{"refreshToken":null}',
      '{"refreshToken":123}',
      '{"refreshToken":""}',
      `{"refreshToken":"${tokens.accessToken}"}`,
      '{"refreshToken":"a.b.c"}',
      '{"email":"","password":""}',
      '{"email":"a@b.c","password":"' + 'é'.repeat(300) + '"}',
      '{"email":{"$gt":""},"password":"x"}',
      JSON.stringify({ email: 'x@example.com', password: strongPassword, extra: 'field' }),
    ]
    const headerSets: Record<string, string>[] = [
      {},
      { 'content-type': 'application/json' },
      { 'content-type': 'application/json; charset=utf-8', authorization: 'Bearer' },
      { 'content-type': 'application/json', authorization: `Bearer ${tokens.refreshToken}` },
      { 'content-type': 'application/json', authorization: 'Basic dXNlcjpwYXNz' },
      {
        'content-type': 'application/json',
        cookie: '__Secure-baton_rt=garbage',
        origin: 'http://127.0.0.1:3000',
      },
      { 'content-type': 'application/json', 'baton-token-delivery': 'smoke-signals' },
      { 'content-type': 'application/json', origin: 'null' },
    ]
    const routes = [
      ['POST', '/auth/signup'],
      ['POST', '/auth/login'],
      ['POST', '/auth/refresh'],
      ['POST', '/auth/logout'],
      ['POST', '/auth/logout-all'],
      ['GET', '/auth/me'],
      ['GET', '/auth/sessions'],
      ['DELETE', '/auth/sessions/%2e%2e%2f'],
    ] as const
    for (const [method, url] of routes) {
      for (const headers of headerSets) {
        for (const payload of method === 'GET' ? [undefined] : bodies) {
          const response = await server.app.inject({
            method,
            url,
            headers,
            payload: payload as string | undefined,
          })
          expect(
            response.statusCode,
            `${method} ${url} ${JSON.stringify(headers)} ${String(payload)}`,
          ).toBeLessThan(500)
          if (response.statusCode >= 400)
            expect(response.json(), `${method} ${url}`).toHaveProperty('error')
        }
      }
    }
  }, 120_000)
})

describe('store outages answer 503 store_unavailable, never 500 or 401', () => {
  it('on every endpoint that needs the session store, and recovers without a restart', async () => {
    const faults = new FaultSwitch()
    server = await createTestServer({ wrapSessions: (store) => faults.wrap(store) })
    const tokens = await signup(server)
    faults.down = true
    const refreshed = await refresh(server, tokens.refreshToken)
    expect(refreshed.statusCode).toBe(503)
    expect(refreshed.json()).toMatchObject({ error: 'store_unavailable' })
    expect(refreshed.headers['retry-after']).toBe('1')
    // The bearer route's deny-list check fails closed with 503, not 401.
    const meResponse = await me(server, tokens.accessToken)
    expect(meResponse.statusCode).toBe(503)
    expect(meResponse.headers['www-authenticate']).toBeUndefined()
    const login = await server.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: tokens.user.email, password: strongPassword },
    })
    expect(login.statusCode).toBe(503)
    expect((await server.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503)
    expect((await server.app.inject({ method: 'GET', url: '/readyz' })).json()).toMatchObject({
      error: 'store_unavailable',
    })
    expect((await server.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200)

    faults.down = false
    expect((await server.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200)
    // The session that existed before the outage still refreshes.
    const after = await refresh(server, tokens.refreshToken)
    expect(after.statusCode).toBe(200)
    expect((await me(server, after.json<TokenBody>().accessToken)).statusCode).toBe(200)
  })

  it('on the database store too', async () => {
    const faults = new FaultSwitch()
    server = await createTestServer({ wrapDatabase: (store) => faults.wrap(store) })
    const tokens = await signup(server)
    faults.down = true
    expect((await me(server, tokens.accessToken)).statusCode).toBe(503)
    const signupResponse = await server.app.inject({
      method: 'POST',
      url: '/auth/signup',
      payload: { email: 'outage@example.com', password: strongPassword },
    })
    expect(signupResponse.statusCode).toBe(503)
    faults.down = false
    expect((await me(server, tokens.accessToken)).statusCode).toBe(200)
  })

  it('a failure at the compare-and-swap leaves the session as it was', async () => {
    const faults = new FaultSwitch()
    server = await createTestServer({ wrapSessions: (store) => faults.wrap(store) })
    const tokens = await signup(server)
    faults.failNext = 'rotate'
    expect((await refresh(server, tokens.refreshToken)).statusCode).toBe(503)
    // Nothing rotated: the same token is still current and rotates normally, once.
    const retry = await refresh(server, tokens.refreshToken)
    expect(retry.statusCode).toBe(200)
    expect((await refresh(server, retry.json<TokenBody>().refreshToken!)).statusCode).toBe(200)
  })
})

describe('unexpected failures', () => {
  it('become 500 server_error with no detail for the client, and the log keeps the error', async () => {
    const logs = captureLogs('info')
    let broken = false
    server = await createTestServer({
      logger: logs.logger,
      wrapDatabase: (database) =>
        new Proxy(database, {
          get(target, property, receiver) {
            if (broken && property === 'findUserById') {
              return () =>
                Promise.reject(new Error('secret internal detail: disk /dev/sda1 on fire'))
            }
            return Reflect.get(target, property, receiver) as unknown
          },
        }),
    })
    const tokens = await signup(server)
    broken = true
    const response = await me(server, tokens.accessToken)
    expect(response.statusCode).toBe(500)
    expect(response.json()).toEqual({ error: 'server_error', message: 'Internal server error.' })
    expect(response.body).not.toContain('secret internal detail')
    expect(logs.output()).toContain('secret internal detail')
  })
})

describe('operations endpoints', () => {
  it('serves the JWKS with public keys only and a 5-minute cache', async () => {
    server = await createTestServer()
    const response = await server.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
    expect(response.statusCode).toBe(200)
    expect(response.headers['cache-control']).toBe('public, max-age=300')
    const { keys } = response.json<{ keys: Record<string, unknown>[] }>()
    expect(keys).toHaveLength(1)
    expect(keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' })
    for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi'])
      expect(keys[0]).not.toHaveProperty(secret)
  })

  it('keeps the key ring across restarts so tokens stay valid', async () => {
    const storage = createTestStorage()
    try {
      const first = await createTestServer({ storage })
      const tokens = await signup(first)
      await first.close()
      server = await createTestServer({ storage })
      expect((await me(server, tokens.accessToken)).statusCode).toBe(200)
      expect((await refresh(server, tokens.refreshToken)).statusCode).toBe(200)
      // Closed before its data goes; closing again after the test does nothing.
      await server.close()
    } finally {
      await storage.drop()
    }
  })

  it('exposes Prometheus metrics for logins, refreshes by outcome, revocations and latency', async () => {
    server = await createTestServer()
    const tokens = await signup(server)
    await refresh(server, tokens.refreshToken)
    await refresh(server, tokens.refreshToken) // grace replay
    server.clock.advance(11)
    await refresh(server, tokens.refreshToken) // reuse
    await server.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: tokens.user.email, password: 'wrong password!' },
    })
    const response = await server.app.inject({ method: 'GET', url: '/metrics' })
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toMatch(/^text\/plain/)
    const text = response.body
    expect(text).toMatch(/baton_logins_total{outcome="signup"} 1/)
    expect(text).toMatch(/baton_logins_total{outcome="invalid_credentials"} 1/)
    expect(text).toMatch(/baton_refreshes_total{outcome="rotated"} 1/)
    expect(text).toMatch(/baton_refreshes_total{outcome="grace_replay"} 1/)
    expect(text).toMatch(/baton_refreshes_total{outcome="reused"} 1/)
    expect(text).toMatch(/baton_session_revocations_total{reason="refresh_token_reused"} 1/)
    expect(text).toMatch(
      /baton_http_request_duration_seconds_bucket{le="[\d.]+",method="POST",route="\/auth\/refresh",status_code="200"}/,
    )
    // Cumulative buckets ending in +Inf, with _sum and _count, as Prometheus expects. Two 200s:
    // the rotation and the grace replay (the reuse answered 401).
    const series = 'method="POST",route="/auth/refresh",status_code="200"'
    expect(text).toContain(`baton_http_request_duration_seconds_bucket{le="+Inf",${series}} 2`)
    expect(text).toContain(`baton_http_request_duration_seconds_count{${series}} 2`)
    expect(text).toContain(`baton_http_request_duration_seconds_sum{${series}} `)
    expect(text).toContain(
      'baton_http_request_duration_seconds_count{method="POST",route="/auth/refresh",status_code="401"} 1',
    )
  })
})
