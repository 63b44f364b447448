import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../packages/server/src/core/config/config.js'
import { ConfigError } from '../../packages/server/src/core/errors.js'
import { forbiddenTokenHeaders } from '@baton-auth/verify/shared'
import { createTestServer, refresh, signup, type TestServer } from '../helpers/server.js'

// Seed 001's names: access tokens in X-AUTH-TOKEN (the bare token), the refresh cookie
// X-REFRESH_TOKEN.

let server: TestServer
afterEach(async () => server?.close())

const seed001 = { BATON_ACCESS_TOKEN_HEADER: 'X-AUTH-TOKEN', BATON_COOKIE_NAME: 'X-REFRESH_TOKEN' }
const ownOrigin = 'http://127.0.0.1:3000'

describe('BATON_ACCESS_TOKEN_HEADER', () => {
  it('reads the bare access token from the configured header on every bearer route', async () => {
    server = await createTestServer({ env: seed001 })
    const tokens = await signup(server)
    const headers = { 'x-auth-token': tokens.accessToken }
    const me = await server.app.inject({ method: 'GET', url: '/auth/me', headers })
    expect(me.statusCode).toBe(200)
    expect(me.json()).toMatchObject({ id: tokens.user.id })
    const sessions = await server.app.inject({ method: 'GET', url: '/auth/sessions', headers })
    expect(sessions.statusCode).toBe(200)
    const logoutAll = await server.app.inject({ method: 'POST', url: '/auth/logout-all', headers })
    expect(logoutAll.statusCode).toBe(204)
    expect((await refresh(server, tokens.refreshToken)).json()).toMatchObject({
      error: 'session_revoked',
    })
  })

  it('no longer reads Authorization, and its 401 names the header to use', async () => {
    server = await createTestServer({ env: seed001 })
    const tokens = await signup(server)
    const response = await server.app.inject({
      method: 'GET',
      url: '/auth/me',
      headers: { authorization: `Bearer ${tokens.accessToken}` },
    })
    expect(response.statusCode).toBe(401)
    expect(response.json()).toEqual({
      error: 'invalid_token',
      message: 'An access token is required (x-auth-token: <token>).',
    })
    const prefixed = await server.app.inject({
      method: 'GET',
      url: '/auth/me',
      headers: { 'x-auth-token': `Bearer ${tokens.accessToken}` },
    })
    expect(prefixed.statusCode).toBe(401)
    expect(prefixed.json()).toMatchObject({ error: 'invalid_token' })
  })

  it('takes the access token of a refresh from that header too (the two-token table)', async () => {
    server = await createTestServer({
      env: {
        ...seed001,
        BATON_ACCESS_TOKEN_TTL: '10s',
        BATON_REFRESH_TOKEN_TTL: '2s',
        BATON_OAUTH_CLIENTS: 'none',
      },
    })
    const tokens = await signup(server)
    server.clock.advance(3)
    const response = await server.app.inject({
      method: 'POST',
      url: '/auth/refresh',
      payload: { refreshToken: tokens.refreshToken },
      headers: { 'x-auth-token': tokens.accessToken },
    })
    expect(response.statusCode).toBe(200)
  })

  it('sets the refresh cookie under seed 001 name and lets an allowed origin send the header', async () => {
    server = await createTestServer({
      env: { ...seed001, BATON_ALLOWED_ORIGINS: 'https://app.example.com' },
    })
    const login = await server.app.inject({
      method: 'POST',
      url: '/auth/signup',
      headers: { origin: ownOrigin },
      payload: { email: `seed${Date.now()}@example.com`, password: 'correct horse battery staple' },
    })
    expect(login.statusCode).toBe(201)
    expect(String(login.headers['set-cookie'])).toMatch(/^X-REFRESH_TOKEN=/)
    const preflight = await server.app.inject({
      method: 'OPTIONS',
      url: '/auth/me',
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'x-auth-token',
      },
    })
    expect(preflight.statusCode).toBe(204)
    expect(String(preflight.headers['access-control-allow-headers'])).toContain('x-auth-token')
  })

  it('documents the header in the OpenAPI document', async () => {
    server = await createTestServer({ env: seed001 })
    const document = (await server.app.inject({ method: 'GET', url: '/openapi.json' })).json<{
      components: { securitySchemes: Record<string, unknown> }
    }>()
    expect(document.components.securitySchemes['bearer']).toMatchObject({
      type: 'apiKey',
      in: 'header',
      name: 'x-auth-token',
    })
  })

  it.each(['X AUTH', 'Cookie', 'x-auth:'])(
    'refuses %j as a header name, naming the setting',
    (name) => {
      expect(() => loadConfig({ BATON_ACCESS_TOKEN_HEADER: name })).toThrow(ConfigError)
      expect(() => loadConfig({ BATON_ACCESS_TOKEN_HEADER: name })).toThrow(
        /BATON_ACCESS_TOKEN_HEADER/,
      )
    },
  )

  it.each([
    'Origin',
    'Set-Cookie',
    'X-Forwarded-For',
    'Proxy-Authorization',
    'Content-Length',
    'Content-Type',
    'Transfer-Encoding',
    'Connection',
    'Baton-Token-Delivery',
    ' host ',
  ])('refuses %j, a header that already means something else', async (name) => {
    expect(forbiddenTokenHeaders).toContain(name.trim().toLowerCase())
    await expect(createTestServer({ env: { BATON_ACCESS_TOKEN_HEADER: name } })).rejects.toThrow(
      new RegExp(
        `^BATON_ACCESS_TOKEN_HEADER: the access token cannot travel in the ${name.trim()} header`,
      ),
    )
  })

  it('refuses every name of the shared list, in any case', () => {
    for (const name of forbiddenTokenHeaders) {
      expect(() => loadConfig({ BATON_ACCESS_TOKEN_HEADER: name.toUpperCase() }), name).toThrow(
        ConfigError,
      )
    }
    // A header of one's own, and the default, still pass.
    expect(loadConfig({ BATON_ACCESS_TOKEN_HEADER: 'X-Auth-Token' }).accessTokenHeader).toBe(
      'x-auth-token',
    )
    expect(loadConfig({}).accessTokenHeader).toBe('authorization')
  })
})
