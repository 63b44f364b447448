import { afterEach, describe, expect, it } from 'vitest'
import { ConfigError } from '../../packages/server/src/core/errors.js'
import { ManualClock } from '../helpers/clock.js'
import {
  createTestServer,
  decodeJWT,
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

const json = <T = TokenBody>(response: { json: () => unknown }): T => response.json() as T

/**
 * Our endpoints always hand out both tokens together, so the "valid access + expired refresh"
 * row is reached with an access token minted on its own (as an embedding app may do).
 */
const mintAccessToken = (tokens: TokenBody): string =>
  server.baton.accessTokens.issue({
    userId: tokens.user.id,
    sessionId: tokens.sessionId,
    scope: '',
    roles: ['user'],
    clientId: null,
  }).token

describe('rotation', () => {
  it('returns a new refresh token in the same session and retires the presented one', async () => {
    server = await createTestServer()
    const first = await signup(server)
    const response = await refresh(server, first.refreshToken)
    expect(response.statusCode).toBe(200)
    expect(response.headers['cache-control']).toBe('no-store')
    const second = json(response)
    expect(second.sessionId).toBe(first.sessionId)
    expect(second.refreshToken).not.toBe(first.refreshToken)
    expect(decodeJWT(second.refreshToken!).payload.jti).not.toBe(
      decodeJWT(first.refreshToken).payload.jti,
    )
    expect(second.tokenType).toBe('Bearer')
    expect(second.expiresIn).toBe(900)
    expect(second.refreshExpiresIn).toBe(14 * 86_400)
    expect((await me(server, second.accessToken)).statusCode).toBe(200)
    // The successor rotates too.
    expect((await refresh(server, second.refreshToken!)).statusCode).toBe(200)
  })

  it.each(['ES256', 'EdDSA', 'RS256'])(
    'replays the very same successor within the grace window (signing key %s)',
    async (alg) => {
      server = await createTestServer({ env: { BATON_SIGNING_ALG: alg } })
      const first = await signup(server)
      const a = json(await refresh(server, first.refreshToken))
      server.clock.advance(5)
      const replay = await refresh(server, first.refreshToken)
      expect(replay.statusCode).toBe(200)
      const b = json(replay)
      // Refresh tokens are HS256 whatever signs the access tokens: same claims, same bytes.
      expect(decodeJWT(b.refreshToken!).header['alg']).toBe('HS256')
      expect(b.refreshToken).toBe(a.refreshToken)
      expect(b.sessionId).toBe(a.sessionId)
      expect((await me(server, b.accessToken)).statusCode).toBe(200)
      const successor = decodeJWT(b.refreshToken!).payload
      expect(b.refreshExpiresIn).toBe(
        (successor.exp as number) - Math.floor(server.clock.now() / 1000),
      )
    },
  )

  it('revokes the whole session when a retired token comes back after the window', async () => {
    server = await createTestServer()
    const first = await signup(server)
    const second = json(await refresh(server, first.refreshToken))
    server.clock.advance(11)
    const reuse = await refresh(server, first.refreshToken)
    expect(reuse.statusCode).toBe(401)
    expect(reuse.json()).toMatchObject({ error: 'refresh_token_reused' })
    // Every token of the session is dead: the newest refresh token and the latest access token.
    const newest = await refresh(server, second.refreshToken!)
    expect(newest.statusCode).toBe(401)
    expect(newest.json()).toMatchObject({ error: 'session_revoked' })
    const access = await me(server, second.accessToken)
    expect(access.statusCode).toBe(401)
    expect(access.json()).toMatchObject({ error: 'session_revoked' })
    // A security event records it.
    const { items: events } = await server.database.listEvents({
      userId: first.user.id,
      limit: 10,
    })
    expect(events.map((event) => event.type)).toContain('refresh_token_reused')
    expect(events.find((event) => event.type === 'refresh_token_reused')?.sessionId).toBe(
      first.sessionId,
    )
  })

  it('revokes the session when any older ancestor comes back, even inside the window', async () => {
    server = await createTestServer()
    const first = await signup(server)
    const second = json(await refresh(server, first.refreshToken))
    const third = json(await refresh(server, second.refreshToken!))
    // `first` is two rotations old: not the just-retired token, so no grace.
    const reuse = await refresh(server, first.refreshToken)
    expect(reuse.json()).toMatchObject({ error: 'refresh_token_reused' })
    expect((await refresh(server, third.refreshToken!)).statusCode).toBe(401)
  })

  it('has no grace window when BATON_REFRESH_REUSE_GRACE=0', async () => {
    server = await createTestServer({ env: { BATON_REFRESH_REUSE_GRACE: '0' } })
    const first = await signup(server)
    await refresh(server, first.refreshToken)
    server.clock.advance(1)
    expect((await refresh(server, first.refreshToken)).json()).toMatchObject({
      error: 'refresh_token_reused',
    })
  })

  it('gives 20 concurrent refreshes of one token the same successor, none a 500', async () => {
    server = await createTestServer()
    const first = await signup(server)
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => refresh(server, first.refreshToken)),
    )
    expect(responses.map((response) => response.statusCode)).toEqual(Array(20).fill(200))
    const successors = new Set(responses.map((response) => json(response).refreshToken))
    expect(successors.size).toBe(1)
    // And the session is healthy: its one successor rotates.
    expect((await refresh(server, json(responses[0]!).refreshToken!)).statusCode).toBe(200)
  })

  it('caps refresh tokens at the session maximum age and refuses past it', async () => {
    server = await createTestServer({
      env: {
        BATON_REFRESH_TOKEN_TTL: '1d',
        BATON_SESSION_MAX_AGE: '2d',
        BATON_ACCESS_TOKEN_TTL: '5m',
      },
    })
    let tokens: TokenBody = await signup(server)
    server.clock.advance(21 * 3600)
    tokens = json(await refresh(server, tokens.refreshToken!))
    server.clock.advance(20 * 3600) // 41 h: the new token would live to 65 h, the session to 48 h
    tokens = json(await refresh(server, tokens.refreshToken!))
    expect(tokens.refreshExpiresIn).toBe(7 * 3600)
    server.clock.advance(7 * 3600)
    const late = await refresh(server, tokens.refreshToken!)
    expect(late.statusCode).toBe(401)
  })
})

