import { generateKeyPairSync } from 'node:crypto'
import { calculateJwkThumbprint, SignJWT } from 'jose'
import * as oauth from 'oauth4webapi'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DatabaseStore } from '../../packages/server/src/core/ports.js'
import { createOAuthTestServer, createUser, insecure, oauthFailure } from '../helpers/oauth.js'
import type { OAuthTestServer } from '../helpers/oauth.js'
import { decodeJWT, me, refresh, signup, strongPassword } from '../helpers/server.js'

/**
 * The OAuth endpoints driven by a real third-party client (oauth4webapi) over HTTP against a
 * listening server: what a standard OAuth library sees.
 */

const backendSecret = 'backend-secret-0123456789'
const otherSecret = 'other-secret-0123456789ab'
const introspector = { id: 'resource-server', secret: 'introspection-secret-0123' }

const web: oauth.Client = { client_id: 'web' }
const backend: oauth.Client = { client_id: 'backend' }
const other: oauth.Client = { client_id: 'other' }
const resourceServer: oauth.Client = { client_id: introspector.id }

let server: OAuthTestServer
// Roles a test takes away from a user after sign-in (the store has no role management).
const roleOverrides = new Map<string, string[]>()

function withRoleOverrides(database: DatabaseStore): DatabaseStore {
  return new Proxy(database, {
    get(target, property, receiver) {
      if (property !== 'findUserById') return Reflect.get(target, property, receiver) as unknown
      return async (id: string) => {
        const user = await target.findUserById(id)
        const roles = roleOverrides.get(id)
        return user === null || roles === undefined ? user : { ...user, roles }
      }
    },
  })
}

beforeAll(async () => {
  server = await createOAuthTestServer({
    env: {
      // Deterministic signatures: a grace replay is the same token byte for byte.
      BATON_SIGNING_ALG: 'EdDSA',
      BATON_OAUTH_CLIENTS: `web,backend:${backendSecret},other:${otherSecret}`,
      BATON_SCOPES: 'read write admin=admin',
      BATON_INTROSPECTION_CREDENTIALS: `${introspector.id}:${introspector.secret}`,
    },
    wrapDatabase: withRoleOverrides,
  })
})
afterAll(async () => server?.close())

async function passwordGrant(
  client: oauth.Client,
  auth: oauth.ClientAuth,
  user: { email: string; password?: string },
  scope?: string,
): Promise<oauth.TokenEndpointResponse> {
  const response = await oauth.genericTokenEndpointRequest(
    server.as,
    client,
    auth,
    'password',
    {
      username: user.email,
      password: user.password ?? strongPassword,
      ...(scope === undefined ? {} : { scope }),
    },
    insecure,
  )
  return oauth.processGenericTokenEndpointResponse(server.as, client, response)
}

async function refreshGrant(
  client: oauth.Client,
  auth: oauth.ClientAuth,
  refreshToken: string,
  scope?: string,
): Promise<oauth.TokenEndpointResponse> {
  const response = await oauth.refreshTokenGrantRequest(server.as, client, auth, refreshToken, {
    ...insecure,
    ...(scope === undefined ? {} : { additionalParameters: { scope } }),
  })
  return oauth.processRefreshTokenResponse(server.as, client, response)
}

async function revoke(
  client: oauth.Client,
  auth: oauth.ClientAuth,
  token: string,
  hint?: string,
): Promise<void> {
  const response = await oauth.revocationRequest(server.as, client, auth, token, {
    ...insecure,
    ...(hint === undefined ? {} : { additionalParameters: { token_type_hint: hint } }),
  })
  await oauth.processRevocationResponse(response)
}

async function introspect(
  token: string,
  secret = introspector.secret,
): Promise<oauth.IntrospectionResponse> {
  const response = await oauth.introspectionRequest(
    server.as,
    resourceServer,
    oauth.ClientSecretBasic(secret),
    token,
    insecure,
  )
  return oauth.processIntrospectionResponse(server.as, resourceServer, response)
}

const refreshTokenOf = (tokens: oauth.TokenEndpointResponse): string => {
  if (tokens.refresh_token === undefined) throw new Error('no refresh token')
  return tokens.refresh_token
}

