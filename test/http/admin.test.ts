import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  createTestServer,
  signup,
  strongPassword,
  uniqueEmail,
  type TestServer,
  type TokenBody,
} from '../helpers/server.js'

// The admin API over HTTP on a real server (and on each store profile of the HTTP suite):
// who may call it, every operation, its audit trail, and what disabling and role changes do
// to sessions and tokens.

let server: TestServer
let admin: TokenBody & { refreshToken: string }
let adminId: string

beforeEach(async () => {
  server = await createTestServer()
  const email = uniqueEmail()
  const created = await server.baton.admin.createUser(
    { email, password: strongPassword, roles: ['admin', 'user'] },
    'cli',
  )
  adminId = created.id
  admin = await login(email)
})
afterEach(async () => server?.close())

async function login(email: string, password = strongPassword) {
  const response = await server.app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email, password },
  })
  if (response.statusCode !== 200) throw new Error(`login: ${response.statusCode} ${response.body}`)
  return response.json<TokenBody & { refreshToken: string }>()
}

function call(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  payload?: object,
  token = admin.accessToken,
) {
  return server.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${token}` },
    ...(payload === undefined ? {} : { payload }),
  })
}

describe('who may call /admin', () => {
  it('checks who asks before what they ask: 401 or 403 with a challenge, never 400', async () => {
    const anonymous = await server.app.inject({ method: 'POST', url: '/admin/users', payload: {} })
    expect([anonymous.statusCode, anonymous.headers['www-authenticate']]).toEqual([401, 'Bearer'])
    const user = await signup(server)
    const outsider = await call('PUT', `/admin/users/${adminId}/roles`, {}, user.accessToken)
    expect([outsider.statusCode, outsider.json<{ error: string }>().error]).toEqual([
      403,
      'insufficient_scope',
    ])
    expect(outsider.headers['www-authenticate']).toMatch(
      /^Bearer error="insufficient_scope", error_description="[^"]+", scope="admin"$/,
    )
  })

  it('stops a token at once when its account loses the admin role, however long it has left', async () => {
    const other = uniqueEmail()
    await server.baton.admin.createUser(
      { email: other, password: strongPassword, roles: ['admin'] },
      'cli',
    )
    const second = await login(other)
    expect((await call('GET', '/admin/users', undefined, second.accessToken)).statusCode).toBe(200)
    expect((await call('PUT', `/admin/users/${other}/roles`, { roles: ['user'] })).statusCode).toBe(
      200,
    )
    // The token still says admin; the account no longer does.
    const refused = await call('DELETE', `/admin/users/${adminId}`, undefined, second.accessToken)
    expect([refused.statusCode, refused.json<{ error: string }>().error]).toEqual([
      403,
      'insufficient_scope',
    ])
    expect((await server.baton.admin.getUser(adminId)).disabledAt).toBeNull()
  })

  it('refuses a NUL character or a page size out of 1 to 200 as malformed, on every store', async () => {
    const user = await signup(server)
    for (const url of [
      '/admin/users/%00',
      `/admin/users/${user.user.id}%00/sessions`,
      '/admin/users?email=%00',
      '/admin/events?user=%00',
      '/admin/events?type=login%00',
      '/admin/sessions/%00',
      '/admin/users?limit=0',
      '/admin/users?limit=201',
      '/admin/events?limit=999',
    ]) {
      const method = url.startsWith('/admin/sessions') ? 'DELETE' : 'GET'
      const answer = await call(method, url)
      expect([answer.statusCode, answer.json<{ error: string }>().error], url).toEqual([
        400,
        'invalid_request',
      ])
    }
    const own = await server.app.inject({
      method: 'DELETE',
      url: '/auth/sessions/%00',
      headers: { authorization: `Bearer ${user.accessToken}` },
    })
    expect(own.statusCode).toBe(400)
    expect((await call('GET', '/admin/users?limit=200&email=')).statusCode).toBe(200)
  })

  it("audits an administrator's change with their IP and user agent, and a sign-up with its session", async () => {
    const user = await signup(server)
    const changed = await server.app.inject({
      method: 'PUT',
      url: `/admin/users/${user.user.id}/roles`,
      headers: { authorization: `Bearer ${admin.accessToken}`, 'user-agent': 'admin-console/1' },
      payload: { roles: ['editor'] },
    })
    expect(changed.statusCode).toBe(200)
    const events = (await server.database.listEvents({ userId: user.user.id, limit: 10 })).items
    expect(events.find((event) => event.type === 'roles_changed')).toMatchObject({
      actor: adminId,
      ip: '127.0.0.1',
      userAgent: 'admin-console/1',
    })
    expect(events.find((event) => event.type === 'signup')?.sessionId).toBe(user.sessionId)
  })

  it('refuses no token with 401, and a token without the admin role with 403 insufficient_scope', async () => {
    const anonymous = await server.app.inject({ method: 'GET', url: '/admin/users' })
    expect(anonymous.statusCode).toBe(401)
    const user = await signup(server)
    for (const [method, url] of [
      ['GET', '/admin/users'],
      ['POST', `/admin/users/${user.user.id}/disable`],
      ['GET', '/admin/events'],
    ] as const) {
      const refused = await call(method, url, undefined, user.accessToken)
      expect(refused.statusCode).toBe(403)
      expect(refused.json()).toMatchObject({ error: 'insufficient_scope' })
    }
    // Nothing happened to the user the request named.
    expect((await server.baton.admin.getUser(user.user.id)).disabledAt).toBeNull()
  })
})

describe('users', () => {
  it('refuses an address with control characters, which would reach operators’ terminals', async () => {
    for (const email of ['\u001b[31mred@example.com', 'bell\u0007@example.com']) {
      const answer = await server.app.inject({
        method: 'POST',
        url: '/auth/signup',
        payload: { email, password: strongPassword },
      })
      expect([answer.statusCode, answer.json<{ error: string }>().error]).toEqual([
        400,
        'invalid_request',
      ])
    }
  })

  it('lists users a page at a time with no gaps or repeats, and filters by email', async () => {
    const marker = `page${Date.now()}`
    for (let i = 0; i < 5; i++) {
      await signup(server, `${marker}-${i}@example.com`)
      server.clock.advance(1)
    }
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`
      const page = await call('GET', `/admin/users?limit=2&email=${marker}${query}`)
      expect(page.statusCode).toBe(200)
      expect(page.headers['cache-control']).toBe('no-store')
      const body = page.json<{ users: { email: string }[]; next: string | null }>()
      expect(body.users.length).toBeLessThanOrEqual(2)
      seen.push(...body.users.map((user) => user.email))
      cursor = body.next
    } while (cursor !== null)
    expect(seen).toEqual([0, 1, 2, 3, 4].map((i) => `${marker}-${i}@example.com`))
    const all = (await call('GET', '/admin/users?limit=200')).json<{ users: object[] }>()
    expect(all.users.length).toBeGreaterThanOrEqual(6)
    // Never the hash, nor any field of it (passwordChangedAt is a time, not the password).
    expect(JSON.stringify(all)).not.toMatch(/hash|argon2|"password"/i)
    for (const user of all.users) {
      expect(Object.keys(user).filter((key) => /password/i.test(key))).toEqual([
        'passwordChangedAt',
      ])
    }
  })

  it('creates users under the password policy, with roles, and audits it', async () => {
    const email = uniqueEmail()
    const created = await call('POST', '/admin/users', {
      email,
      password: strongPassword,
      roles: ['editor'],
    })
    expect(created.statusCode).toBe(201)
    expect(created.json()).toMatchObject({
      email,
      roles: ['editor'],
      disabledAt: null,
      passwordChangedAt: null,
    })
    expect(
      (await call('POST', '/admin/users', { email, password: strongPassword })).json(),
    ).toMatchObject({
      error: 'email_taken',
    })
    const weak = await call('POST', '/admin/users', { email: uniqueEmail(), password: 'password1' })
    expect([weak.statusCode, weak.json<{ error: string }>().error]).toEqual([400, 'weak_password'])
    const badRole = await call('POST', '/admin/users', {
      email: uniqueEmail(),
      password: strongPassword,
      roles: ['Not A Role'],
    })
    expect(badRole.statusCode).toBe(400)
    expect(badRole.json<{ message: string }>().message).toMatch(/"Not A Role" is not a role name/)
    await login(email) // the new user signs in
    const events = (
      await call('GET', `/admin/events?user=${encodeURIComponent(email)}&type=user_created`)
    ).json<{
      events: { actor: string; detail: string }[]
    }>()
    expect(events.events).toEqual([
      expect.objectContaining({ actor: adminId, detail: 'roles editor' }),
    ])
  })

  it('changes roles, which tokens carry from the next refresh', async () => {
    const user = await signup(server)
    const changed = await call('PUT', `/admin/users/${user.user.id}/roles`, {
      roles: ['admin', 'user'],
    })
    expect(changed.json()).toMatchObject({ roles: ['admin', 'user'] })
    // The access token in hand keeps its roles until it expires...
    expect((await call('GET', '/admin/users', undefined, user.accessToken)).statusCode).toBe(403)
    // ...the next refresh carries the new ones.
    const refreshed = await server.app.inject({
      method: 'POST',
      url: '/auth/refresh',
      payload: { refreshToken: user.refreshToken },
    })
    const { accessToken } = refreshed.json<TokenBody>()
    expect((await call('GET', '/admin/users', undefined, accessToken)).statusCode).toBe(200)
    const events = (
      await call('GET', `/admin/events?user=${user.user.id}&type=roles_changed`)
    ).json<{
      events: { actor: string; detail: string }[]
    }>()
    expect(events.events[0]).toMatchObject({ actor: adminId, detail: 'user -> admin,user' })
  })

  it('disables a user: every session ends at once, sign-in says account_disabled, enabling lets them back', async () => {
    const email = uniqueEmail()
    const first = await signup(server, email)
    const second = await login(email)
    const disabled = await call('POST', `/admin/users/${encodeURIComponent(email)}/disable`)
    expect(disabled.json()).toMatchObject({ sessionsRevoked: 2, user: { email } })
    for (const token of [first.accessToken, second.accessToken]) {
      const me = await call('GET', '/auth/me', undefined, token)
      expect(me.json()).toMatchObject({ error: 'session_revoked' })
    }
    const refresh = await server.app.inject({
      method: 'POST',
      url: '/auth/refresh',
      payload: { refreshToken: second.refreshToken },
    })
    expect(refresh.statusCode).toBe(401)
    const refused = await server.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email, password: strongPassword },
    })
    expect([refused.statusCode, refused.json<{ error: string }>().error]).toEqual([
      403,
      'account_disabled',
    ])
    // A wrong password hears what any wrong password hears.
    const guess = await server.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email, password: 'not the password' },
    })
    expect(guess.json()).toMatchObject({ error: 'invalid_credentials' })

    expect((await call('POST', `/admin/users/${first.user.id}/enable`)).json()).toMatchObject({
      disabledAt: null,
    })
    await login(email)
    const types = (await call('GET', `/admin/events?user=${first.user.id}`)).json<{
      events: { type: string }[]
    }>()
    expect(types.events.map((event) => event.type)).toEqual(
      expect.arrayContaining(['user_disabled', 'user_enabled', 'login_failed']),
    )
  })

  it('deletes a user after ending their sessions; their events stay; unknown users are 404', async () => {
    const user = await signup(server)
    expect((await call('DELETE', `/admin/users/${user.user.id}`)).statusCode).toBe(204)
    expect((await call('GET', '/auth/me', undefined, user.accessToken)).json()).toMatchObject({
      error: 'session_revoked',
    })
    for (const [method, url] of [
      ['GET', `/admin/users/${user.user.id}`],
      ['DELETE', `/admin/users/${user.user.id}`],
      ['POST', '/admin/users/nobody@example.com/disable'],
      ['GET', '/admin/users/no-such-id/sessions'],
    ] as const) {
      const missing = await call(method, url)
      expect([missing.statusCode, missing.json<{ error: string }>().error]).toEqual([
        404,
        'not_found',
      ])
    }
    const events = (await call('GET', `/admin/events?user=${user.user.id}`)).json<{
      events: { type: string }[]
    }>()
    expect(events.events.map((event) => event.type)).toContain('user_deleted')
  })
})

