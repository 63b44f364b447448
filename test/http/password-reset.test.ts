import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError } from '../../packages/server/src/core/errors.js'
import { createArgon2Hasher } from '../../packages/server/src/passwords/argon2-hasher.js'
import { FaultSwitch } from '../helpers/faulty-store.js'
import { createOAuthTestServer, createUser, type OAuthTestServer } from '../helpers/oauth.js'
import { freePort } from '../helpers/ports.js'
import { createTestServer, strongPassword, uniqueEmail, type TokenBody } from '../helpers/server.js'
import { startSmtpServer, tokenOfMail, type TestSmtpServer } from '../helpers/smtp.js'

// Password change, reset and email verification (docs/api.md), through HTTP on a listening
// server that mails its links to a real SMTP server.

const newPassword = 'a brand new passphrase'

let smtp: TestSmtpServer
let server: OAuthTestServer | undefined
beforeAll(async () => {
  smtp = await startSmtpServer()
})
afterAll(async () => smtp.close())
afterEach(async () => {
  await server?.close()
  server = undefined
})

async function start(env: Record<string, string> = {}): Promise<OAuthTestServer> {
  server = await createOAuthTestServer({ env: { BATON_MAILER_URL: smtp.url, ...env } })
  return server
}

async function post(
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  if (server === undefined) throw new Error('no server')
  return fetch(`${server.issuer}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

async function me(accessToken: string): Promise<Response> {
  if (server === undefined) throw new Error('no server')
  return fetch(`${server.issuer}/auth/me`, { headers: bearer(accessToken) })
}

async function signUp(email = uniqueEmail()): Promise<TokenBody & { refreshToken: string }> {
  const response = await post('/auth/signup', { email, password: strongPassword })
  expect(response.status).toBe(201)
  return (await response.json()) as TokenBody & { refreshToken: string }
}

async function logIn(email: string, password = strongPassword): Promise<Response> {
  return post('/auth/login', { email, password })
}

async function errorOf(response: Response): Promise<string> {
  return ((await response.json()) as { error: string }).error
}

/** Asks for a reset link and reads the token out of the message that arrives. */
async function resetToken(email: string, nth: number): Promise<string> {
  const response = await post('/auth/password/forgot', { email })
  expect(response.status).toBe(202)
  return tokenOfMail(await smtp.waitFor(email, nth)).token
}

async function eventsOf(userId: string | null, type: string) {
  const page = await server!.database.listEvents({ type, limit: 50 })
  return page.items.filter((event) => event.userId === userId)
}

describe('password reset by mail', () => {
  it('mails a link (text and HTML) that sets a new password once and signs every session out', async () => {
    const { issuer, database } = await start()
    const email = uniqueEmail()
    const first = await signUp(email)
    const second = (await (await logIn(email)).json()) as TokenBody & { refreshToken: string }

    const forgot = await post('/auth/password/forgot', { email: email.toUpperCase() })
    expect(forgot.status).toBe(202)
    expect(forgot.headers.get('cache-control')).toBe('no-store')
    expect(await forgot.json()).toEqual({ status: 'accepted' })

    const mail = await smtp.waitFor(email)
    expect(mail.subject).toBe('Reset your password')
    expect(mail.from?.text).toContain('no-reply@localhost')
    const { link, token } = tokenOfMail(mail)
    expect(`${link.origin}${link.pathname}`).toBe(`${issuer}/account/reset-password`)
    expect(token).toMatch(new RegExp(`^${first.user.id}\\.[A-Za-z0-9_-]{43}$`))
    expect(mail.text).toContain('15 minutes')
    expect(mail.html).toEqual(expect.stringContaining(`href="${link.toString()}"`))
    // The link opens the reset page of the account pages.
    const page = await fetch(link)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('Choose a new password')
    // Only the hash of the secret is stored.
    const secret = token.split('.')[1] ?? ''
    const taken = await server!.sessions.takeOneTimeToken(
      first.user.id,
      'password_reset',
      secret,
      server!.clock.now(),
    )
    expect(taken).toBeNull()

    // A password the policy refuses does not use the link up.
    const weak = await post('/auth/password/reset', { token, password: 'password123' })
    expect(weak.status).toBe(400)
    expect(await errorOf(weak)).toBe('weak_password')
    const short = await post('/auth/password/reset', { token, password: 'short' })
    expect(await errorOf(short)).toBe('invalid_request')

    const reset = await post('/auth/password/reset', { token, password: newPassword })
    expect(reset.status).toBe(204)
    expect(reset.headers.get('cache-control')).toBe('no-store')

    // Every session of the user is over: access tokens refused, refresh tokens too.
    for (const session of [first, second]) {
      const refused = await me(session.accessToken)
      expect(refused.status).toBe(401)
      expect(await errorOf(refused)).toBe('session_revoked')
      const refresh = await post('/auth/refresh', { refreshToken: session.refreshToken })
      expect(refresh.status).toBe(401)
    }
    expect(await errorOf(await logIn(email))).toBe('invalid_credentials')
    const signedIn = await logIn(email, newPassword)
    expect(signedIn.status).toBe(200)

    // Once only.
    const again = await post('/auth/password/reset', { token, password: 'yet another passphrase' })
    expect(again.status).toBe(400)
    expect(await again.json()).toEqual({
      error: 'invalid_link',
      message: 'This link is invalid or has expired; ask for a new one.',
    })
    expect((await logIn(email, newPassword)).status).toBe(200)

    // Following the link proved the address; the reset is in the audit log.
    const user = await database.findUserById(first.user.id)
    expect(user?.emailVerifiedAt).toBe(server!.clock.now())
    expect(await eventsOf(first.user.id, 'password_reset_requested')).toHaveLength(1)
    const [event] = await eventsOf(first.user.id, 'password_reset')
    expect(event?.detail).toBe('2 sessions revoked; address verified')
  })

  it('refuses an expired, forged, replaced or foreign link with invalid_link, leaving the real one', async () => {
    const { clock, database } = await start()
    const email = uniqueEmail()
    const { user } = await signUp(email)
    const expect400 = async (token: string) => {
      const response = await post('/auth/password/reset', { token, password: newPassword })
      expect(response.status, token).toBe(400)
      expect(await errorOf(response)).toBe('invalid_link')
    }

    const expiring = await resetToken(email, 1)
    clock.advance(16 * 60)
    await expect400(expiring)

    // A newer link retires the one before it.
    const replaced = await resetToken(email, 2)
    const current = await resetToken(email, 3)
    await expect400(replaced)
    // Forged: another secret for the same user, another user, not a token at all.
    await expect400(`${user.id}.${randomBytes(32).toString('base64url')}`)
    await expect400(`${current.split('.')[0]}x.${current.split('.')[1]}`)
    await expect400('not-a-token')
    await expect400(`${current}.`)
    // None of that touched the real one.
    expect(
      (await post('/auth/password/reset', { token: current, password: newPassword })).status,
    ).toBe(204)

    // A link for an address the account no longer has is void: the same id, another address.
    const other = uniqueEmail()
    await signUp(other)
    const stale = await resetToken(other, 1)
    const owner = (await database.findUserByEmail(other))!
    await database.deleteUser(owner.id)
    await database.createUser({ ...owner, email: uniqueEmail() })
    await expect400(stale)
  })

  it('voids a link mailed before the account was disabled, though it is enabled again', async () => {
    const started = await start()
    const admin = await createUser(started, ['admin'])
    const adminToken = ((await (await logIn(admin.email)).json()) as TokenBody).accessToken
    const email = uniqueEmail()
    const { user } = await signUp(email)
    const token = await resetToken(email, 1)
    for (const action of ['disable', 'enable']) {
      const answer = await post(`/admin/users/${user.id}/${action}`, {}, bearer(adminToken))
      expect(answer.status, action).toBe(200)
    }
    const reset = await post('/auth/password/reset', { token, password: newPassword })
    expect([reset.status, await errorOf(reset)]).toEqual([400, 'invalid_link'])
    // A link asked for after the enable works.
    const fresh = await resetToken(email, 2)
    expect(
      (await post('/auth/password/reset', { token: fresh, password: newPassword })).status,
    ).toBe(204)
  })

  it('answers an unknown address exactly like a known one, and mails nothing', async () => {
    await start()
    const known = uniqueEmail()
    await signUp(known)
    const unknown = uniqueEmail()
    const answers = []
    for (const email of [unknown, known, 'not an address']) {
      const response = await post('/auth/password/forgot', { email })
      answers.push({
        status: response.status,
        body: await response.text(),
        cache: response.headers.get('cache-control'),
        type: response.headers.get('content-type'),
      })
    }
    expect(answers[0]).toEqual(answers[1])
    expect(answers[2]).toEqual(answers[1])
    await smtp.waitFor(known)
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(smtp.messagesTo(unknown)).toEqual([])
    // The operator still sees the request.
    const events = await eventsOf(null, 'password_reset_requested')
    expect(events.map((event) => event.detail)).toContain('no account with this address')
  })

  it('throttles requests per address, known or not, and per client IP, with Retry-After', async () => {
    await start({ BATON_TRUST_PROXY: 'true' })
    const known = uniqueEmail()
    await signUp(known)
    const unknown = uniqueEmail()
    for (const email of [known, unknown]) {
      for (let i = 0; i < 3; i++) {
        expect((await post('/auth/password/forgot', { email })).status).toBe(202)
      }
      const refused = await post('/auth/password/forgot', { email })
      expect(refused.status).toBe(429)
      expect(await errorOf(refused)).toBe('rate_limited')
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(800)
      // A verification link for the same address has a limit of its own.
      expect((await post('/auth/email/resend', { email })).status).toBe(202)
    }
    await smtp.waitFor(known, 3)
    expect(smtp.messagesTo(known)).toHaveLength(3)

    // One IP, many addresses: 20 requests in the window, then 429 for that IP only.
    const from = (ip: string) => ({ 'x-forwarded-for': ip })
    for (let i = 0; i < 20; i++) {
      const response = await post(
        '/auth/password/forgot',
        { email: uniqueEmail() },
        from('203.0.113.7'),
      )
      expect(response.status).toBe(202)
    }
    const refused = await post('/auth/email/resend', { email: uniqueEmail() }, from('203.0.113.7'))
    expect(refused.status).toBe(429)
    expect(refused.headers.get('retry-after')).not.toBeNull()
    const elsewhere = await post(
      '/auth/password/forgot',
      { email: uniqueEmail() },
      from('203.0.113.8'),
    )
    expect(elsewhere.status).toBe(202)

    // The window passes.
    server!.clock.advance(15 * 60)
    expect(
      (await post('/auth/password/forgot', { email: known }, from('203.0.113.7'))).status,
    ).toBe(202)
  })

  it('answers at once and logs the failure when the mail cannot be sent', async () => {
    const closed = await freePort()
    const { metrics } = await start({ BATON_MAILER_URL: `smtp://127.0.0.1:${closed}` })
    const email = uniqueEmail()
    await signUp(email)
    const started = Date.now()
    expect((await post('/auth/password/forgot', { email })).status).toBe(202)
    expect(Date.now() - started).toBeLessThan(2000)
    const failed = async () =>
      (await metrics.registry.getSingleMetricAsString('baton_mails_total')).includes(
        'baton_mails_total{kind="password_reset",outcome="failed"} 1',
      )
    const deadline = Date.now() + 10_000
    while (!(await failed())) {
      if (Date.now() > deadline) throw new Error('the failed send was not reported')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  })
})