describe('discovery (RFC 8414)', () => {
  it('publishes metadata a standard client accepts, with URLs under the issuer', async () => {
    const { as, issuer } = server
    expect(as).toMatchObject({
      issuer,
      token_endpoint: `${issuer}/oauth/token`,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      revocation_endpoint: `${issuer}/oauth/revoke`,
      introspection_endpoint: `${issuer}/oauth/introspect`,
      grant_types_supported: ['password', 'refresh_token'],
      response_types_supported: [],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      revocation_endpoint_auth_methods_supported: [
        'client_secret_basic',
        'client_secret_post',
        'none',
      ],
      introspection_endpoint_auth_methods_supported: ['client_secret_basic'],
      scopes_supported: ['read', 'write', 'admin'],
    })
    expect(as.authorization_endpoint).toBeUndefined()
    const jwks = (await (await fetch(as.jwks_uri!)).json()) as { keys: { kid: string }[] }
    const { header } = decodeJWT(
      (await passwordGrant(web, oauth.None(), await signup(server).then((t) => t.user)))
        .access_token,
    )
    expect(jwks.keys.map((key) => key.kid)).toContain(header.kid)
  })
})

describe('password grant', () => {
  it('signs in a public client with client_id alone', async () => {
    const { user } = await signup(server)
    const tokens = await passwordGrant(web, oauth.None(), user, 'read')
    expect(tokens).toMatchObject({ token_type: 'bearer', expires_in: 900, scope: 'read' })
    const access = decodeJWT(tokens.access_token)
    expect(access.header.typ).toBe('at+jwt')
    expect(access.payload).toMatchObject({ sub: user.id, client_id: 'web', scope: 'read' })
    expect(decodeJWT(refreshTokenOf(tokens)).payload).toMatchObject({
      sub: user.id,
      client_id: 'web',
      scope: 'read',
      sid: access.payload.sid,
    })
    // An ordinary access token: Baton's own bearer routes take it.
    expect((await me(server, tokens.access_token)).statusCode).toBe(200)
  })

  it('signs in a confidential client with client_secret_basic and client_secret_post', async () => {
    const { user } = await signup(server)
    const basic = await passwordGrant(backend, oauth.ClientSecretBasic(backendSecret), user)
    const post = await passwordGrant(backend, oauth.ClientSecretPost(backendSecret), user)
    for (const tokens of [basic, post]) {
      expect(tokens.scope).toBe('')
      expect(decodeJWT(tokens.access_token).payload).toMatchObject({
        client_id: 'backend',
        scope: '',
      })
    }
    // Two sign-ins, two sessions.
    expect(decodeJWT(basic.access_token).payload.sid).not.toBe(
      decodeJWT(post.access_token).payload.sid,
    )
  })

  it('answers invalid_client to a bad secret: with a Basic challenge only after Basic', async () => {
    const { user } = await signup(server)
    const basic = await oauthFailure(
      passwordGrant(backend, oauth.ClientSecretBasic(otherSecret), user),
    )
    expect(basic).toMatchObject({ status: 401, error: 'invalid_client' })
    expect(basic.challenge).toMatch(/^Basic realm=/)
    const post = await oauthFailure(
      passwordGrant(backend, oauth.ClientSecretPost(otherSecret), user),
    )
    expect(post).toMatchObject({ status: 401, error: 'invalid_client', challenge: null })
    // A confidential client without its secret, an unknown client, a public one with a secret.
    for (const [client, auth] of [
      [backend, oauth.None()],
      [{ client_id: 'stranger' }, oauth.None()],
      [web, oauth.ClientSecretPost('a secret the web client does not have')],
    ] as const) {
      expect(await oauthFailure(passwordGrant(client, auth, user))).toMatchObject({
        status: 401,
        error: 'invalid_client',
      })
    }
  })

  it('answers invalid_grant, identically, to a wrong password and an unknown username', async () => {
    const { user } = await signup(server)
    const wrong = await oauthFailure(
      passwordGrant(web, oauth.None(), { email: user.email, password: 'not the password' }),
    )
    const unknown = await oauthFailure(
      passwordGrant(web, oauth.None(), { email: `nobody-${user.email}` }),
    )
    expect(wrong).toEqual({
      status: 400,
      error: 'invalid_grant',
      description: 'The username or password is incorrect.',
      challenge: null,
    })
    expect(unknown).toEqual(wrong)
  })
})