describe('sessions and events', () => {
  it('revokes a session known by its id alone, and answers 404 for one it cannot find', async () => {
    const email = uniqueEmail()
    const laptop = await signup(server, email)
    const phone = await login(email)
    const revoked = await call('DELETE', `/admin/sessions/${phone.sessionId}`)
    expect([revoked.statusCode, revoked.json()]).toEqual([
      200,
      { sessionId: phone.sessionId, userId: laptop.user.id },
    ])
    expect((await call('GET', '/auth/me', undefined, phone.accessToken)).json()).toMatchObject({
      error: 'session_revoked',
    })
    expect((await call('GET', '/auth/me', undefined, laptop.accessToken)).statusCode).toBe(200)
    for (const unknown of [phone.sessionId, 'no-such-session', 'not%20an%20id']) {
      const answer = await call('DELETE', `/admin/sessions/${unknown}`)
      expect([answer.statusCode, answer.json<{ error: string }>().error]).toEqual([
        404,
        'not_found',
      ])
    }
  })

  it('lists, revokes one and revokes all sessions of a user, audited with the administrator', async () => {
    const email = uniqueEmail()
    const laptop = await signup(server, email)
    const phone = await login(email)
    const listed = (await call('GET', `/admin/users/${laptop.user.id}/sessions`)).json<{
      sessions: { id: string }[]
    }>()
    expect(listed.sessions.map((session) => session.id).sort()).toEqual(
      [laptop.sessionId, phone.sessionId].sort(),
    )
    expect(
      (await call('DELETE', `/admin/users/${laptop.user.id}/sessions/${phone.sessionId}`))
        .statusCode,
    ).toBe(204)
    expect((await call('GET', '/auth/me', undefined, phone.accessToken)).json()).toMatchObject({
      error: 'session_revoked',
    })
    const again = await call('DELETE', `/admin/users/${laptop.user.id}/sessions/${phone.sessionId}`)
    expect(again.statusCode).toBe(404)
    expect((await call('DELETE', `/admin/users/${laptop.user.id}/sessions`)).json()).toEqual({
      revoked: 1,
    })
    const events = (await call('GET', `/admin/events?user=${laptop.user.id}`)).json<{
      events: { type: string; actor: string | null; sessionId: string | null }[]
    }>()
    expect(events.events).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          type: 'session_revoked',
          actor: adminId,
          sessionId: phone.sessionId,
        }),
        expect.objectContaining({ type: 'sessions_revoked', actor: adminId }),
      ]),
    )
  })

  it('pages through events newest first, and filters by type and time', async () => {
    const user = await signup(server)
    for (let i = 0; i < 3; i++) {
      await server.app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { email: user.user.email, password: 'wrong password!' },
      })
      server.clock.advance(1)
    }
    const first = (
      await call('GET', `/admin/events?user=${user.user.id}&type=login_failed&limit=2`)
    ).json<{
      events: { id: string; at: string }[]
      next: string | null
    }>()
    expect(first.events).toHaveLength(2)
    expect(first.next).not.toBeNull()
    const second = (
      await call(
        'GET',
        `/admin/events?user=${user.user.id}&type=login_failed&limit=2&cursor=${encodeURIComponent(first.next ?? '')}`,
      )
    ).json<{ events: { id: string; at: string }[]; next: string | null }>()
    expect(second.events).toHaveLength(1)
    const times = [...first.events, ...second.events].map((event) => event.at)
    expect(times).toEqual([...times].sort().reverse())
    // The failures were at t, t+1 s and t+2 s; it is now t+3 s.
    const since = new Date(server.clock.now() - 1500).toISOString()
    const recent = (await call('GET', `/admin/events?user=${user.user.id}&since=${since}`)).json<{
      events: object[]
    }>()
    expect(recent.events).toHaveLength(1)
    const bad = await call('GET', '/admin/events?since=yesterday')
    expect([bad.statusCode, bad.json<{ error: string }>().error]).toEqual([400, 'invalid_request'])
  })
})

