import type { InjectOptions } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { captureLogs } from '../helpers/logs.js'
import {
  createTestServer,
  signup,
  strongPassword,
  uniqueEmail,
  type TestServer,
  type TokenBody,
} from '../helpers/server.js'

let server: TestServer
afterEach(async () => server?.close())

describe('logs', () => {
  it('never contain a token, cookie, password or Authorization header', async () => {
    const logs = captureLogs('trace')
    // The most verbose level, with the production redaction and serializers.
    server = await createTestServer({ logger: logs.logger, env: { BATON_ACCESS_LOG: 'true' } })
    const secrets: string[] = [strongPassword]
    const inject = (options: InjectOptions) => server.app.inject(options)
    const email = uniqueEmail()

    const signup = (
      await inject({
        method: 'POST',
        url: '/auth/signup',
        payload: { email, password: strongPassword },
      })
    ).json<TokenBody>()
    secrets.push(signup.accessToken, signup.refreshToken!)
    const login = await inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email, password: strongPassword },
      headers: { origin: 'http://127.0.0.1:3000' },
    })
    const cookie = String(login.headers['set-cookie']).split(';')[0]!
    secrets.push(login.json<TokenBody>().accessToken, cookie.split('=')[1]!)
    await inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email, password: 'a wrong password' },
    })
    const me = await inject({
      method: 'GET',
      url: '/auth/me',
      headers: { authorization: `Bearer ${signup.accessToken}` },
    })
    expect(me.statusCode).toBe(200)
    const refreshed = await inject({
      method: 'POST',
      url: '/auth/refresh',
      payload: { refreshToken: signup.refreshToken },
      headers: { authorization: `Bearer ${signup.accessToken}` },
    })
    secrets.push(refreshed.json<TokenBody>().accessToken, refreshed.json<TokenBody>().refreshToken!)
    const cookieRefresh = await inject({
      method: 'POST',
      url: '/auth/refresh',
      headers: { cookie, origin: 'http://127.0.0.1:3000' },
    })
    expect(cookieRefresh.statusCode).toBe(200)
    secrets.push(String(cookieRefresh.headers['set-cookie']).split(';')[0]!.split('=')[1]!)
    // Failures log too: reuse, a token in a query string, a garbage bearer token.
    server.clock.advance(11)
    await inject({
      method: 'POST',
      url: '/auth/refresh',
      payload: { refreshToken: signup.refreshToken },
    })
    await inject({ method: 'GET', url: `/auth/me?access_token=${signup.accessToken}` })
    await inject({
      method: 'GET',
      url: '/auth/me',
      headers: { authorization: 'Bearer not.a.jwt-secret-ish' },
    })
    await inject({
      method: 'POST',
      url: '/auth/logout',
      payload: { refreshToken: refreshed.json<TokenBody>().refreshToken },
    })

    const output = logs.output()
    expect(output.length).toBeGreaterThan(1000) // the run did log
    expect(output).toContain('"path":"/auth/refresh"')
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThan(8)
      expect(output).not.toContain(secret)
      // Not even a signature or payload segment on its own.
      for (const segment of secret.split('.').filter((part) => part.length > 20))
        expect(output).not.toContain(segment)
    }
    expect(output).not.toContain('not.a.jwt-secret-ish')
    expect(output.toLowerCase()).not.toContain('authorization')
    expect(output).not.toContain('baton_rt=')
  })

  it('writes nothing for a successful request by default, and one line for a refusal', async () => {
    const logs = captureLogs('info')
    server = await createTestServer({ logger: logs.logger })
    const tokens = await signup(server)
    const before = logs.output()
    const refreshed = await server.app.inject({
      method: 'POST',
      url: '/auth/refresh',
      payload: { refreshToken: tokens.refreshToken },
    })
    expect(refreshed.statusCode).toBe(200)
    expect(logs.output()).toBe(before)

    await server.app.inject({
      method: 'POST',
      url: '/auth/refresh',
      payload: { refreshToken: 'not-a-token' },
    })
    const lines = logLines(logs.output().slice(before.length))
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({ level: 30, msg: 'request refused', code: 'invalid_token' })
    expect(typeof lines[0]?.['reqId']).toBe('string')
  })

  it('with BATON_ACCESS_LOG=true, writes one line per request: id, method, path, route, status, time', async () => {
    const logs = captureLogs('info')
    server = await createTestServer({ logger: logs.logger, env: { BATON_ACCESS_LOG: 'true' } })
    const tokens = await signup(server)
    const before = logs.output().length
    await server.app.inject({
      method: 'GET',
      url: '/auth/me?access_token=secret-in-query',
      headers: { authorization: `Bearer ${tokens.accessToken}` },
    })
    await server.app.inject({
      method: 'POST',
      url: '/auth/refresh',
      payload: { refreshToken: tokens.refreshToken },
    })
    const lines = logLines(logs.output().slice(before))
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatchObject({
      level: 30,
      msg: 'request',
      method: 'GET',
      path: '/auth/me',
      route: '/auth/me',
      status: 200,
    })
    expect(typeof lines[0]?.['ms']).toBe('number')
    expect(typeof lines[0]?.['reqId']).toBe('string')
    expect(lines[1]).toMatchObject({ method: 'POST', path: '/auth/refresh', status: 200 })
    expect(lines[1]?.['reqId']).not.toBe(lines[0]?.['reqId'])
    expect(logs.output()).not.toContain('secret-in-query')
  })
})

function logLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>)
}
