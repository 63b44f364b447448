import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { startNodeProcess, startServerProcess, type ServerProcess } from '../helpers/processes.js'
import { strongPassword, uniqueEmail, type TokenBody } from '../helpers/server.js'
import { describeWith, redisUrl } from '../helpers/services.js'
import { deleteRedisPrefix } from '../helpers/storage.js'

// docs/api.md promises that services verifying only with the JWKS accept a revoked session's access
// tokens until `exp`; with the revocation channel they refuse them within a second instead.
// Baton and the protected API run as separate processes, as they would in production.

const startProtectedApi = (env: Record<string, string>): Promise<ServerProcess> =>
  startNodeProcess({
    name: 'the protected API',
    args: [join(import.meta.dirname, '../fixtures/protected-api.mjs')],
    env,
    listening: /listening on (http:\/\/[\d.:]+)/,
  })

await describeWith(['redis'], 'the revocation channel reaching another process', () => {
  const prefix = `baton-test-${randomBytes(6).toString('hex')}:`
  const channelUrl = `${redisUrl}/?prefix=${encodeURIComponent(prefix)}`
  const directory = mkdtempSync(join(tmpdir(), 'baton-revocation-'))
  let baton: ServerProcess
  const apis: ServerProcess[] = []
  let apiEnv: Record<string, string>

  beforeAll(async () => {
    baton = await startServerProcess({
      BATON_DATABASE_URL: `sqlite:${join(directory, 'baton.db')}`,
      BATON_SESSION_STORE_URL: channelUrl,
      BATON_AUDIENCE: 'orders-api',
      BATON_ISSUER: 'http://baton.test',
    })
    apiEnv = {
      API_ISSUER: 'http://baton.test',
      API_AUDIENCE: 'orders-api',
      API_JWKS_URL: `${baton.url}/.well-known/jwks.json`,
      API_REVOCATION_REDIS_URL: channelUrl,
    }
    apis.push(await startProtectedApi(apiEnv))
  })

  afterAll(async () => {
    await Promise.all(apis.map((api) => api.stop()))
    await baton?.stop()
    await deleteRedisPrefix(prefix)
    rmSync(directory, { recursive: true, force: true })
  })

  const signup = async (): Promise<TokenBody> => {
    const response = await fetch(`${baton.url}/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: uniqueEmail(), password: strongPassword }),
    })
    expect(response.status).toBe(201)
    return (await response.json()) as TokenBody
  }
  const callApi = (api: ServerProcess, accessToken: string): Promise<Response> =>
    fetch(`${api.url}/me`, { headers: { authorization: `Bearer ${accessToken}` } })

  it('refuses the old access token within 1 s of /auth/logout-all', async () => {
    const [api] = apis
    if (api === undefined) throw new Error('no API process')
    const { accessToken, user } = await signup()
    const before = await callApi(api, accessToken)
    expect(before.status).toBe(200)
    expect(await before.json()).toEqual({ sub: user.id })

    const logout = await fetch(`${baton.url}/auth/logout-all`, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessToken}` },
    })
    expect(logout.status).toBe(204)
    const revokedAt = performance.now()
    let response = await callApi(api, accessToken)
    while (response.status === 200 && performance.now() - revokedAt < 3000) {
      await new Promise((resolve) => setTimeout(resolve, 20))
      response = await callApi(api, accessToken)
    }
    const elapsed = performance.now() - revokedAt
    expect(response.status).toBe(401)
    expect(await response.json()).toMatchObject({ error: 'session_revoked' })
    expect(elapsed).toBeLessThan(1000)
  })

  it('a process started after the revocation refuses the token from its first request', async () => {
    const { accessToken } = await signup()
    const logout = await fetch(`${baton.url}/auth/logout`, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessToken}` },
    })
    expect(logout.status).toBe(204)
    const late = await startProtectedApi(apiEnv)
    apis.push(late)
    const response = await callApi(late, accessToken)
    expect(response.status).toBe(401)
    expect(await response.json()).toMatchObject({ error: 'session_revoked' })
  })

  it('other sessions are unaffected', async () => {
    const [api] = apis
    if (api === undefined) throw new Error('no API process')
    const { accessToken } = await signup()
    expect((await callApi(api, accessToken)).status).toBe(200)
  })
})
