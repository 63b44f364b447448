import { afterEach, describe, expect, it } from 'vitest'
import { createArgon2Hasher } from '../../packages/server/src/passwords/argon2-hasher.js'
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

  it('refuses an unknown scope before the password is checked, costing no hash and no attempt', async () => {
    const argon2 = createArgon2Hasher()
    let verified = 0
    const hasher = {
      hash: (password: string) => argon2.hash(password),
      verify: (hash: string, password: string) => {
        verified++
        return argon2.verify(hash, password)
      },
    }
    server = await createTestServer({ env: { ...env, BATON_LOGIN_MAX_FAILURES: '1' }, hasher })
    const email = uniqueEmail()
    expect((await post('/auth/signup', { email, password: strongPassword })).statusCode).toBe(201)
    const before = verified

    // A wrong password with an unknown scope: the scope answers, whatever the password.
    for (let attempt = 0; attempt < 3; attempt++) {
      const unknown = await post('/auth/login', {
        email,
        password: 'wrong password',
        scope: 'nope',
      })
      expect(unknown.statusCode).toBe(400)
      expect(unknown.json()).toEqual({
        error: 'invalid_scope',
        message: "The scope 'nope' is not a scope of this server.",
      })
    }
    const oauth = await server.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        grant_type: 'password',
        client_id: 'baton',
        username: email,
        password: 'wrong password',
        scope: 'orders:read nope',
      }).toString(),
    })
    expect(oauth.statusCode).toBe(400)
    expect(oauth.json()).toMatchObject({ error: 'invalid_scope' })
    expect(verified).toBe(before)

    // None of them was a failed attempt: with a limit of 1, the right password still signs in.
    const login = await post('/auth/login', {
      email,
      password: strongPassword,
      scope: 'orders:read',
    })
    expect(login.statusCode).toBe(200)
    expect(verified).toBe(before + 1)
  })

  it("judges a scope the user's roles do not allow only after the password", async () => {
    server = await createTestServer({ env })
    const email = uniqueEmail()
    await post('/auth/signup', { email, password: strongPassword })
    // `admin` exists but needs the admin role: a wrong password is just a wrong password...
    const wrong = await post('/auth/login', { email, password: 'wrong password', scope: 'admin' })
    expect(wrong.statusCode).toBe(401)
    expect(wrong.json()).toMatchObject({ error: 'invalid_credentials' })
    // ...and the right one learns that the scope is not for this user.
    const right = await post('/auth/login', { email, password: strongPassword, scope: 'admin' })
    expect(right.statusCode).toBe(400)
    expect(right.json()).toEqual({
      error: 'invalid_scope',
      message: "The scope 'admin' is not available to this user.",
    })
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