describe('the two-token table with a refresh token shorter than the access token (seed 001)', () => {
  // Only /auth sessions can slide: OAuth clients are turned off (see the tests below).
  const sliding = {
    BATON_ACCESS_TOKEN_TTL: '10s',
    BATON_REFRESH_TOKEN_TTL: '2s',
    BATON_SESSION_MAX_AGE: '12s',
    BATON_OAUTH_CLIENTS: 'none',
  }

  it('shows all four rows, slides while the access token is valid, and ends at the maximum age', async () => {
    // On a whole second: token lifetimes count whole seconds from the second they were issued in.
    const clock = new ManualClock(Math.floor(Date.now() / 1000) * 1000)
    server = await createTestServer({ env: sliding, clock })
    const first = await signup(server)
    expect(first.expiresIn).toBe(10)
    expect(first.refreshExpiresIn).toBe(2)
    const rowsSeen: string[] = []

    // Row 1, valid + valid: rotates.
    server.clock.advance(1)
    let response = await refresh(server, first.refreshToken, first.accessToken)
    expect(response.statusCode).toBe(200)
    let current = json(response)
    rowsSeen.push('valid access, valid refresh: rotated')

    // Row 3, valid + expired (the refresh token died at 3 s, the access token lives to 11 s):
    // the session slides, same session, new pair.
    server.clock.advance(3)
    response = await refresh(server, current.refreshToken!)
    expect(response.json()).toMatchObject({ error: 'refresh_token_expired' })
    response = await refresh(server, current.refreshToken!, current.accessToken)
    expect(response.statusCode).toBe(200)
    expect(json(response).sessionId).toBe(first.sessionId)
    current = json(response)
    rowsSeen.push('valid access, expired refresh: slid')

    // Keep the chain alive to 10.5 s, where the first access token has expired.
    for (let second = 5; second <= 9; second++) {
      server.clock.advance(1)
      response = await refresh(server, current.refreshToken!)
      expect(response.statusCode).toBe(200)
      current = json(response)
    }
    server.clock.advance(1.5)
    // Row 2, expired + valid: rotates with a new access token.
    expect((await me(server, first.accessToken)).json()).toMatchObject({
      error: 'access_token_expired',
    })
    response = await refresh(server, current.refreshToken!, first.accessToken)
    expect(response.statusCode).toBe(200)
    current = json(response)
    expect((await me(server, current.accessToken)).statusCode).toBe(200)
    rowsSeen.push('expired access, valid refresh: rotated')
    // Issued in second 10, to live 2 s: it ends at 12 s, where the session does, so no cap yet.
    const sessionEnd = Number(decodeJWT(first.refreshToken).payload['iat']) + 12
    expect(current.refreshExpiresIn).toBe(2)
    expect(decodeJWT(current.refreshToken!).payload['exp']).toBe(sessionEnd)

    // At 11 s a new token would live to 13 s: capped at the session's 12 s, it gets 1 s.
    server.clock.advance(0.5)
    response = await refresh(server, current.refreshToken!)
    expect(response.statusCode).toBe(200)
    current = json(response)
    expect(current.refreshExpiresIn).toBe(1)
    expect(decodeJWT(current.refreshToken!).payload['exp']).toBe(sessionEnd)

    // The end at the maximum age: from 12 s on nothing renews the session, sliding included.
    server.clock.advance(1.1)
    response = await refresh(server, current.refreshToken!, current.accessToken)
    expect(response.statusCode).toBe(401)
    expect(response.json()).toMatchObject({ error: 'refresh_token_expired' })

    // Row 4, expired + expired, in a second session idle past both lifetimes.
    const second = await signup(server)
    server.clock.advance(11)
    response = await refresh(server, second.refreshToken, second.accessToken)
    expect(response.statusCode).toBe(401)
    expect(response.json()).toMatchObject({ error: 'login_required' })
    rowsSeen.push('expired access, expired refresh: login_required')

    expect(rowsSeen).toHaveLength(4)
    await expect(
      server.metrics.registry.getSingleMetricAsString('baton_refreshes_total'),
    ).resolves.toMatch(/outcome="sliding"} 1/)
  })

  it('refuses the same lifetimes while OAuth clients are configured, naming both lifetimes', async () => {
    const withDefaultClient: Record<string, string> = { ...sliding }
    delete withDefaultClient['BATON_OAUTH_CLIENTS']
    for (const env of [withDefaultClient, { ...sliding, BATON_OAUTH_CLIENTS: 'web' }]) {
      const refused = createTestServer({ env })
      await expect(refused).rejects.toThrow(ConfigError)
      await expect(refused).rejects.toThrow(
        /^BATON_REFRESH_TOKEN_TTL: must be longer than BATON_ACCESS_TOKEN_TTL \(2s is not longer than 10s\) while OAuth clients are configured \(BATON_OAUTH_CLIENTS=(baton|web)\): the refresh_token grant carries no access token \(RFC 6749 §6\).*set BATON_OAUTH_CLIENTS=none/,
      )
    }
    // Equal lifetimes are no better: the refresh token dies with the access token.
    await expect(
      createTestServer({ env: { ...withDefaultClient, BATON_REFRESH_TOKEN_TTL: '10s' } }),
    ).rejects.toThrow(/BATON_REFRESH_TOKEN_TTL: must be longer than BATON_ACCESS_TOKEN_TTL/)
  })

  it('with BATON_OAUTH_CLIENTS=none, /oauth/token knows no client', async () => {
    server = await createTestServer({ env: sliding })
    expect(server.config.oauthClients).toEqual([])
    const response = await server.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'grant_type=password&client_id=baton&username=a%40example.com&password=x',
    })
    expect(response.statusCode).toBe(401)
    expect(response.json()).toMatchObject({ error: 'invalid_client' })
  })

  it('refuses to start with the same lifetimes while clients are registered in the database', async () => {
    const storage = createTestStorage()
    try {
      const before = await createTestServer({ storage })
      await before.database.insertClient({ id: 'mobile', secretHash: null, createdAt: Date.now() })
      await before.close()
      await expect(createTestServer({ storage, env: sliding })).rejects.toThrow(
        /^BATON_REFRESH_TOKEN_TTL: must be longer than BATON_ACCESS_TOKEN_TTL \(2s is not longer than 10s\) while OAuth clients are registered in the database \(mobile; `baton clients remove` them first\)/,
      )
    } finally {
      await storage.drop()
    }
  })

  it('an OAuth client refreshes after its access token expired with the lifetimes allowed', async () => {
    // What the refusal protects: RFC 6749 clients refresh once the access token has expired.
    // On a whole second: token lifetimes count whole seconds from the second they were issued in.
    const clock = new ManualClock(Math.floor(Date.now() / 1000) * 1000)
    server = await createTestServer({
      env: { BATON_ACCESS_TOKEN_TTL: '10s', BATON_REFRESH_TOKEN_TTL: '11s' },
      clock,
    })
    await signup(server, 'oauth-late@example.com')
    const form = (fields: Record<string, string>) =>
      server.app.inject({
        method: 'POST',
        url: '/oauth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ client_id: 'baton', ...fields }).toString(),
      })
    const granted = await form({
      grant_type: 'password',
      username: 'oauth-late@example.com',
      password: strongPassword,
    })
    expect(granted.statusCode).toBe(200)
    server.clock.advance(10.5)
    const refreshed = await form({
      grant_type: 'refresh_token',
      refresh_token: granted.json<{ refresh_token: string }>().refresh_token,
    })
    expect(refreshed.statusCode).toBe(200)
  })

  it('refuses the same lifetimes with sliding refresh off, saying why', async () => {
    await expect(
      createTestServer({ env: { ...sliding, BATON_SLIDING_REFRESH: 'false' } }),
    ).rejects.toThrow(
      /BATON_REFRESH_TOKEN_TTL: must be longer than BATON_ACCESS_TOKEN_TTL while BATON_SLIDING_REFRESH=false/,
    )
  })
})

