import { afterEach, describe, expect, it } from 'vitest'
import type { UserRecord } from '../../packages/server/src/core/ports.js'
import type { IssuedTokens } from '../../packages/server/src/core/sessions/session-service.js'
import { createTestEngine, refusalCode, type TestEngine } from '../helpers/engine.js'
import { FaultSwitch } from '../helpers/faulty-store.js'

// The core operations behind /auth/logout, /auth/logout-all, /auth/me and /auth/sessions,
// over the memory store and a manual clock.
const context = { ip: '198.51.100.4', userAgent: 'session-operations-test' }

let engine: TestEngine
afterEach(() => engine?.close())

const refOf = (issued: IssuedTokens) => ({ userId: issued.user.id, sessionId: issued.session.id })
const stored = (issued: IssuedTokens) => engine.store.get(refOf(issued), engine.clock.now())
const denied = (issued: IssuedTokens) => engine.store.isDenied(refOf(issued), engine.clock.now())

async function twoSessions(): Promise<{ user: UserRecord; a: IssuedTokens; b: IssuedTokens }> {
  engine = await createTestEngine()
  const user = await engine.addUser()
  return {
    user,
    a: await engine.baton.sessions.start(user, context),
    b: await engine.baton.sessions.start(user, context),
  }
}

describe('logout', () => {
  it('by refresh token: revokes and deny-lists that session only', async () => {
    const { a, b } = await twoSessions()
    await engine.baton.sessions.logout({ refreshToken: a.refreshToken, accessToken: null })
    expect(await stored(a)).toMatchObject({
      revokedAt: engine.clock.now(),
      revokedReason: 'logout',
    })
    expect(await denied(a)).toBe(true)
    expect((await stored(b))?.revokedAt).toBeNull()
    expect(engine.reports).toEqual(['revocation:logout:1'])
  })

  it('by refresh token: an expired one still signs its session out', async () => {
    const { a } = await twoSessions()
    engine.clock.advance(engine.config.refreshTokenTtl + 1)
    await engine.baton.sessions.logout({ refreshToken: a.refreshToken, accessToken: null })
    expect((await stored(a))?.revokedReason).toBe('logout')
  })

  it('by access token (the session id it carries), expired or not', async () => {
    const { a, b } = await twoSessions()
    await engine.baton.sessions.logout({ refreshToken: null, accessToken: a.accessToken })
    expect((await stored(a))?.revokedReason).toBe('logout')
    engine.clock.advance(engine.config.accessTokenTtl + 1)
    await engine.baton.sessions.logout({ refreshToken: null, accessToken: b.accessToken })
    expect((await stored(b))?.revokedReason).toBe('logout')
    await expect(engine.baton.authenticate(a.accessToken)).rejects.toMatchObject({
      code: 'access_token_expired',
    })
  })

  it('with both tokens of one session: one revocation', async () => {
    const { a } = await twoSessions()
    await engine.baton.sessions.logout({ refreshToken: a.refreshToken, accessToken: a.accessToken })
    expect(engine.reports).toEqual(['revocation:logout:1'])
  })

  it('says nothing about bad tokens and changes nothing', async () => {
    const { a, b } = await twoSessions()
    await engine.baton.sessions.logout({ refreshToken: 'not.a.token', accessToken: 'garbage' })
    // A refresh token where an access token belongs, and the other way round: wrong kinds.
    await engine.baton.sessions.logout({ refreshToken: a.accessToken, accessToken: b.refreshToken })
    await engine.baton.sessions.logout({ refreshToken: null, accessToken: null })
    expect((await stored(a))?.revokedAt).toBeNull()
    expect((await stored(b))?.revokedAt).toBeNull()
    expect(engine.reports).toEqual([])
  })

  it("leaves an OAuth client's refresh token to /oauth/revoke", async () => {
    engine = await createTestEngine()
    const user = await engine.addUser()
    const oauth = await engine.baton.sessions.start(user, context, { scope: '', clientId: 'baton' })
    await engine.baton.sessions.logout({ refreshToken: oauth.refreshToken, accessToken: null })
    expect((await stored(oauth))?.revokedAt).toBeNull()
  })

  it('fails with store_unavailable when the store is down, revoking nothing', async () => {
    const faults = new FaultSwitch()
    engine = await createTestEngine({}, {}, { faults })
    const user = await engine.addUser()
    const a = await engine.baton.sessions.start(user, context)
    faults.down = true
    expect(
      await refusalCode(
        engine.baton.sessions.logout({ refreshToken: a.refreshToken, accessToken: null }),
      ),
    ).toBe('store_unavailable')
    expect(
      await refusalCode(
        engine.baton.sessions.logout({ refreshToken: null, accessToken: a.accessToken }),
      ),
    ).toBe('store_unavailable')
    faults.down = false
    expect((await stored(a))?.revokedAt).toBeNull()
  })

  it('everywhere: every live session of the user, no one else’s', async () => {
    const { user, a, b } = await twoSessions()
    const other = await engine.baton.sessions.start(await engine.addUser(), context)
    const revoked = await engine.baton.sessions.logoutEverywhere(user.id)
    expect(revoked.sort()).toEqual([a.session.id, b.session.id].sort())
    expect(await denied(a)).toBe(true)
    expect(await denied(b)).toBe(true)
    expect((await stored(a))?.revokedReason).toBe('logout_all')
    expect((await stored(other))?.revokedAt).toBeNull()
    expect(await engine.baton.sessions.logoutEverywhere(user.id)).toEqual([])
  })
})