describe('refresh grant', () => {
  it('rotates: a new refresh token in the same session, with a new access token', async () => {
    const { user } = await signup(server)
    const first = await passwordGrant(web, oauth.None(), user, 'read write')
    const second = await refreshGrant(web, oauth.None(), refreshTokenOf(first))
    expect(second.refresh_token).not.toBe(first.refresh_token)
    expect(second.scope).toBe('read write')
    const [a, b] = [first, second].map((tokens) => decodeJWT(refreshTokenOf(tokens)).payload)
    expect(b?.sid).toBe(a?.sid)
    expect(b?.jti).not.toBe(a?.jti)
    expect((await me(server, second.access_token)).statusCode).toBe(200)
    // The successor rotates too.
    await refreshGrant(web, oauth.None(), refreshTokenOf(second))
  })

  it('replays the same successor within the grace window', async () => {
    const { user } = await signup(server)
    const first = await passwordGrant(backend, oauth.ClientSecretBasic(backendSecret), user)
    const a = await refreshGrant(
      backend,
      oauth.ClientSecretBasic(backendSecret),
      first.refresh_token!,
    )
    server.clock.advance(5)
    const b = await refreshGrant(
      backend,
      oauth.ClientSecretPost(backendSecret),
      first.refresh_token!,
    )
    // EdDSA: the re-signed successor is the same token, client_id and grant included.
    expect(b.refresh_token).toBe(a.refresh_token)
    expect(decodeJWT(b.refresh_token!).payload.client_id).toBe('backend')
    expect((await me(server, b.access_token)).statusCode).toBe(200)
  })

  it('revokes the session when a retired token comes back after the window', async () => {
    const { user } = await signup(server)
    const first = await passwordGrant(web, oauth.None(), user)
    const second = await refreshGrant(web, oauth.None(), refreshTokenOf(first))
    server.clock.advance(11)
    const reuse = await oauthFailure(refreshGrant(web, oauth.None(), refreshTokenOf(first)))
    expect(reuse).toMatchObject({ status: 400, error: 'invalid_grant' })
    expect(reuse.description).toMatch(/already used/)
    // Every token of the session is dead.
    const newest = await oauthFailure(refreshGrant(web, oauth.None(), refreshTokenOf(second)))
    expect(newest).toMatchObject({ status: 400, error: 'invalid_grant' })
    expect(newest.description).toMatch(/ended/)
    const access = await me(server, second.access_token)
    expect(access.statusCode).toBe(401)
    expect(access.json()).toMatchObject({ error: 'session_revoked' })
    const { items: events } = await server.database.listEvents({ userId: user.id, limit: 10 })
    expect(events.map((event) => event.type)).toContain('refresh_token_reused')
  })

  it('refuses a refresh token presented by another client, changing nothing', async () => {
    const { user } = await signup(server)
    const tokens = await passwordGrant(web, oauth.None(), user)
    const stolen = await oauthFailure(
      refreshGrant(backend, oauth.ClientSecretBasic(backendSecret), refreshTokenOf(tokens)),
    )
    expect(stolen).toMatchObject({
      status: 400,
      error: 'invalid_grant',
      description: 'The refresh token was issued to another client.',
    })
    // Not rotated, not revoked: still the session's current token, and it refreshes for `web`.
    expect(await introspect(refreshTokenOf(tokens))).toMatchObject({ active: true })
    server.clock.advance(60)
    await refreshGrant(web, oauth.None(), refreshTokenOf(tokens))
  })

  it('keeps /auth and OAuth refresh tokens apart, without rotating or revoking either', async () => {
    const session = await signup(server)
    expect(await oauthFailure(refreshGrant(web, oauth.None(), session.refreshToken))).toMatchObject(
      { status: 400, error: 'invalid_grant' },
    )
    const oauthTokens = await passwordGrant(web, oauth.None(), session.user)
    const atAuth = await refresh(server, refreshTokenOf(oauthTokens))
    expect(atAuth.statusCode).toBe(401)
    expect(atAuth.json()).toMatchObject({ error: 'invalid_token' })
    // Both still work where they belong.
    server.clock.advance(60)
    expect((await refresh(server, session.refreshToken)).statusCode).toBe(200)
    await refreshGrant(web, oauth.None(), refreshTokenOf(oauthTokens))
  })
})