describe('password change', () => {
  it('keeps the current session, signs the others out, and counts wrong passwords like logins', async () => {
    const { metrics } = await start()
    const email = uniqueEmail()
    const current = await signUp(email)
    const others = await Promise.all(
      [1, 2].map(async () => (await (await logIn(email)).json()) as TokenBody),
    )
    const change = (body: unknown, token = current.accessToken) =>
      post('/auth/password', body, bearer(token))

    const anonymous = await post('/auth/password', {
      currentPassword: strongPassword,
      newPassword,
    })
    expect(anonymous.status).toBe(401)
    expect(await errorOf(anonymous)).toBe('invalid_token')

    const weak = await change({ currentPassword: strongPassword, newPassword: 'password123' })
    expect(weak.status).toBe(400)
    expect(await errorOf(weak)).toBe('weak_password')

    const wrong = await change({ currentPassword: 'not my password', newPassword })
    expect(wrong.status).toBe(401)
    expect(await errorOf(wrong)).toBe('invalid_credentials')
    // About the password, not the token: no bearer challenge.
    expect(wrong.headers.get('www-authenticate')).toBeNull()

    const changed = await change({ currentPassword: strongPassword, newPassword })
    expect(changed.status).toBe(204)
    expect((await me(current.accessToken)).status).toBe(200)
    const refreshed = await post('/auth/refresh', { refreshToken: current.refreshToken })
    expect(refreshed.status).toBe(200)
    for (const other of others) {
      const refused = await me(other.accessToken)
      expect(refused.status).toBe(401)
      expect(await errorOf(refused)).toBe('session_revoked')
    }
    expect(await errorOf(await logIn(email))).toBe('invalid_credentials')
    expect((await logIn(email, newPassword)).status).toBe(200)
    const revocations = await metrics.registry.getSingleMetricAsString(
      'baton_session_revocations_total',
    )
    expect(revocations).toContain('baton_session_revocations_total{reason="password_changed"} 2')
    const [event] = await eventsOf(current.user.id, 'password_changed')
    expect(event).toMatchObject({
      sessionId: current.sessionId,
      detail: '2 other sessions revoked',
    })

    // Guessing the current password is limited like logins, on the same counter.
    const token = ((await refreshed.json()) as TokenBody).accessToken
    const guesses = []
    for (let i = 0; i < 6; i++) {
      guesses.push(
        (await change({ currentPassword: `guess ${i}`, newPassword: strongPassword }, token))
          .status,
      )
    }
    expect(guesses).toEqual([401, 401, 401, 401, 401, 429])
    const login = await logIn(email, newPassword)
    expect(login.status).toBe(429)
    expect(login.headers.get('retry-after')).not.toBeNull()
  })
})

