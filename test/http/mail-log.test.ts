import { afterEach, describe, expect, it } from 'vitest'
import { captureLogs } from '../helpers/logs.js'
import { createTestServer, signup, uniqueEmail, type TestServer } from '../helpers/server.js'

let server: TestServer | undefined
afterEach(async () => server?.close())

interface LogLine {
  level: number
  msg: string
  mail?: { to: string; subject: string; links: string[] }
}

describe('the log mailer (BATON_MAILER_URL=log, the default)', () => {
  it('writes the link to the log at info, and the token appears in no other line', async () => {
    const logs = captureLogs('trace')
    server = await createTestServer({ logger: logs.logger, env: { BATON_ACCESS_LOG: 'true' } })
    const email = uniqueEmail()
    await signup(server, email)
    const forgot = await server.app.inject({
      method: 'POST',
      url: '/auth/password/forgot',
      payload: { email },
    })
    expect(forgot.statusCode).toBe(202)

    const lines = (): LogLine[] =>
      logs
        .output()
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as LogLine)
    const deadline = Date.now() + 5000
    while (!lines().some((line) => line.mail !== undefined)) {
      if (Date.now() > deadline) throw new Error('the log mailer wrote nothing')
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    const mailLine = lines().find((line) => line.mail !== undefined)!
    expect(mailLine.level).toBe(30)
    expect(mailLine.mail).toMatchObject({ to: email, subject: 'Reset your password' })
    const [link] = mailLine.mail!.links
    const url = new URL(link!)
    expect(`${url.origin}${url.pathname}`).toBe(`${server.config.issuer}/account/reset-password`)
    expect(mailLine.msg).toContain(link)
    const token = url.searchParams.get('token')!
    const secret = token.split('.')[1]!
    expect(secret).toHaveLength(43)

    // Using the link, failing with it and reusing it logs no token either.
    const use = (password: string) =>
      server!.app.inject({
        method: 'POST',
        url: '/auth/password/reset',
        payload: { token, password },
      })
    expect((await use('password123')).statusCode).toBe(400)
    expect((await use('a brand new passphrase')).statusCode).toBe(204)
    expect((await use('another new passphrase')).statusCode).toBe(400)
    await server.app.inject({ method: 'GET', url: `/account/reset-password?token=${token}` })

    const others = logs
      .output()
      .split('\n')
      .filter((line) => line !== '' && !line.includes('"mail":{'))
    expect(others.length).toBeGreaterThan(5)
    for (const line of others) expect(line).not.toContain(secret)
    expect(
      logs
        .output()
        .split('\n')
        .filter((line) => line.includes(secret)),
    ).toHaveLength(1)
  })
})