describe('scope', () => {
  it('grants a subset of what the user may have, and refuses more', async () => {
    const { user } = await signup(server)
    expect((await passwordGrant(web, oauth.None(), user, 'write read')).scope).toBe('write read')
    for (const scope of ['read admin', 'delete', 'read\twrite']) {
      expect(await oauthFailure(passwordGrant(web, oauth.None(), user, scope))).toMatchObject({
        status: 400,
        error: 'invalid_scope',
      })
    }
    const admin = await createUser(server, ['user', 'admin'])
    const tokens = await passwordGrant(web, oauth.None(), admin, 'admin read')
    expect(tokens.scope).toBe('admin read')
    expect(decodeJWT(tokens.access_token).payload.roles).toEqual(['user', 'admin'])
  })

  it('narrows on refresh for the access token only, and never widens', async () => {
    const { user } = await signup(server)
    const first = await passwordGrant(web, oauth.None(), user, 'read write')
    const narrowed = await refreshGrant(web, oauth.None(), refreshTokenOf(first), 'read')
    expect(narrowed.scope).toBe('read')
    expect(decodeJWT(narrowed.access_token).payload.scope).toBe('read')
    // The session keeps its grant: the next refresh may ask for all of it again.
    expect(decodeJWT(refreshTokenOf(narrowed)).payload.scope).toBe('read write')
    const full = await refreshGrant(web, oauth.None(), refreshTokenOf(narrowed))
    expect(full.scope).toBe('read write')

    const wider = await oauthFailure(
      refreshGrant(web, oauth.None(), refreshTokenOf(full), 'read write admin'),
    )
    expect(wider).toMatchObject({ status: 400, error: 'invalid_scope' })
    // The refused request rotated nothing: the token is still current.
    expect(await introspect(refreshTokenOf(full))).toMatchObject({ active: true })
  })

  it('drops a scope the user lost since the grant', async () => {
    const admin = await createUser(server, ['user', 'admin'])
    const first = await passwordGrant(web, oauth.None(), admin, 'read admin')
    roleOverrides.set(admin.id, ['user'])
    try {
      const next = await refreshGrant(web, oauth.None(), refreshTokenOf(first))
      expect(next.scope).toBe('read')
      expect(decodeJWT(next.access_token).payload).toMatchObject({ scope: 'read', roles: ['user'] })
      // Asking for it explicitly does not bring it back.
      const asked = await refreshGrant(web, oauth.None(), refreshTokenOf(next), 'admin')
      expect(asked.scope).toBe('')
    } finally {
      roleOverrides.delete(admin.id)
    }
  })
})

describe('revocation (RFC 7009)', () => {
  it('revokes the session of a refresh token: its access token stops at once', async () => {
    const { user } = await signup(server)
    const tokens = await passwordGrant(web, oauth.None(), user)
    await revoke(web, oauth.None(), refreshTokenOf(tokens), 'refresh_token')
    const access = await me(server, tokens.access_token)
    expect(access.statusCode).toBe(401)
    expect(access.json()).toMatchObject({ error: 'session_revoked' })
    expect(
      await oauthFailure(refreshGrant(web, oauth.None(), refreshTokenOf(tokens))),
    ).toMatchObject({ error: 'invalid_grant' })
  })

  it('revokes the session of an access token, whatever the hint says', async () => {
    const { user } = await signup(server)
    const tokens = await passwordGrant(web, oauth.None(), user)
    await revoke(web, oauth.None(), tokens.access_token, 'refresh_token')
    expect((await me(server, tokens.access_token)).json()).toMatchObject({
      error: 'session_revoked',
    })
    expect(await introspect(refreshTokenOf(tokens))).toEqual({ active: false })
  })

  it("revokes a confidential client's token only with that client's credentials", async () => {
    const { user } = await signup(server)
    const tokens = await passwordGrant(backend, oauth.ClientSecretBasic(backendSecret), user)
    await revoke(web, oauth.None(), refreshTokenOf(tokens))
    await revoke(other, oauth.ClientSecretBasic(otherSecret), tokens.access_token)
    expect((await me(server, tokens.access_token)).statusCode).toBe(200)
    await revoke(backend, oauth.ClientSecretPost(backendSecret), refreshTokenOf(tokens))
    expect((await me(server, tokens.access_token)).json()).toMatchObject({
      error: 'session_revoked',
    })
  })

  it('lets whoever holds them revoke tokens of public clients and of /auth sessions', async () => {
    const session = await signup(server)
    await revoke(backend, oauth.ClientSecretBasic(backendSecret), session.refreshToken)
    expect((await me(server, session.accessToken)).json()).toMatchObject({
      error: 'session_revoked',
    })
    const tokens = await passwordGrant(web, oauth.None(), session.user)
    await revoke(other, oauth.ClientSecretPost(otherSecret), tokens.access_token)
    expect((await me(server, tokens.access_token)).statusCode).toBe(401)
  })

  it('answers 200 to garbage, and 401 to wrong client credentials', async () => {
    await revoke(web, oauth.None(), 'not-a-token')
    await revoke(web, oauth.None(), 'eyJhbGciOiJFZERTQSJ9.e30.c2ln')
    const { user } = await signup(server)
    const tokens = await passwordGrant(backend, oauth.ClientSecretBasic(backendSecret), user)
    const wrong = await oauthFailure(
      revoke(backend, oauth.ClientSecretBasic(otherSecret), refreshTokenOf(tokens)),
    )
    expect(wrong).toMatchObject({ status: 401, error: 'invalid_client' })
    expect((await me(server, tokens.access_token)).statusCode).toBe(200)
  })
})

