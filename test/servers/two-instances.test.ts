import { afterAll, beforeAll, expect, it } from 'vitest'
import { decodeJWT, strongPassword, uniqueEmail, type TokenBody } from '../helpers/server.js'
import { startServerProcess, type ServerProcess } from '../helpers/processes.js'
import { describeWith } from '../helpers/services.js'
import { createTestStorage, type TestStorage } from '../helpers/storage.js'

// Two `baton serve` processes sharing one PostgreSQL database and one Redis, as behind a load
// balancer: whatever one does, the other must honour.
const GRACE_SECONDS = 2
const KEY_RELOAD_SECONDS = 1

await describeWith(['postgres', 'redis'], 'two server processes on PostgreSQL + Redis', () => {
  let storage: TestStorage
  let env: Record<string, string>
  const servers: ServerProcess[] = []
  let a: ServerProcess
  let b: ServerProcess

  beforeAll(async () => {
    storage = createTestStorage('postgres+redis')
    env = {
      BATON_DATABASE_URL: storage.databaseUrl,
      BATON_SESSION_STORE_URL: storage.sessionStoreUrl,
      BATON_REFRESH_REUSE_GRACE: `${GRACE_SECONDS}s`,
      BATON_KEY_RELOAD_INTERVAL: `${KEY_RELOAD_SECONDS}s`,
      BATON_ISSUER: 'http://baton.test',
    }
    // Started together: the schema migrations must not race.
    ;[a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)])
    servers.push(a, b)
  })

  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()))
    await storage?.drop()
  })

  it('signs up on one and logs in on the other', async () => {
    const email = uniqueEmail()
    const signup = await post(a, '/auth/signup', { email, password: strongPassword })
    expect(signup.status).toBe(201)
    const login = await post(b, '/auth/login', { email, password: strongPassword })
    expect(login.status).toBe(200)
    const tokens = (await login.json()) as TokenBody
    expect((await me(a, tokens.accessToken)).status).toBe(200)
    expect((await me(b, tokens.accessToken)).status).toBe(200)
  })

  it('revokes the session on both when a rotated token is replayed on the other after the grace window', async () => {
    const first = await signupOn(a)
    const rotated = await post(a, '/auth/refresh', { refreshToken: first.refreshToken })
    expect(rotated.status).toBe(200)
    const second = (await rotated.json()) as TokenBody & { refreshToken: string }

    await new Promise((resolve) => setTimeout(resolve, GRACE_SECONDS * 1000 + 500))
    const replay = await post(b, '/auth/refresh', { refreshToken: first.refreshToken })
    expect(replay.status).toBe(401)
    expect(await replay.json()).toMatchObject({ error: 'refresh_token_reused' })

    for (const server of [a, b]) {
      const successor = await post(server, '/auth/refresh', { refreshToken: second.refreshToken })
      expect(successor.status).toBe(401)
      expect(await successor.json()).toMatchObject({ error: 'session_revoked' })
      const access = await me(server, second.accessToken)
      expect(access.status).toBe(401)
      expect(await access.json()).toMatchObject({ error: 'session_revoked' })
    }
  })

  it('gives 50 parallel refreshes of one token, spread over both, one successor and no 500', async () => {
    const tokens = await signupOn(a)
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, index) =>
        post(index % 2 === 0 ? a : b, '/auth/refresh', { refreshToken: tokens.refreshToken }),
      ),
    )
    const statuses = responses.map((response) => response.status)
    expect(statuses.filter((status) => status >= 500)).toEqual([])
    expect(statuses.every((status) => status === 200)).toBe(true)
    const bodies = (await Promise.all(
      responses.map((response) => response.json()),
    )) as (TokenBody & {
      refreshToken: string
    })[]
    // One successor: every answer carries the same refresh token id (ES256 signatures differ
    // from one signing to the next, so the strings may differ; EdDSA's would be identical).
    const successors = new Set(bodies.map((body) => decodeJWT(body.refreshToken).payload['jti']))
    expect(successors.size).toBe(1)
    expect(successors.has(decodeJWT(tokens.refreshToken).payload['jti'])).toBe(false)
    const next = await post(b, '/auth/refresh', { refreshToken: bodies[0]?.refreshToken })
    expect(next.status).toBe(200)
  })

  it('verifies on the other instance, within the reload interval, tokens of a key rotated on one', async () => {
    const before = await signupOn(a)
    const oldKid = decodeJWT(before.accessToken).header['kid']

    // Restarting one instance with another algorithm rotates the shared ring: the new key signs,
    // the old one is retired but keeps verifying what it signed.
    await a.stop()
    a = await startServerProcess({ ...env, BATON_SIGNING_ALG: 'EdDSA' })
    servers.push(a)
    const after = await signupOn(a)
    const { header } = decodeJWT(after.accessToken)
    expect(header['alg']).toBe('EdDSA')
    expect(header['kid']).not.toBe(oldKid)

    expect((await me(b, after.accessToken)).status).toBe(200)
    expect((await me(b, before.accessToken)).status).toBe(200)
    await new Promise((resolve) => setTimeout(resolve, KEY_RELOAD_SECONDS * 1000 + 500))
    const jwks = (await (await fetch(`${b.url}/.well-known/jwks.json`)).json()) as {
      keys: { kid: string }[]
    }
    expect(jwks.keys.map((key) => key.kid)).toEqual(expect.arrayContaining([oldKid, header['kid']]))
    const fromB = await signupOn(b)
    expect(decodeJWT(fromB.accessToken).header['kid']).toBe(header['kid'])
    expect((await me(a, fromB.accessToken)).status).toBe(200)
  })
})

function post(server: ServerProcess, path: string, body: unknown): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
}

function me(server: ServerProcess, accessToken: string): Promise<Response> {
  return fetch(`${server.url}/auth/me`, { headers: { authorization: `Bearer ${accessToken}` } })
}

async function signupOn(server: ServerProcess): Promise<TokenBody & { refreshToken: string }> {
  const response = await post(server, '/auth/signup', {
    email: uniqueEmail(),
    password: strongPassword,
  })
  if (response.status !== 201)
    throw new Error(`signup: ${response.status} ${await response.text()}`)
  return (await response.json()) as TokenBody & { refreshToken: string }
}
