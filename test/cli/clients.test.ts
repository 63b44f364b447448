import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startServerProcess, type ServerProcess } from '../helpers/processes.js'

const cli = join(import.meta.dirname, '../../packages/server/dist/cli/main.js')
const directories: string[] = []
const servers: ServerProcess[] = []

beforeAll(() => {
  if (!existsSync(cli))
    throw new Error('packages/server/dist/ is missing: run `npm test`, which builds first')
})

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()))
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true })
})

function databaseUrl(): string {
  const directory = mkdtempSync(join(tmpdir(), 'baton-clients-'))
  directories.push(directory)
  return `sqlite:${join(directory, 'baton.db')}`
}

/** Runs `baton <args>` to completion. */
function baton(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [cli, ...args], {
    env: { PATH: process.env['PATH'], ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })))
}

const secretOf = (stdout: string): string => {
  const match = /^client_secret: (\S+)$/m.exec(stdout)
  if (match?.[1] === undefined) throw new Error(`no secret printed:\n${stdout}`)
  return match[1]
}

describe('baton clients', () => {
  it('adds public and confidential clients, lists them without secrets, removes them', async () => {
    const url = databaseUrl()
    const added = await baton(['clients', 'add', 'mobile', '--database-url', url])
    expect(added).toMatchObject({ code: 0, stderr: '' })
    // The first command on it made the database: said, so that a mistyped URL shows.
    expect(added.stdout).toMatch(/^Created a new database at \S+baton\.db \(--database-url\)/)
    expect(added.stdout).toMatch(/public client "mobile"/)
    expect(added.stdout).not.toMatch(/client_secret/)

    const confidential = await baton(['clients', 'add', 'backend', '--confidential'], {
      BATON_DATABASE_URL: url,
    })
    expect(confidential.code).toBe(0)
    const secret = secretOf(confidential.stdout)
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/)
    // Only a hash is stored.
    expect(readFileSync(url.slice('sqlite:'.length)).includes(secret)).toBe(false)

    const listed = await baton(['clients', 'list', '--database-url', url])
    expect(listed.code).toBe(0)
    expect(listed.stdout).not.toContain(secret)
    const rows = listed.stdout
      .trim()
      .split('\n')
      .map((line) => line.split(/\s{2,}/))
    expect(rows).toEqual([
      ['ID', 'TYPE', 'SOURCE'],
      ['baton', 'public', 'env (BATON_OAUTH_CLIENTS)'],
      ['mobile', 'public', 'database'],
      ['backend', 'confidential', 'database'],
    ])

    expect(await baton(['clients', 'remove', 'mobile', '--database-url', url])).toMatchObject({
      code: 0,
    })
    const after = await baton(['clients', 'list', '--database-url', url])
    expect(after.stdout).not.toMatch(/^mobile/m)
    expect(after.stdout).toMatch(/^backend\s+confidential\s+database$/m)
  })

  it('refuses a taken id, an env client, an unknown id and a bad id, with exit status 1', async () => {
    const url = databaseUrl()
    await baton(['clients', 'add', 'app', '--database-url', url])
    const env = { BATON_OAUTH_CLIENTS: 'web,server:0123456789abcdef0123' }
    for (const [args, message] of [
      [['add', 'app'], /already exists/],
      [['add', 'server'], /BATON_OAUTH_CLIENTS/],
      [['add', 'not valid'], /not a valid client id/],
      [['remove', 'web'], /BATON_OAUTH_CLIENTS/],
      [['remove', 'ghost'], /no client "ghost"/],
    ] as const) {
      const result = await baton(['clients', ...args, '--database-url', url], env)
      expect(result.code, args.join(' ')).toBe(1)
      expect(result.stderr).toMatch(message)
    }
    const memory = await baton(['clients', 'list', '--database-url', 'memory:'])
    expect(memory.code).toBe(1)
  })

  it('refuses a client while the refresh token lives no longer than the access token', async () => {
    const url = databaseUrl()
    const sliding = {
      BATON_ACCESS_TOKEN_TTL: '10s',
      BATON_REFRESH_TOKEN_TTL: '2s',
      BATON_OAUTH_CLIENTS: 'none',
    }
    const result = await baton(['clients', 'add', 'mobile', '--database-url', url], sliding)
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(
      /^baton: configuration error: BATON_REFRESH_TOKEN_TTL: must be longer than BATON_ACCESS_TOKEN_TTL \(2s is not longer than 10s\) while OAuth clients are registered \(adding mobile\): the refresh_token grant carries no access token/,
    )
    // Refused before the database was opened: none was made for it.
    expect(existsSync(url.slice('sqlite:'.length))).toBe(false)
  })

  it('stops on a misspelt BATON_ variable like baton serve, before opening the database', async () => {
    const database = databaseUrl()
    const result = await baton(['clients', 'list', '--database-url', database], {
      BATON_DATABSE_URL: 'sqlite:/elsewhere.db',
    })
    expect(result.code).toBe(1)
    expect(result.stderr).toBe(
      'baton: configuration error: BATON_DATABSE_URL: not a Baton setting; did you mean BATON_DATABASE_URL?\n',
    )
    expect(existsSync(database.slice('sqlite:'.length))).toBe(false)
  })

  it('is seen by a running server on the same database, without a restart', async () => {
    const url = databaseUrl()
    const server = await startServerProcess({ BATON_DATABASE_URL: url })
    servers.push(server)
    const signup = await fetch(`${server.url}/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'cli@example.com', password: 'correct horse battery staple' }),
    })
    expect(signup.status).toBe(201)
    const grant = (secret: string) =>
      fetch(`${server.url}/oauth/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`partner:${secret}`).toString('base64')}`,
        },
        body: new URLSearchParams({
          grant_type: 'password',
          username: 'cli@example.com',
          password: 'correct horse battery staple',
        }),
      })
    const statusWithin = async (secret: string, wanted: number, ms: number): Promise<number> => {
      const deadline = Date.now() + ms
      let status = (await grant(secret)).status
      while (status !== wanted && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200))
        status = (await grant(secret)).status
      }
      return status
    }

    expect((await grant('no client yet, no secret')).status).toBe(401)
    const added = await baton([
      'clients',
      'add',
      'partner',
      '--confidential',
      '--database-url',
      url,
    ])
    const secret = secretOf(added.stdout)
    // An unknown client_id rereads the clients at most once a second.
    expect(await statusWithin(secret, 200, 3000)).toBe(200)
    expect((await grant(`${secret}x`)).status).toBe(401)

    await baton(['clients', 'remove', 'partner', '--database-url', url])
    // Known clients are reread at least every 5 s.
    expect(await statusWithin(secret, 401, 8000)).toBe(401)
  })
})