describe('introspection (RFC 7662)', () => {
  it('describes an active access token', async () => {
    const { user } = await signup(server)
    const tokens = await passwordGrant(web, oauth.None(), user, 'read')
    const claims = decodeJWT(tokens.access_token).payload
    expect(await introspect(tokens.access_token)).toEqual({
      active: true,
      token_type: 'Bearer',
      scope: 'read',
      client_id: 'web',
      sub: user.id,
      iss: server.issuer,
      aud: 'baton',
      iat: claims.iat,
      exp: claims.exp,
      jti: claims.jti,
      sid: claims.sid,
      roles: ['user'],
    })
  })

  it('calls a refresh token active only while it is the current one', async () => {
    const { user } = await signup(server)
    const first = await passwordGrant(web, oauth.None(), user, 'write')
    const claims = decodeJWT(refreshTokenOf(first)).payload
    expect(await introspect(refreshTokenOf(first))).toEqual({
      active: true,
      token_type: 'refresh_token',
      scope: 'write',
      client_id: 'web',
      sub: user.id,
      iss: server.issuer,
      aud: server.issuer,
      iat: claims.iat,
      exp: claims.exp,
      jti: claims.jti,
      sid: claims.sid,
    })
    const second = await refreshGrant(web, oauth.None(), refreshTokenOf(first))
    // Retired, even though a replay would still be honoured within the grace window.
    expect(await introspect(refreshTokenOf(first))).toEqual({ active: false })
    expect(await introspect(refreshTokenOf(second))).toMatchObject({ active: true })
  })

  it('describes /auth session tokens too, without a client_id', async () => {
    const session = await signup(server)
    const access = await introspect(session.accessToken)
    expect(access).toMatchObject({ active: true, scope: '', sub: session.user.id })
    expect(access.client_id).toBeUndefined()
  })

  it('answers {active: false} and nothing else for expired, revoked and foreign tokens', async () => {
    const { user } = await signup(server)
    const revoked = await passwordGrant(web, oauth.None(), user)
    await revoke(web, oauth.None(), revoked.access_token)
    const expiring = await passwordGrant(web, oauth.None(), user)

    // Same claims and header, signed by a key that is not in our ring.
    const { privateKey, publicKey } = generateKeyPairSync('ed25519')
    const kid = await calculateJwkThumbprint(publicKey.export({ format: 'jwk' }))
    const { payload } = decodeJWT(expiring.access_token)
    const foreign = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'at+jwt' })
      .sign(privateKey)

    for (const token of [revoked.access_token, refreshTokenOf(revoked), foreign, 'garbage']) {
      expect(await introspect(token)).toEqual({ active: false })
    }
    expect(await introspect(expiring.access_token)).toMatchObject({ active: true })
    server.clock.advance(901)
    expect(await introspect(expiring.access_token)).toEqual({ active: false })
    // The raw answer holds nothing but `active`.
    const raw = await fetch(server.as.introspection_endpoint!, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${introspector.id}:${introspector.secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token: expiring.access_token }),
    })
    expect(raw.headers.get('cache-control')).toBe('no-store')
    expect(await raw.text()).toBe('{"active":false}')
  })

  it('answers 401 with a Basic challenge to wrong credentials', async () => {
    const { accessToken } = await signup(server)
    const failure = await oauthFailure(introspect(accessToken, 'not the introspection secret'))
    expect(failure).toMatchObject({ status: 401, error: 'invalid_client' })
    expect(failure.challenge).toMatch(/^Basic realm=/)
  })
})