describe('the two-token table', () => {
  const short = { BATON_ACCESS_TOKEN_TTL: '5m', BATON_REFRESH_TOKEN_TTL: '1h' }

  it('valid access + valid refresh: rotates', async () => {
    server = await createTestServer({ env: short })
    const tokens = await signup(server)
    const response = await refresh(server, tokens.refreshToken, tokens.accessToken)
    expect(response.statusCode).toBe(200)
    expect(json(response).sessionId).toBe(tokens.sessionId)
  })

  it('expired access + valid refresh: rotates with a new access token', async () => {
    server = await createTestServer({ env: short })
    const tokens = await signup(server)
    server.clock.advance(6 * 60)
    expect((await me(server, tokens.accessToken)).json()).toMatchObject({
      error: 'access_token_expired',
    })
    const response = await refresh(server, tokens.refreshToken, tokens.accessToken)
    expect(response.statusCode).toBe(200)
    expect((await me(server, json(response).accessToken)).statusCode).toBe(200)
  })

  it('valid access + expired refresh: slides the session (same session, new tokens)', async () => {
    server = await createTestServer({ env: short })
    const tokens = await signup(server)
    server.clock.advance(61 * 60)
    const fresh = mintAccessToken(tokens)
    const response = await refresh(server, tokens.refreshToken, fresh)
    expect(response.statusCode).toBe(200)
    const slid = json(response)
    expect(slid.sessionId).toBe(tokens.sessionId)
    expect(decodeJWT(slid.refreshToken!).payload.jti).not.toBe(
      decodeJWT(tokens.refreshToken).payload.jti,
    )
    expect(slid.refreshExpiresIn).toBe(3600)
    expect((await refresh(server, slid.refreshToken!)).statusCode).toBe(200)
    await expect(
      server.metrics.registry.getSingleMetricAsString('baton_refreshes_total'),
    ).resolves.toMatch(/outcome="sliding"} 1/)
  })

  it('valid access + expired refresh: refused when sliding refresh is off', async () => {
    server = await createTestServer({ env: { ...short, BATON_SLIDING_REFRESH: 'false' } })
    const tokens = await signup(server)
    server.clock.advance(61 * 60)
    const fresh = mintAccessToken(tokens)
    const response = await refresh(server, tokens.refreshToken, fresh)
    expect(response.statusCode).toBe(401)
    expect(response.json()).toMatchObject({ error: 'refresh_token_expired' })
  })

  it('valid access + expired refresh: refused when the refresh token is not the current one', async () => {
    server = await createTestServer({ env: short })
    const first = await signup(server)
    await refresh(server, first.refreshToken)
    server.clock.advance(61 * 60)
    const fresh = mintAccessToken(first)
    const response = await refresh(server, first.refreshToken, fresh)
    expect(response.json()).toMatchObject({ error: 'refresh_token_expired' })
  })

  it('valid access of another session does not slide an expired refresh token', async () => {
    server = await createTestServer({ env: short })
    const victim = await signup(server)
    const other = await signup(server)
    server.clock.advance(61 * 60)
    const otherAccess = mintAccessToken(other)
    const response = await refresh(server, victim.refreshToken, otherAccess)
    expect(response.json()).toMatchObject({ error: 'refresh_token_expired' })
  })

  it('expired access + expired refresh: login_required', async () => {
    server = await createTestServer({ env: short })
    const tokens = await signup(server)
    server.clock.advance(61 * 60)
    const response = await refresh(server, tokens.refreshToken, tokens.accessToken)
    expect(response.statusCode).toBe(401)
    expect(response.json()).toMatchObject({ error: 'login_required' })
  })

  it('no access + expired refresh: refresh_token_expired', async () => {
    server = await createTestServer({ env: short })
    const tokens = await signup(server)
    server.clock.advance(61 * 60)
    expect((await refresh(server, tokens.refreshToken)).json()).toMatchObject({
      error: 'refresh_token_expired',
    })
  })

  it('no refresh token at all: login_required', async () => {
    server = await createTestServer()
    const response = await server.app.inject({ method: 'POST', url: '/auth/refresh' })
    expect(response.statusCode).toBe(401)
    expect(response.json()).toMatchObject({ error: 'login_required' })
  })

  it('a revoked session: session_revoked', async () => {
    server = await createTestServer()
    const tokens = await signup(server)
    await server.app.inject({
      method: 'POST',
      url: '/auth/logout',
      payload: { refreshToken: tokens.refreshToken },
    })
    const response = await refresh(server, tokens.refreshToken)
    expect(response.statusCode).toBe(401)
    expect(response.json()).toMatchObject({ error: 'session_revoked' })
  })
})
