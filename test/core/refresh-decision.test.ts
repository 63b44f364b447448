import { afterEach, describe, expect, it } from 'vitest'
import type { SessionRecord } from '../../packages/server/src/core/ports.js'
import {
  decideRefresh,
  type RefreshFacts,
  type RefreshRules,
} from '../../packages/server/src/core/sessions/refresh-decision.js'
import type { IssuedTokens } from '../../packages/server/src/core/sessions/session-service.js'
import type { RefreshTokenClaims } from '../../packages/server/src/core/tokens/refresh-token.js'
import { createTestEngine, refusalCode, type TestEngine } from '../helpers/engine.js'

const context = { ip: '203.0.113.7', userAgent: 'refresh-decision-test' }

// The pure step function: what it asks for, and what it decides from a given record.
describe('decideRefresh', () => {
  const rules: RefreshRules = { refreshReuseGrace: 10, slidingRefresh: true }
  const now = Date.UTC(2026, 0, 1)
  const claims: RefreshTokenClaims = {
    iss: 'https://issuer.test',
    sub: 'u1',
    aud: 'https://issuer.test',
    iat: now / 1000,
    exp: now / 1000 + 3600,
    jti: 'jti-current',
    sid: 's1',
  }
  const record: SessionRecord = {
    id: 's1',
    userId: 'u1',
    createdAt: now - 60_000,
    lastUsedAt: now - 60_000,
    expiresAt: now + 86_400_000,
    ip: null,
    userAgent: null,
    scope: '',
    clientId: null,
    currentJti: 'jti-current',
    currentIssuedAt: now / 1000,
    currentExpiresAt: now / 1000 + 3600,
    previousJti: 'jti-previous',
    rotatedAt: now - 5_000,
    revokedAt: null,
    revokedReason: null,
    purgeAt: now + 86_400_000,
  }
  const facts = (extra: Partial<RefreshFacts> = {}): RefreshFacts => ({
    claims,
    refreshExpired: false,
    presentedBy: null,
    swaps: 'untried',
    now,
    ...extra,
  })

  it('tries the unread swap first for an unexpired token, then reads the record', () => {
    expect(decideRefresh(facts(), rules)).toEqual({
      kind: 'rotate',
      sessionExpiresAt: Number.POSITIVE_INFINITY,
      how: 'rotated',
    })
    expect(decideRefresh(facts({ swaps: 'missed_unread' }), rules)).toEqual({
      kind: 'read_session',
    })
    expect(decideRefresh(facts({ swaps: 'missed_unread', session: record }), rules)).toEqual({
      kind: 'rotate',
      sessionExpiresAt: record.expiresAt,
      how: 'rotated',
    })
  })

  it('asks for the access token only when the refresh token has expired', () => {
    expect(decideRefresh(facts({ refreshExpired: true }), rules)).toEqual({
      kind: 'inspect_access',
    })
    expect(decideRefresh(facts({ refreshExpired: true, access: 'valid' }), rules)).toEqual({
      kind: 'read_session',
    })
    expect(
      decideRefresh(facts({ refreshExpired: true, access: 'valid', session: record }), rules),
    ).toEqual({ kind: 'rotate', sessionExpiresAt: record.expiresAt, how: 'sliding' })
  })

  it('after losing the swap to a concurrent refresh, the winner decides: its successor', () => {
    const won = { ...record, previousJti: 'jti-current', currentJti: 'jti-next', rotatedAt: now }
    expect(decideRefresh(facts({ swaps: 'lost' }), rules)).toEqual({ kind: 'read_session' })
    expect(decideRefresh(facts({ swaps: 'lost', session: won }), rules)).toEqual({
      kind: 'replay_successor',
      session: won,
    })
    // A lost slide is not retried: the token it would slide is no longer current.
    expect(
      decideRefresh(facts({ refreshExpired: true, access: 'valid', swaps: 'lost' }), rules),
    ).toMatchObject({ kind: 'reject', code: 'refresh_token_expired' })
  })

  it('refuses a live-looking token of a session past its maximum age', () => {
    const ended = { ...record, expiresAt: now }
    expect(decideRefresh(facts({ swaps: 'missed_unread', session: ended }), rules)).toEqual({
      kind: 'reject',
      code: 'refresh_token_expired',
      message: 'The session reached its maximum age; sign in again.',
    })
  })

  it('grace is inclusive of its last millisecond and off at 0', () => {
    const retired = { ...claims, jti: 'jti-previous' }
    const at = (ms: number, grace: number) =>
      decideRefresh(facts({ claims: retired, swaps: 'missed_unread', session: record, now: ms }), {
        ...rules,
        refreshReuseGrace: grace,
      }).kind
    expect(at(record.rotatedAt! + 10_000, 10)).toBe('replay_successor')
    expect(at(record.rotatedAt! + 10_001, 10)).toBe('revoke_for_reuse')
    expect(at(record.rotatedAt! + 1, 0)).toBe('revoke_for_reuse')
  })
})