describe('password change and reset when revoking the other sessions fails', () => {
  it('answers the change as made; the other sessions end at their next refresh anyway', async () => {
    const faults = new FaultSwitch()
    server = await createOAuthTestServer({
      env: { BATON_MAILER_URL: smtp.url },
      wrapSessions: (store) => faults.wrap(store),
    })
    const email = uniqueEmail()
    const current = await signUp(email)
    const other = (await (await logIn(email)).json()) as TokenBody & { refreshToken: string }

    server.clock.advance(1)
    faults.failNext = 'listForUser'
    const changed = await post(
      '/auth/password',
      { currentPassword: strongPassword, newPassword },
      bearer(current.accessToken),
    )
    expect(changed.status).toBe(204)
    expect(faults.failNext).toBeNull()

    const refused = await post('/auth/refresh', { refreshToken: other.refreshToken })
    expect(refused.status).toBe(401)
    expect(await errorOf(refused)).toBe('session_revoked')
    // Refusing it revoked it: its access token is deny-listed from then on.
    expect(await errorOf(await me(other.accessToken))).toBe('session_revoked')
    expect((await post('/auth/refresh', { refreshToken: current.refreshToken })).status).toBe(200)
    const [event] = await eventsOf(current.user.id, 'password_changed')
    expect(event?.detail).toBe('revoking the other sessions failed: they end at their next refresh')
    expect(await server.database.findUserById(current.user.id)).toMatchObject({
      passwordChangedAt: server.clock.now(),
      passwordChangedIn: current.sessionId,
    })
  })

  it('refuses, after a reset that failed half-way, every session older than it', async () => {
    const faults = new FaultSwitch()
    server = await createOAuthTestServer({
      env: { BATON_MAILER_URL: smtp.url },
      wrapSessions: (store) => faults.wrap(store),
    })
    const email = uniqueEmail()
    const before = await signUp(email)
    const token = await resetToken(email, 1)

    server.clock.advance(1)
    faults.failNext = 'revokeAllForUser'
    const failed = await post('/auth/password/reset', { token, password: newPassword })
    expect(failed.status).toBe(503)
    const refused = await post('/auth/refresh', { refreshToken: before.refreshToken })
    expect(await errorOf(refused)).toBe('session_revoked')
    // The link was put back: trying again completes the reset.
    expect((await post('/auth/password/reset', { token, password: newPassword })).status).toBe(204)
    expect((await logIn(email, newPassword)).status).toBe(200)
  })

  it('refuses a sign-in whose password was changed while it was being checked', async () => {
    const faults = new FaultSwitch()
    let changing: Promise<unknown> = Promise.resolve()
    server = await createOAuthTestServer({
      env: { BATON_MAILER_URL: smtp.url },
      wrapSessions: (store) => faults.wrap(store),
      // The sign-in's second look at the user comes after the change has landed.
      wrapDatabase: (database) =>
        new Proxy(database, {
          get(target, property, receiver) {
            const value: unknown = Reflect.get(target, property, receiver)
            if (property !== 'findUserById' || typeof value !== 'function') return value
            return async (id: string) => {
              await changing
              return target.findUserById(id)
            }
          },
        }),
    })
    const email = uniqueEmail()
    const owner = await signUp(email)
    const hasher = createArgon2Hasher()
    const newHash = await hasher.hash(newPassword)
    // The old password was checked; the owner's change lands before the session is stored.
    faults.beforeNext = {
      method: 'create',
      action: () => {
        changing = server!.database.updateUser(owner.user.id, {
          passwordHash: newHash,
          passwordChangedAt: Date.now(),
          passwordChangedIn: owner.sessionId,
        })
      },
    }
    const late = await logIn(email)
    expect(late.status).toBe(401)
    expect(await errorOf(late)).toBe('invalid_credentials')
    const sessions = await server.sessions.listForUser(owner.user.id, Date.now())
    expect(sessions.map((session) => session.id)).toEqual([owner.sessionId])
    expect((await logIn(email, newPassword)).status).toBe(200)
  })
})