describe('me and sessions', () => {
  it('me: the user of the token, without the password hash', async () => {
    const { user, a } = await twoSessions()
    const claims = await engine.baton.authenticate(a.accessToken)
    const me = await engine.baton.accounts.me(claims)
    expect(me).toEqual({
      id: user.id,
      email: user.email,
      roles: ['user'],
      createdAt: user.createdAt,
    })
  })

  it('me: a token outliving its account is invalid_token', async () => {
    engine = await createTestEngine()
    expect(await refusalCode(engine.baton.accounts.me({ sub: 'no-such-user' }))).toBe(
      'invalid_token',
    )
  })

  it('sessions: the live ones, the asking one marked, ending at the sooner expiry', async () => {
    engine = await createTestEngine({ BATON_REFRESH_TOKEN_TTL: '1h', BATON_SESSION_MAX_AGE: '90m' })
    const user = await engine.addUser()
    const a = await engine.baton.sessions.start(user, context)
    engine.clock.advance(3000)
    const b = await engine.baton.sessions.start(user, context)
    const gone = await engine.baton.sessions.start(user, context)
    await engine.baton.sessions.revoke(refOf(gone), 'logout')
    await engine.baton.sessions.refresh({
      refreshToken: a.refreshToken,
      accessToken: null,
      context,
    })

    const views = await engine.baton.sessions.describeSessions(user.id, b.session.id)
    const byId = new Map(views.map((view) => [view.id, view]))
    expect([...byId.keys()].sort()).toEqual([a.session.id, b.session.id].sort())
    // a: refreshed at 3000 s, its refresh token capped at the session's end (90 min).
    expect(byId.get(a.session.id)).toMatchObject({
      current: false,
      createdAt: a.session.createdAt,
      lastUsedAt: engine.clock.now(),
      expiresAt: a.session.createdAt + 90 * 60_000,
      ip: context.ip,
      userAgent: context.userAgent,
    })
    // b: idle, so it ends with its refresh token, an hour after it started.
    expect(byId.get(b.session.id)).toMatchObject({
      current: true,
      expiresAt: b.session.createdAt + 3_600_000,
    })
  })

  it("deleting one's own session works; another user's is not_found and stays", async () => {
    const { user, a } = await twoSessions()
    const other = await engine.baton.sessions.start(await engine.addUser(), context)
    expect(
      await refusalCode(
        engine.baton.sessions.deleteOwn({ userId: user.id, sessionId: other.session.id }),
      ),
    ).toBe('not_found')
    expect((await stored(other))?.revokedAt).toBeNull()
    await engine.baton.sessions.deleteOwn(refOf(a))
    expect((await stored(a))?.revokedReason).toBe('session_deleted')
    expect(await refusalCode(engine.baton.sessions.deleteOwn(refOf(a)))).toBe('not_found')
  })
})
