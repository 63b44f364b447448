import type { LightMyRequestResponse } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { createArgon2Hasher } from '../../packages/server/src/passwords/argon2-hasher.js'
import type { PasswordHasher } from '../../packages/server/src/core/ports.js'
import { FaultSwitch } from '../helpers/faulty-store.js'
import {
  createTestServer,
  signup,
  strongPassword,
  type TestServer,
  type TestServerOptions,
} from '../helpers/server.js'

/** The wire details of `/oauth/*` that a client library hides: error shapes, headers, parsing. */

let server: TestServer
afterEach(async () => server?.close())

const secret = 'backend+secret%2F:with:colons'
const form = { 'content-type': 'application/x-www-form-urlencoded' }
const env = {
  BATON_OAUTH_CLIENTS: `web,backend:${secret}`,
  BATON_SCOPES: 'read',
}

async function start(options: TestServerOptions = {}): Promise<TestServer> {
  server = await createTestServer({ ...options, env: { ...env, ...options.env } })
  return server
}

function post(
  url: string,
  payload: string | Record<string, string>,
  headers: Record<string, string> = form,
): Promise<LightMyRequestResponse> {
  return server.app.inject({
    method: 'POST',
    url,
    headers,
    payload: typeof payload === 'string' ? payload : new URLSearchParams(payload).toString(),
  })
}

const basic = (id: string, password: string): string =>
  `Basic ${Buffer.from(`${id}:${password}`).toString('base64')}`
/** RFC 6749 §2.3.1: each part form-urlencoded before base64. */
const formEncoded = (text: string): string => new URLSearchParams({ x: text }).toString().slice(2)

/** RFC 6749 §5.2 shape, no-store headers, and an `error_description` in the allowed characters. */
function expectOAuthError(response: LightMyRequestResponse, status: number, error: string): void {
  expect(response.statusCode, response.body).toBe(status)
  expect(response.headers['cache-control']).toBe('no-store')
  expect(response.headers['pragma']).toBe('no-cache')
  const body = response.json<Record<string, unknown>>()
  expect(Object.keys(body).sort()).toEqual(['error', 'error_description'])
  expect(body.error).toBe(error)
  expect(body.error_description).toMatch(/^[\x20-\x21\x23-\x5B\x5D-\x7E]+$/)
}

describe('/oauth/token request parsing', () => {
  it('refuses a repeated parameter, naming it', async () => {
    await start()
    const { user } = await signup(server)
    for (const body of [
      `grant_type=password&grant_type=password&username=${user.email}&password=x&client_id=web`,
      `grant_type=password&username=${user.email}&password=x&client_id=web&client_id=web`,
      `grant_type=refresh_token&refresh_token=a&refresh_token=b&client_id=web`,
      `grant_type=password&username=a&password=x&client_id=web&scope=read&scope=read`,
    ]) {
      const response = await post('/oauth/token', body)
      expectOAuthError(response, 400, 'invalid_request')
      expect(response.json<{ error_description: string }>().error_description).toMatch(
        /is repeated/,
      )
    }
  })

  it('treats an empty parameter as absent, so an empty repeat is no repeat', async () => {
    await start()
    const { user } = await signup(server)
    const response = await post(
      '/oauth/token',
      `grant_type=password&username=${encodeURIComponent(user.email)}&password=${encodeURIComponent(strongPassword)}&client_id=web&scope=&scope=read`,
    )
    expect(response.statusCode, response.body).toBe(200)
    expect(response.json()).toMatchObject({ scope: 'read' })
    expectOAuthError(
      await post('/oauth/token', { grant_type: '', client_id: 'web' }),
      400,
      'invalid_request',
    )
  })

  it('answers unsupported_grant_type and invalid_request for missing parameters', async () => {
    await start()
    expectOAuthError(
      await post('/oauth/token', { grant_type: 'client_credentials', client_id: 'web' }),
      400,
      'unsupported_grant_type',
    )
    expectOAuthError(await post('/oauth/token', { client_id: 'web' }), 400, 'invalid_request')
    expectOAuthError(
      await post('/oauth/token', { grant_type: 'password', username: 'a@b.c', client_id: 'web' }),
      400,
      'invalid_request',
    )
    expectOAuthError(
      await post('/oauth/token', { grant_type: 'refresh_token', client_id: 'web' }),
      400,
      'invalid_request',
    )
  })

  it('refuses any body that is not a form with 400 invalid_request, and over 16 KiB with 413', async () => {
    await start()
    const json = await post(
      '/oauth/token',
      JSON.stringify({ grant_type: 'password', client_id: 'web' }),
      { 'content-type': 'application/json' },
    )
    expectOAuthError(json, 400, 'invalid_request')
    expect(json.json()).toMatchObject({
      error_description: 'Content-Type must be application/x-www-form-urlencoded.',
    })
    expectOAuthError(
      await post('/oauth/token', 'grant_type=password', { 'content-type': 'text/plain' }),
      400,
      'invalid_request',
    )
    expectOAuthError(await post('/oauth/token', 'grant_type=password', {}), 400, 'invalid_request')
    expectOAuthError(
      await post('/oauth/token', `grant_type=password&x=${'a'.repeat(17 * 1024)}`),
      413,
      'invalid_request',
    )
    // A charset parameter is fine.
    expectOAuthError(
      await post('/oauth/token', 'grant_type=nope&client_id=web', {
        'content-type': 'application/x-www-form-urlencoded; charset=UTF-8',
      }),
      400,
      'unsupported_grant_type',
    )
  })

  it('puts no-store and no-cache on a successful token response', async () => {
    await start()
    const { user } = await signup(server)
    const response = await post('/oauth/token', {
      grant_type: 'password',
      username: user.email,
      password: strongPassword,
      client_id: 'web',
    })
    expect(response.statusCode).toBe(200)
    expect(response.headers['cache-control']).toBe('no-store')
    expect(response.headers['pragma']).toBe('no-cache')
    expect(Object.keys(response.json<object>()).sort()).toEqual([
      'access_token',
      'expires_in',
      'refresh_token',
      'scope',
      'token_type',
    ])
  })
})

