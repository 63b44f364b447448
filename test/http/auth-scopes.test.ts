import { afterEach, describe, expect, it } from 'vitest'
import {
  createTestServer,
  decodeJWT,
  strongPassword,
  uniqueEmail,
  type TestServer,
  type TokenBody,
} from '../helpers/server.js'

// A web app signing in through /auth gets access tokens with the scopes it asks for, within
// what the user's roles allow, so requireScope works for cookie-flow apps too.

let server: TestServer
afterEach(async () => server?.close())

const env = { BATON_SCOPES: 'orders:read orders:write admin=admin' }

async function post(url: string, payload: object) {
  return server.app.inject({ method: 'POST', url, payload })
}

const scopeOf = (body: TokenBody): unknown => decodeJWT(body.accessToken).payload['scope']

describe('scope on /auth sign-in and refresh', () => {
  it('signup and login carry the requested scope into the access token and its refreshes', async () => {
    server = await createTestServer({ env })
    const email = uniqueEmail()
    const signup = await post('/auth/signup', {
      email,
      password: strongPassword,
      scope: 'orders:read orders:write',
    })
    expect(signup.statusCode).toBe(201)
    expect(scopeOf(signup.json())).toBe('orders:read orders:write')

    const login = await post('/auth/login', {
      email,
      password: strongPassword,
      scope: 'orders:read',
    })
    expect(login.statusCode).toBe(200)
    const tokens = login.json<TokenBody>()
    expect(scopeOf(tokens)).toBe('orders:read')

    const refreshed = await post('/auth/refresh', { refreshToken: tokens.refreshToken })
    expect(refreshed.statusCode).toBe(200)
    expect(scopeOf(refreshed.json())).toBe('orders:read')
  })

  it('a refresh may narrow within the grant, never widen it, and a refused one changes nothing', async () => {
    server = await createTestServer({ env })
    const signup = (
      await post('/auth/signup', {
        email: uniqueEmail(),
        password: strongPassword,
        scope: 'orders:read orders:write',
      })
    ).json<TokenBody>()
    const wider = await post('/auth/refresh', {
      refreshToken: signup.refreshToken,
      scope: 'orders:read admin',
    })
    expect(wider.statusCode).toBe(400)
    expect(wider.json()).toMatchObject({ error: 'invalid_scope' })
    const narrowed = await post('/auth/refresh', {
      refreshToken: signup.refreshToken,
      scope: 'orders:read',
    })
    expect(narrowed.statusCode).toBe(200)
    const next = narrowed.json<TokenBody>()
    expect(scopeOf(next)).toBe('orders:read')
    // The session keeps its grant: the next refresh may ask for all of it again.
    const again = await post('/auth/refresh', { refreshToken: next.refreshToken })
    expect(scopeOf(again.json())).toBe('orders:read orders:write')
  })

  it('refuses a scope the roles do not allow, or an unknown one, before anything is written', async () => {
    server = await createTestServer({ env })
    const email = uniqueEmail()
    const refused = await post('/auth/signup', { email, password: strongPassword, scope: 'admin' })
    expect(refused.statusCode).toBe(400)
    expect(refused.json()).toMatchObject({ error: 'invalid_scope' })
    // No account was made: the same email signs up now.
    expect((await post('/auth/signup', { email, password: strongPassword })).statusCode).toBe(201)
    const unknown = await post('/auth/login', { email, password: strongPassword, scope: 'nope' })
    expect(unknown.json()).toMatchObject({ error: 'invalid_scope' })
    const malformed = await post('/auth/login', { email, password: 'wrong', scope: 'a"b' })
    expect(malformed.json()).toMatchObject({ error: 'invalid_scope' })
  })

  it('without a scope, sign-in grants none, as before', async () => {
    server = await createTestServer({ env })
    const signup = (
      await post('/auth/signup', { email: uniqueEmail(), password: strongPassword })
    ).json<TokenBody>()
    expect(scopeOf(signup)).toBe('')
    expect(decodeJWT(signup.refreshToken!).payload).not.toHaveProperty('scope')
  })
})