describe('email verification (BATON_REQUIRE_VERIFIED_EMAIL=true)', () => {
  it('answers sign-up with 202 and a mailed link, and refuses sign-in until it is followed', async () => {
    const { database } = await start({ BATON_REQUIRE_VERIFIED_EMAIL: 'true' })
    const email = uniqueEmail()
    const signup = await post(
      '/auth/signup',
      { email, password: strongPassword },
      { origin: server!.issuer },
    )
    expect(signup.status).toBe(202)
    expect(signup.headers.get('set-cookie')).toBeNull()
    expect(signup.headers.get('cache-control')).toBe('no-store')
    const body = (await signup.json()) as { user: { id: string }; emailVerificationRequired: true }
    const user = await database.findUserByEmail(email)
    expect(body).toEqual({
      user: { id: user?.id, email, roles: ['user'] },
      emailVerificationRequired: true,
    })
    expect(user?.emailVerifiedAt).toBeNull()

    const mail = await smtp.waitFor(email)
    expect(mail.subject).toBe('Confirm your email address')
    const { link, token: first } = tokenOfMail(mail)
    expect(`${link.origin}${link.pathname}`).toBe(`${server!.issuer}/account/verify-email`)
    expect(mail.html).toEqual(expect.stringContaining(link.toString()))

    // The password is checked first: a wrong one is just a wrong one.
    expect(await errorOf(await logIn(email, 'a wrong password'))).toBe('invalid_credentials')
    const refused = await logIn(email)
    expect(refused.status).toBe(403)
    expect(await errorOf(refused)).toBe('email_not_verified')
    const grant = await fetch(`${server!.issuer}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'password',
        username: email,
        password: strongPassword,
        client_id: 'baton',
      }).toString(),
    })
    expect(grant.status).toBe(400)
    expect(await grant.json()).toMatchObject({ error: 'invalid_grant' })

    // A new link retires the first.
    expect((await post('/auth/email/resend', { email })).status).toBe(202)
    const second = tokenOfMail(await smtp.waitFor(email, 2)).token
    const stale = await post('/auth/email/verify', { token: first })
    expect(stale.status).toBe(400)
    expect(await errorOf(stale)).toBe('invalid_link')

    expect((await post('/auth/email/verify', { token: second })).status).toBe(204)
    expect((await database.findUserById(body.user.id))?.emailVerifiedAt).toBe(server!.clock.now())
    expect(await errorOf(await post('/auth/email/verify', { token: second }))).toBe('invalid_link')
    expect((await logIn(email)).status).toBe(200)
    expect(await eventsOf(body.user.id, 'email_verified')).toHaveLength(1)

    // A verified address gets the same answer and no mail.
    expect((await post('/auth/email/resend', { email })).status).toBe(202)
    const unknown = uniqueEmail()
    expect((await post('/auth/email/resend', { email: unknown })).status).toBe(202)

    // A password reset proves the address too.
    const other = uniqueEmail()
    expect((await post('/auth/signup', { email: other, password: strongPassword })).status).toBe(
      202,
    )
    await smtp.waitFor(other)
    const reset = await resetToken(other, 2)
    expect(
      (await post('/auth/password/reset', { token: reset, password: newPassword })).status,
    ).toBe(204)
    expect((await logIn(other, newPassword)).status).toBe(200)

    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(smtp.messagesTo(email)).toHaveLength(2)
    expect(smtp.messagesTo(unknown)).toEqual([])
  })

  it('keeps the 201 token response, and mails nothing, when verification is not required', async () => {
    await start()
    const email = uniqueEmail()
    const { user } = await signUp(email)
    expect((await logIn(email)).status).toBe(200)
    // The link can still be asked for and followed.
    expect((await post('/auth/email/resend', { email })).status).toBe(202)
    const { token } = tokenOfMail(await smtp.waitFor(email))
    expect((await post('/auth/email/verify', { token })).status).toBe(204)
    expect((await server!.database.findUserById(user.id))?.emailVerifiedAt).not.toBeNull()
    expect(smtp.messagesTo(email)).toHaveLength(1)
  })
})

describe('mail templates (BATON_MAIL_TEMPLATES)', () => {
  const directories: string[] = []
  afterAll(() => {
    for (const directory of directories) rmSync(directory, { recursive: true, force: true })
  })
  const directoryWith = (files: Record<string, string>): string => {
    const directory = mkdtempSync(join(tmpdir(), 'baton-templates-'))
    directories.push(directory)
    for (const [name, text] of Object.entries(files)) writeFileSync(join(directory, name), text)
    return directory
  }

  it('replaces the built-in messages, HTML-escaping values in the HTML one', async () => {
    const directory = directoryWith({
      'password-reset.txt': 'Subject: Reset for {{email}}\n\nGo to {{ link }} ({{minutes}} min)\n',
      'password-reset.html': '<p>{{email}}</p><a href="{{link}}">reset</a>',
    })
    await start({ BATON_MAIL_TEMPLATES: directory, BATON_MAIL_FROM: 'Example <auth@example.com>' })
    const email = `o'brien&co${Date.now()}@example.com`
    await signUp(email)
    expect((await post('/auth/password/forgot', { email })).status).toBe(202)
    const mail = await smtp.waitFor(email)
    expect(mail.subject).toBe(`Reset for ${email}`)
    expect(mail.from?.value).toEqual([{ name: 'Example', address: 'auth@example.com' }])
    const { link } = tokenOfMail(mail)
    expect(mail.text?.trim()).toBe(`Go to ${link.toString()} (15 min)`)
    expect(mail.html).toContain(
      `<p>${email.replace('&', '&amp;').replace("'", '&#39;')}</p><a href="${link.toString()}">reset</a>`,
    )
  })

  it('stops the start on a missing directory, an unknown placeholder or a template without a link', async () => {
    for (const [directory, problem] of [
      [join(tmpdir(), 'no-such-baton-templates'), 'is not a directory'],
      [directoryWith({ 'readme.md': 'hello' }), 'holds none of'],
      [
        directoryWith({ 'password-reset.txt': '{{link}} {{name}}' }),
        '{{name}} is not a placeholder',
      ],
      [directoryWith({ 'email-verification.html': '<p>hello</p>' }), 'has no {{link}}'],
    ] as const) {
      // In memory: a server that fails to build leaves no store behind to drop.
      const failure = await createTestServer({
        store: 'memory',
        env: { BATON_MAIL_TEMPLATES: directory },
      }).catch((error: unknown) => error)
      expect(failure).toBeInstanceOf(ConfigError)
      expect((failure as Error).message).toContain('BATON_MAIL_TEMPLATES')
      expect((failure as Error).message).toContain(problem)
    }
  })
})
