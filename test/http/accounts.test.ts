import { afterEach, describe, expect, it } from 'vitest'
import { createArgon2Hasher } from '../../packages/server/src/passwords/argon2-hasher.js'
import type { PasswordHasher } from '../../packages/server/src/core/ports.js'
import {
  createTestServer,
  strongPassword,
  uniqueEmail,
  type TestServer,
  type TokenBody,
} from '../helpers/server.js'

let server: TestServer
afterEach(async () => server?.close())

const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
  server.app.inject({ method: 'POST', url, payload: payload as object, headers })

describe('POST /auth/signup', () => {
  it('creates the account with a normalised email and answers 201 with a TokenResponse', async () => {
    server = await createTestServer()
    const response = await post('/auth/signup', {
      email: '  Ada.Lovelace@Example.COM ',
      password: strongPassword,
    })
    expect(response.statusCode).toBe(201)
    expect(response.headers['cache-control']).toBe('no-store')
    const body = response.json<TokenBody>()
    expect(body).toMatchObject({
      tokenType: 'Bearer',
      expiresIn: 900,
      refreshExpiresIn: 1_209_600,
      user: { email: 'ada.lovelace@example.com', roles: ['user'] },
    })
    expect(typeof body.accessToken).toBe('string')
    expect(typeof body.refreshToken).toBe('string')
    expect(typeof body.sessionId).toBe('string')
    const stored = await server.database.findUserByEmail('ada.lovelace@example.com')
    expect(stored?.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
    expect(stored?.passwordHash).not.toContain(strongPassword)
  })

  it.each([
    ['no email', { password: strongPassword }, /email/],
    ['no password', { email: 'a@example.com' }, /password/],
    ['email of the wrong type', { email: 5, password: strongPassword }, /email/],
    ['password of the wrong type', { email: 'a@example.com', password: ['x'] }, /password/],
    ['a malformed email', { email: 'not-an-email', password: strongPassword }, /email/],
    ['a 7-character password', { email: 'a@example.com', password: 'Zx9!kq2' }, /password/],
    [
      'a 129-character password',
      { email: 'a@example.com', password: 'Zx9!'.repeat(32) + 'q' },
      /password/,
    ],
  ])('refuses %s with 400 invalid_request naming the field', async (_name, payload, field) => {
    server = await createTestServer()
    const response = await post('/auth/signup', payload)
    expect(response.statusCode).toBe(400)
    expect(response.json()).toMatchObject({ error: 'invalid_request' })
    expect(response.json<{ message: string }>().message).toMatch(field)
  })

  it('accepts 8 and 128 characters, counting characters rather than bytes', async () => {
    server = await createTestServer()
    expect(
      (await post('/auth/signup', { email: uniqueEmail(), password: 'Zq8#vL2!' })).statusCode,
    ).toBe(201)
    const longest = '🔑x'.repeat(64) // 128 characters, 192 UTF-16 units
    expect(
      (await post('/auth/signup', { email: uniqueEmail(), password: longest })).statusCode,
    ).toBe(201)
  })

  it.each(['password123', 'iloveyou', 'Qwertyuiop', 'PASSWORD1'])(
    'refuses the common password %s with weak_password',
    async (password) => {
      server = await createTestServer()
      const response = await post('/auth/signup', { email: uniqueEmail(), password })
      expect(response.statusCode).toBe(400)
      expect(response.json()).toMatchObject({ error: 'weak_password' })
    },
  )

  it('answers 409 email_taken for an existing email in any case', async () => {
    server = await createTestServer()
    const email = uniqueEmail()
    await post('/auth/signup', { email, password: strongPassword })
    const response = await post('/auth/signup', {
      email: email.toUpperCase(),
      password: 'another good passphrase',
    })
    expect(response.statusCode).toBe(409)
    expect(response.json()).toMatchObject({ error: 'email_taken' })
    // The first account is untouched: its password still works.
    expect((await post('/auth/login', { email, password: strongPassword })).statusCode).toBe(200)
  })
})

describe('POST /auth/login', () => {
  it('answers 200 with a new session', async () => {
    server = await createTestServer()
    const email = uniqueEmail()
    const signup = (
      await post('/auth/signup', { email, password: strongPassword })
    ).json<TokenBody>()
    const response = await post('/auth/login', {
      email: ` ${email.toUpperCase()}`,
      password: strongPassword,
    })
    expect(response.statusCode).toBe(200)
    expect(response.headers['cache-control']).toBe('no-store')
    const body = response.json<TokenBody>()
    expect(body.user.id).toBe(signup.user.id)
    expect(body.sessionId).not.toBe(signup.sessionId)
  })

  it('gives an unknown email and a wrong password the same answer and the same hashing work', async () => {
    const inner = createArgon2Hasher()
    let verifications = 0
    const counting: PasswordHasher = {
      hash: (password) => inner.hash(password),
      verify: (hash, password) => {
        verifications++
        return inner.verify(hash, password)
      },
    }
    server = await createTestServer({ hasher: counting })
    const email = uniqueEmail()
    await post('/auth/signup', { email, password: strongPassword })

    verifications = 0
    const wrong = await post('/auth/login', { email, password: 'not the password at all' })
    expect(verifications).toBe(1)
    verifications = 0
    const unknown = await post('/auth/login', {
      email: uniqueEmail(),
      password: 'not the password at all',
    })
    expect(verifications).toBe(1)

    expect(wrong.statusCode).toBe(401)
    expect(unknown.statusCode).toBe(401)
    expect(wrong.body).toBe(unknown.body)
    expect(wrong.json()).toEqual({
      error: 'invalid_credentials',
      message: 'The email or password is incorrect.',
    })
    expect(Object.keys(wrong.headers).sort()).toEqual(Object.keys(unknown.headers).sort())
  })

  it('limits failed logins per account and answers 429 with Retry-After', async () => {
    server = await createTestServer({ env: { BATON_LOGIN_MAX_FAILURES: '3' } })
    const email = uniqueEmail()
    await post('/auth/signup', { email, password: strongPassword })
    for (let attempt = 0; attempt < 3; attempt++) {
      expect(
        (await post('/auth/login', { email, password: 'wrong password here' })).statusCode,
      ).toBe(401)
    }
    const limited = await post('/auth/login', { email, password: strongPassword })
    expect(limited.statusCode).toBe(429)
    expect(limited.json()).toMatchObject({ error: 'rate_limited' })
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0)
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(15 * 60)
    // Another account is not affected.
    const other = uniqueEmail()
    await post('/auth/signup', { email: other, password: strongPassword })
    expect((await post('/auth/login', { email: other, password: strongPassword })).statusCode).toBe(
      200,
    )
    // The window ends.
    server.clock.advance(15 * 60)
    expect((await post('/auth/login', { email, password: strongPassword })).statusCode).toBe(200)
  })

  it('counts unknown emails too, so the limit does not reveal which accounts exist', async () => {
    server = await createTestServer({ env: { BATON_LOGIN_MAX_FAILURES: '2' } })
    const email = uniqueEmail()
    await post('/auth/login', { email, password: 'whatever it is' })
    await post('/auth/login', { email, password: 'whatever it is' })
    expect((await post('/auth/login', { email, password: 'whatever it is' })).statusCode).toBe(429)
  })

  it('resets the count after a successful login', async () => {
    server = await createTestServer({ env: { BATON_LOGIN_MAX_FAILURES: '3' } })
    const email = uniqueEmail()
    await post('/auth/signup', { email, password: strongPassword })
    await post('/auth/login', { email, password: 'wrong password one' })
    await post('/auth/login', { email, password: 'wrong password two' })
    expect((await post('/auth/login', { email, password: strongPassword })).statusCode).toBe(200)
    await post('/auth/login', { email, password: 'wrong password three' })
    await post('/auth/login', { email, password: 'wrong password four' })
    expect((await post('/auth/login', { email, password: strongPassword })).statusCode).toBe(200)
  })

  it('lets no more than the limit of parallel guesses reach the password check', async () => {
    const inner = createArgon2Hasher()
    let verifications = 0
    server = await createTestServer({
      env: { BATON_LOGIN_MAX_FAILURES: '3' },
      hasher: {
        hash: (p) => inner.hash(p),
        verify: (h, p) => (verifications++, inner.verify(h, p)),
      },
    })
    const email = uniqueEmail()
    await post('/auth/signup', { email, password: strongPassword })
    verifications = 0
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        post('/auth/login', { email, password: `guess number ${i}` }),
      ),
    )
    expect(verifications).toBe(3)
    expect(responses.filter((response) => response.statusCode === 429)).toHaveLength(7)
  })
})