describe('OAuth clients', () => {
  it('open /admin with the admin scope, which BATON_SCOPES keeps for the admin role', async () => {
    await server.close()
    server = await createTestServer({ env: { BATON_SCOPES: 'read admin=admin' } })
    const adminEmail = uniqueEmail()
    await server.baton.admin.createUser(
      { email: adminEmail, password: strongPassword, roles: ['admin'] },
      'cli',
    )
    const userEmail = uniqueEmail()
    await signup(server, userEmail)
    const grant = (username: string, scope: string) =>
      server.app.inject({
        method: 'POST',
        url: '/oauth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({
          grant_type: 'password',
          client_id: 'baton',
          username,
          password: strongPassword,
          scope,
        }).toString(),
      })
    const withScope = (await grant(adminEmail, 'admin')).json<{ access_token: string }>()
    expect((await call('GET', '/admin/users', undefined, withScope.access_token)).statusCode).toBe(
      200,
    )
    // The admin role alone does not open it to a client that did not ask for the scope.
    const without = (await grant(adminEmail, 'read')).json<{ access_token: string }>()
    const refused = await call('GET', '/admin/users', undefined, without.access_token)
    expect([refused.statusCode, refused.json<{ error: string }>().error]).toEqual([
      403,
      'insufficient_scope',
    ])
    // A user without the role cannot be granted the scope.
    expect((await grant(userEmail, 'admin')).json()).toMatchObject({ error: 'invalid_scope' })
  })

  it('refuse a user without the admin role even when the scope is open to everyone', async () => {
    await server.close()
    server = await createTestServer({ env: { BATON_SCOPES: 'read admin' } })
    const email = uniqueEmail()
    await signup(server, email)
    const granted = await server.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        grant_type: 'password',
        client_id: 'baton',
        username: email,
        password: strongPassword,
        scope: 'admin',
      }).toString(),
    })
    const { access_token } = granted.json<{ access_token: string }>()
    const refused = await call('GET', '/admin/users', undefined, access_token)
    expect([refused.statusCode, refused.json<{ error: string }>().error]).toEqual([
      403,
      'insufficient_scope',
    ])
  })
})