describe('/oauth/token client authentication', () => {
  async function passwordGrant(
    extra: Record<string, string>,
    headers: Record<string, string> = {},
  ): Promise<LightMyRequestResponse> {
    const { user } = await signup(server)
    return post(
      '/oauth/token',
      { grant_type: 'password', username: user.email, password: strongPassword, ...extra },
      { ...form, ...headers },
    )
  }

  it('decodes Basic credentials as RFC 6749 §2.3.1 says: form-urlencoded, then base64', async () => {
    await start()
    const encoded = await passwordGrant(
      {},
      { authorization: basic('backend', formEncoded(secret)) },
    )
    expect(encoded.statusCode, encoded.body).toBe(200)
    // The raw secret decodes to something else ('+' is a space): refused.
    const raw = await passwordGrant({}, { authorization: basic('backend', secret) })
    expectOAuthError(raw, 401, 'invalid_client')
    expect(raw.headers['www-authenticate']).toBe('Basic realm="baton"')
    // client_secret_post takes the secret as the form carries it.
    expect((await passwordGrant({ client_id: 'backend', client_secret: secret })).statusCode).toBe(
      200,
    )
  })

  it('refuses two authentication methods at once, and a client_id that contradicts Basic', async () => {
    await start()
    const authorization = basic('backend', formEncoded(secret))
    expectOAuthError(
      await passwordGrant({ client_id: 'backend', client_secret: secret }, { authorization }),
      400,
      'invalid_request',
    )
    expectOAuthError(
      await passwordGrant({ client_id: 'web' }, { authorization }),
      400,
      'invalid_request',
    )
    // The same client_id alongside Basic is fine (RFC 6749 §3.2.1 allows it).
    expect((await passwordGrant({ client_id: 'backend' }, { authorization })).statusCode).toBe(200)
  })

  it('answers invalid_client, with a Basic challenge only when the header was used', async () => {
    await start()
    for (const authorization of ['Basic !!!', 'Basic Zm9v', 'Bearer abc']) {
      const response = await passwordGrant({}, { authorization })
      expectOAuthError(response, 401, 'invalid_client')
      expect(response.headers['www-authenticate']).toBe('Basic realm="baton"')
    }
    const cases: [Record<string, string>, number][] = [
      [{}, 401],
      [{ client_id: 'nobody' }, 401],
      [{ client_secret: 'a secret without its client' }, 400],
    ]
    for (const [extra, status] of cases) {
      const response = await passwordGrant(extra)
      expect(response.statusCode).toBe(status)
      expect(response.headers['www-authenticate']).toBeUndefined()
    }
  })
})