// The whole two-token table through SessionService.refresh over the memory store.
describe('the two-token table over the memory store', () => {
  let engine: TestEngine
  afterEach(() => engine?.close())

  async function startSession(
    env: Record<string, string> = {},
    overrides: Parameters<typeof createTestEngine>[1] = {},
    grant?: { scope: string; clientId: string | null },
  ): Promise<IssuedTokens> {
    engine = await createTestEngine(env, overrides)
    const user = await engine.addUser()
    return engine.baton.sessions.start(user, context, grant)
  }

  const stored = (issued: IssuedTokens) =>
    engine.store.get({ userId: issued.user.id, sessionId: issued.session.id }, engine.clock.now())
  const denied = (issued: IssuedTokens) =>
    engine.store.isDenied(
      { userId: issued.user.id, sessionId: issued.session.id },
      engine.clock.now(),
    )
  const jtiOf = (token: string): string =>
    (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { jti: string }).jti

  const refresh = (refreshToken: string, accessToken: string | null = null, clientId?: string) =>
    engine.baton.sessions.refresh({ refreshToken, accessToken, context, clientId })

  /** An access token of the session minted now, as an embedding app may do. */
  const freshAccess = (issued: IssuedTokens): string =>
    engine.baton.accessTokens.issue({
      userId: issued.user.id,
      sessionId: issued.session.id,
      scope: '',
      roles: issued.user.roles,
      clientId: null,
    }).token

  it('access valid + refresh valid: rotates, retiring the presented token', async () => {
    const first = await startSession()
    engine.clock.advance(60)
    const next = await refresh(first.refreshToken, first.accessToken)
    expect(next.session.id).toBe(first.session.id)
    expect(engine.reports).toEqual(['refresh:rotated'])
    const record = await stored(first)
    expect(record).toMatchObject({
      currentJti: jtiOf(next.refreshToken),
      previousJti: jtiOf(first.refreshToken),
      rotatedAt: engine.clock.now(),
      revokedAt: null,
      ip: context.ip,
    })
    expect(record!.currentExpiresAt).toBe(engine.clock.now() / 1000 + engine.config.refreshTokenTtl)
  })

  it('access expired + refresh valid: rotates with a new access token', async () => {
    const first = await startSession()
    engine.clock.advance(engine.config.accessTokenTtl + 1)
    const next = await refresh(first.refreshToken, first.accessToken)
    expect(next.accessToken).not.toBe(first.accessToken)
    await expect(engine.baton.authenticate(next.accessToken)).resolves.toMatchObject({
      sid: first.session.id,
    })
    expect(engine.reports).toEqual(['refresh:rotated'])
    expect((await stored(first))?.currentJti).toBe(jtiOf(next.refreshToken))
  })

  it('access valid + refresh expired: slides the session (a minted access token)', async () => {
    const first = await startSession()
    engine.clock.advance(engine.config.refreshTokenTtl + 1)
    const slid = await refresh(first.refreshToken, freshAccess(first))
    expect(slid.session.id).toBe(first.session.id)
    expect(slid.refreshExpiresIn).toBe(engine.config.refreshTokenTtl)
    expect(engine.reports).toEqual(['refresh:sliding'])
    expect(await stored(first)).toMatchObject({
      currentJti: jtiOf(slid.refreshToken),
      previousJti: jtiOf(first.refreshToken),
      revokedAt: null,
    })
  })

  it('access valid + refresh expired: reached by the lifetimes alone once refresh TTL < access TTL', async () => {
    // The config refuses this today (refresh TTL must exceed access TTL); the engine does not.
    const first = await startSession({}, { accessTokenTtl: 900, refreshTokenTtl: 60 })
    engine.clock.advance(61)
    const slid = await refresh(first.refreshToken, first.accessToken)
    expect(slid.session.id).toBe(first.session.id)
    expect(engine.reports).toEqual(['refresh:sliding'])
    expect((await stored(first))?.currentJti).toBe(jtiOf(slid.refreshToken))
  })

  it('access valid + refresh expired: refused with sliding off, or for a retired token', async () => {
    const first = await startSession({ BATON_SLIDING_REFRESH: 'false' })
    engine.clock.advance(engine.config.refreshTokenTtl + 1)
    expect(await refusalCode(refresh(first.refreshToken, freshAccess(first)))).toBe(
      'refresh_token_expired',
    )
    expect((await stored(first))?.currentJti).toBe(jtiOf(first.refreshToken))

    const again = await startSession()
    const next = await refresh(again.refreshToken)
    engine.clock.advance(engine.config.refreshTokenTtl + 1)
    expect(await refusalCode(refresh(again.refreshToken, freshAccess(again)))).toBe(
      'refresh_token_expired',
    )
    // The retired token was not taken for reuse: nothing changed.
    expect(await stored(again)).toMatchObject({
      currentJti: jtiOf(next.refreshToken),
      revokedAt: null,
    })
  })

  it('access of another session + refresh expired: refresh_token_expired', async () => {
    const first = await startSession()
    const other = await engine.baton.sessions.start(first.user, context)
    engine.clock.advance(engine.config.refreshTokenTtl + 1)
    expect(await refusalCode(refresh(first.refreshToken, freshAccess(other)))).toBe(
      'refresh_token_expired',
    )
    expect((await stored(first))?.currentJti).toBe(jtiOf(first.refreshToken))
  })

  it('access expired + refresh expired: login_required, nothing changes', async () => {
    const first = await startSession()
    engine.clock.advance(engine.config.refreshTokenTtl + 1)
    expect(await refusalCode(refresh(first.refreshToken, first.accessToken))).toBe('login_required')
    expect(engine.reports).toEqual(['refresh:expired'])
    expect(await stored(first)).toMatchObject({
      currentJti: jtiOf(first.refreshToken),
      revokedAt: null,
    })
  })

  it('no access + refresh expired: refresh_token_expired', async () => {
    const first = await startSession()
    engine.clock.advance(engine.config.refreshTokenTtl + 1)
    expect(await refusalCode(refresh(first.refreshToken))).toBe('refresh_token_expired')
  })

  it('grace replay: a retried refresh gets the same successor, the store keeps it', async () => {
    const first = await startSession()
    const next = await refresh(first.refreshToken)
    engine.clock.advance(engine.config.refreshReuseGrace)
    const replay = await refresh(first.refreshToken)
    expect(jtiOf(replay.refreshToken)).toBe(jtiOf(next.refreshToken))
    expect(engine.reports).toEqual(['refresh:rotated', 'refresh:grace_replay'])
    expect(await stored(first)).toMatchObject({
      currentJti: jtiOf(next.refreshToken),
      previousJti: jtiOf(first.refreshToken),
      revokedAt: null,
    })
  })

  it('two concurrent refreshes of one token: one rotation, both get the same successor', async () => {
    const first = await startSession()
    const [a, b] = await Promise.all([refresh(first.refreshToken), refresh(first.refreshToken)])
    expect(jtiOf(a.refreshToken)).toBe(jtiOf(b.refreshToken))
    expect([...engine.reports].sort()).toEqual(['refresh:grace_replay', 'refresh:rotated'])
  })

  it('reuse after grace: revokes the session, deny-lists it and records the event', async () => {
    const first = await startSession()
    const next = await refresh(first.refreshToken)
    engine.clock.advance(engine.config.refreshReuseGrace + 1)
    expect(await refusalCode(refresh(first.refreshToken))).toBe('refresh_token_reused')
    expect(await stored(first)).toMatchObject({
      revokedAt: engine.clock.now(),
      revokedReason: 'refresh_token_reused',
    })
    expect(await denied(first)).toBe(true)
    const { items: events } = await engine.store.listEvents({ userId: first.user.id, limit: 5 })
    expect(events.map((event) => event.type)).toContain('refresh_token_reused')
    // The successor dies with the session.
    expect(await refusalCode(refresh(next.refreshToken))).toBe('session_revoked')
    expect(engine.reports).toEqual([
      'refresh:rotated',
      'revocation:refresh_token_reused:1',
      'refresh:reused',
      'refresh:revoked',
    ])
  })

  it('revoked session: session_revoked, the revocation stays as it was', async () => {
    const first = await startSession()
    engine.clock.advance(5)
    await engine.baton.sessions.revoke(
      { userId: first.user.id, sessionId: first.session.id },
      'logout',
    )
    const revokedAt = engine.clock.now()
    engine.clock.advance(5)
    expect(await refusalCode(refresh(first.refreshToken))).toBe('session_revoked')
    expect(await stored(first)).toMatchObject({ revokedAt, revokedReason: 'logout' })
  })

  it('session max age: refused even with a valid access token, nothing revoked', async () => {
    const first = await startSession({
      BATON_REFRESH_TOKEN_TTL: '1h',
      BATON_SESSION_MAX_AGE: '90m',
    })
    engine.clock.advance(3000)
    const next = await refresh(first.refreshToken)
    // Capped at the session's end, not a full refresh TTL later.
    expect(next.refreshExpiresIn).toBe(90 * 60 - 3000)
    engine.clock.advance(90 * 60 - 3000)
    expect(await refusalCode(refresh(next.refreshToken))).toBe('refresh_token_expired')
    expect(await refusalCode(refresh(next.refreshToken, freshAccess(first)))).toBe(
      'refresh_token_expired',
    )
    // Nothing was revoked: the record simply ends at the session's end (its purgeAt).
    expect(await stored(first)).toBeNull()
    expect(await denied(first)).toBe(false)
    expect(engine.reports).toEqual(['refresh:rotated', 'refresh:expired', 'refresh:expired'])
  })

  it('deny-listed (signed out everywhere): no refresh and no slide, the deny-list holds', async () => {
    const first = await startSession()
    const access = freshAccess(first)
    await engine.baton.sessions.revokeAllForUser(first.user.id, 'logout_all')
    expect(await denied(first)).toBe(true)
    expect(await refusalCode(refresh(first.refreshToken, access))).toBe('session_revoked')
    engine.clock.advance(engine.config.refreshTokenTtl + 1)
    // An expired refresh token with a valid access token of the revoked session: no slide.
    expect(await refusalCode(refresh(first.refreshToken, freshAccess(first)))).toBe(
      'refresh_token_expired',
    )
    expect(await stored(first)).toMatchObject({ revokedReason: 'logout_all' })
  })

  it('wrong client: an OAuth token at /auth/refresh, an /auth token at another client', async () => {
    const oauth = await startSession({}, {}, { scope: '', clientId: 'baton' })
    expect(await refusalCode(refresh(oauth.refreshToken))).toBe('invalid_token')
    expect(await refusalCode(refresh(oauth.refreshToken, null, 'other'))).toBe('invalid_grant')
    expect((await stored(oauth))?.currentJti).toBe(jtiOf(oauth.refreshToken))
    const own = await refresh(oauth.refreshToken, null, 'baton')
    expect(own.session.id).toBe(oauth.session.id)

    const auth = await engine.baton.sessions.start(oauth.user, context)
    expect(await refusalCode(refresh(auth.refreshToken, null, 'baton'))).toBe('invalid_grant')
    expect((await stored(auth))?.currentJti).toBe(jtiOf(auth.refreshToken))
  })

  it('wrong kind: an access token presented as a refresh token is invalid_token', async () => {
    const first = await startSession()
    expect(await refusalCode(refresh(first.accessToken))).toBe('invalid_token')
    expect((await stored(first))?.currentJti).toBe(jtiOf(first.refreshToken))
    expect(engine.reports).toEqual(['refresh:invalid'])
  })
})