describe('/oauth/token and the login machinery', () => {
  it('rate-limits the password grant with the same per-account counter as /auth/login', async () => {
    await start({ env: { BATON_LOGIN_MAX_FAILURES: '3' } })
    const { user } = await signup(server)
    const attempt = () =>
      post('/oauth/token', {
        grant_type: 'password',
        username: user.email,
        password: 'wrong password',
        client_id: 'web',
      })
    for (let i = 0; i < 2; i++) expectOAuthError(await attempt(), 400, 'invalid_grant')
    const login = await server.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: user.email, password: 'wrong password' },
    })
    expect(login.json()).toMatchObject({ error: 'invalid_credentials' })
    const limited = await attempt()
    expectOAuthError(limited, 429, 'rate_limited')
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0)
  })

  it('spends one password verification on an unknown username, as on a wrong password', async () => {
    const argon2 = createArgon2Hasher()
    let verifications = 0
    const hasher: PasswordHasher = {
      hash: (password) => argon2.hash(password),
      verify: (hash, password) => {
        verifications++
        return argon2.verify(hash, password)
      },
    }
    await start({ hasher })
    const { user } = await signup(server)
    for (const username of [user.email, `nobody-${user.email}`, 'not an email']) {
      verifications = 0
      expectOAuthError(
        await post('/oauth/token', {
          grant_type: 'password',
          username,
          password: 'wrong password',
          client_id: 'web',
        }),
        400,
        'invalid_grant',
      )
      expect(verifications, username).toBe(1)
    }
  })

  it('feeds the login and refresh metrics', async () => {
    await start()
    const { user } = await signup(server)
    const count = async (name: string, outcome: string): Promise<number> => {
      const text = (await server.app.inject({ method: 'GET', url: '/metrics' })).body
      const match = new RegExp(`^${name}\\{outcome="${outcome}"\\} (\\d+)`, 'm').exec(text)
      return Number(match?.[1] ?? 0)
    }
    const before = {
      success: await count('baton_logins_total', 'success'),
      failed: await count('baton_logins_total', 'invalid_credentials'),
      rotated: await count('baton_refreshes_total', 'rotated'),
      invalid: await count('baton_refreshes_total', 'invalid'),
    }
    const grant = await post('/oauth/token', {
      grant_type: 'password',
      username: user.email,
      password: strongPassword,
      client_id: 'web',
    })
    await post('/oauth/token', {
      grant_type: 'password',
      username: user.email,
      password: 'wrong password',
      client_id: 'web',
    })
    const { refresh_token } = grant.json<{ refresh_token: string }>()
    await post('/oauth/token', { grant_type: 'refresh_token', refresh_token, client_id: 'web' })
    await post('/oauth/token', {
      grant_type: 'refresh_token',
      refresh_token: 'garbage',
      client_id: 'web',
    })
    expect(await count('baton_logins_total', 'success')).toBe(before.success + 1)
    expect(await count('baton_logins_total', 'invalid_credentials')).toBe(before.failed + 1)
    expect(await count('baton_refreshes_total', 'rotated')).toBe(before.rotated + 1)
    expect(await count('baton_refreshes_total', 'invalid')).toBe(before.invalid + 1)
  })

  it('answers 503 store_unavailable when the session store is down, and refreshes after', async () => {
    const faults = new FaultSwitch()
    await start({ wrapSessions: (sessions) => faults.wrap(sessions) })
    const { user } = await signup(server)
    const grant = await post('/oauth/token', {
      grant_type: 'password',
      username: user.email,
      password: strongPassword,
      client_id: 'web',
    })
    const { refresh_token } = grant.json<{ refresh_token: string }>()
    faults.down = true
    const down = await post('/oauth/token', {
      grant_type: 'refresh_token',
      refresh_token,
      client_id: 'web',
    })
    expectOAuthError(down, 503, 'store_unavailable')
    expect(down.headers['retry-after']).toBe('1')
    faults.down = false
    const up = await post('/oauth/token', {
      grant_type: 'refresh_token',
      refresh_token,
      client_id: 'web',
    })
    expect(up.statusCode).toBe(200)
  })
})

describe('/oauth/revoke and /oauth/introspect requests', () => {
  it('needs a token to revoke', async () => {
    await start()
    expectOAuthError(await post('/oauth/revoke', { client_id: 'web' }), 400, 'invalid_request')
    const ok = await post('/oauth/revoke', { token: 'whatever', client_id: 'web' })
    expect(ok.statusCode).toBe(200)
    expect(ok.body).toBe('')
    expect(ok.headers['cache-control']).toBe('no-store')
  })

  it('answers 401 with a Basic challenge when no introspection credential is configured', async () => {
    await start()
    const { accessToken } = await signup(server)
    for (const headers of [form, { ...form, authorization: basic('any', 'thing at all here') }]) {
      const response = await post('/oauth/introspect', { token: accessToken }, headers)
      expectOAuthError(response, 401, 'invalid_client')
      expect(response.headers['www-authenticate']).toBe('Basic realm="baton"')
    }
  })

  it('needs a token to introspect once authenticated', async () => {
    await start({ env: { BATON_INTROSPECTION_CREDENTIALS: 'rs:0123456789abcdef' } })
    const authorization = basic('rs', '0123456789abcdef')
    expectOAuthError(
      await post('/oauth/introspect', {}, { ...form, authorization }),
      400,
      'invalid_request',
    )
    expectOAuthError(
      await post('/oauth/introspect', { token: 'x' }, { ...form, authorization: basic('rs', 'x') }),
      401,
      'invalid_client',
    )
  })
})
