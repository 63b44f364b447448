import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { startServerProcess, type ServerProcess } from '../helpers/processes.js'
import { redisUrl } from '../helpers/service-probes.js'
import { describeWith } from '../helpers/services.js'
import { deleteRedisPrefix } from '../helpers/storage.js'
import { strongPassword, uniqueEmail } from '../helpers/server.js'

// `baton users`, `baton sessions`, `baton events` and `baton --version` as an operator runs
// them: the built CLI in a child process, on the stores a running `baton serve` uses.

const cli = join(import.meta.dirname, '../../packages/server/dist/cli/main.js')
const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup()
})

function databaseUrl(): string {
  const directory = mkdtempSync(join(tmpdir(), 'baton-users-'))
  cleanups.push(() => rmSync(directory, { recursive: true, force: true }))
  return `sqlite:${join(directory, 'baton.db')}`
}

/** Runs `baton <args>` to completion, `input` on its standard input. */
function baton(args: string[], env: Record<string, string>, input = '') {
  const child = spawn(process.execPath, [cli, ...args], {
    env: { PATH: process.env['PATH'], ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  child.stdin.end(input)
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  )
}

async function serve(env: Record<string, string>): Promise<ServerProcess> {
  const server = await startServerProcess(env)
  cleanups.push(() => server.stop())
  return server
}

async function post(url: string, body: object, token?: string) {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(body),
  })
}

describe('baton users, sessions, events (SQLite)', () => {
  it('makes the first administrator from a password on stdin, who can then use /admin', async () => {
    const env = { BATON_DATABASE_URL: databaseUrl() }
    const email = uniqueEmail()
    const created = await baton(
      ['users', 'create', '--email', email, '--role', 'admin'],
      env,
      `${strongPassword}\n`,
    )
    expect(created).toMatchObject({ code: 0, stderr: '' })
    // The first command on this database made it, and says so: a mistyped URL would show here.
    const [made, user] = created.stdout.split('\n')
    expect(made).toBe(
      `Created a new database at ${env.BATON_DATABASE_URL.slice('sqlite:'.length)} (BATON_DATABASE_URL): there was none yet; if the server's is elsewhere, check the URL.`,
    )
    expect(user).toMatch(new RegExp(`^Created ${email} \\(\\S+\\) with roles admin\\.$`))

    const server = await serve(env)
    const login = await post(`${server.url}/auth/login`, { email, password: strongPassword })
    const { accessToken } = (await login.json()) as { accessToken: string }
    const users = await fetch(`${server.url}/admin/users`, {
      headers: { authorization: `Bearer ${accessToken}` },
    })
    expect(users.status).toBe(200)

    const listed = await baton(['users', 'list', '--json'], env)
    const page = JSON.parse(listed.stdout) as { users: { email: string; roles: string[] }[] }
    expect(page.users).toEqual([expect.objectContaining({ email, roles: ['admin'] })])
    const table = await baton(['users', 'list'], env)
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+EMAIL\s+ROLES\s+CREATED\s+STATUS$/)
    expect(table.stdout).toContain(email)
  })

  it('vouches for the address with --verified when the server requires verified addresses', async () => {
    const env = { BATON_DATABASE_URL: databaseUrl(), BATON_REQUIRE_VERIFIED_EMAIL: 'true' }
    const vouched = uniqueEmail()
    const unvouched = uniqueEmail()
    await baton(
      ['users', 'create', '--email', vouched, '--role', 'admin', '--verified'],
      env,
      `${strongPassword}\n`,
    )
    await baton(['users', 'create', '--email', unvouched], env, `${strongPassword}\n`)
    const server = await serve(env)
    expect(
      (await post(`${server.url}/auth/login`, { email: vouched, password: strongPassword })).status,
    ).toBe(200)
    const refused = await post(`${server.url}/auth/login`, {
      email: unvouched,
      password: strongPassword,
    })
    expect(((await refused.json()) as { error: string }).error).toBe('email_not_verified')
  })

  it('refuses bad input with a message and exit status 1, changing nothing', async () => {
    const env = { BATON_DATABASE_URL: databaseUrl() }
    const email = uniqueEmail()
    const weak = await baton(['users', 'create', '--email', email], env, 'password1\n')
    expect(weak.code).toBe(1)
    expect(weak.stderr).toMatch(/^baton: .*common.*\(weak_password\)\n$/)
    const empty = await baton(['users', 'create', '--email', email], env, '')
    expect([empty.code, empty.stderr]).toEqual([
      1,
      'baton: no password on standard input (pipe one in, or run on a terminal)\n',
    ])
    const missing = await baton(['users', 'show', 'nobody@example.com'], env)
    expect([missing.code, missing.stderr]).toEqual([1, 'baton: No such user. (not_found)\n'])
    const badRole = await baton(
      ['users', 'create', '--email', email, '--role', 'Boss!'],
      env,
      `${strongPassword}\n`,
    )
    expect(badRole.code).toBe(1)
    expect(badRole.stderr).toMatch(/"Boss!" is not a role name/)
    expect(JSON.parse((await baton(['users', 'list', '--json'], env)).stdout)).toEqual({
      users: [],
      next: null,
    })
    await baton(['users', 'create', '--email', email], env, `${strongPassword}\n`)
    const noYes = await baton(['users', 'delete', email], env)
    expect(noYes.code).toBe(1)
    expect(noYes.stderr).toMatch(/add --yes/)
    const taken = await baton(['users', 'create', '--email', email], env, `${strongPassword}\n`)
    expect(taken.stderr).toMatch(/\(email_taken\)/)
  })

  it('changes roles, disables, enables and deletes; the audit log says who did what', async () => {
    const env = { BATON_DATABASE_URL: databaseUrl() }
    const email = uniqueEmail()
    await baton(['users', 'create', '--email', email], env, `${strongPassword}\n`)
    expect((await baton(['users', 'set-roles', email, 'editor,user'], env)).stdout).toBe(
      `${email} now has roles editor,user.\n`,
    )
    const server = await serve(env)
    const signedIn = await post(`${server.url}/auth/login`, { email, password: strongPassword })
    const { accessToken } = (await signedIn.json()) as { accessToken: string }
    expect((await baton(['users', 'disable', email], env)).stdout).toBe(
      `Disabled ${email}; 1 session signed out.\n`,
    )
    const me = await fetch(`${server.url}/auth/me`, {
      headers: { authorization: `Bearer ${accessToken}` },
    })
    expect(me.status).toBe(401)
    const refused = await post(`${server.url}/auth/login`, { email, password: strongPassword })
    expect(((await refused.json()) as { error: string }).error).toBe('account_disabled')
    expect((await baton(['users', 'show', email], env)).stdout).toMatch(/status\s+disabled /)
    await baton(['users', 'enable', email], env)
    expect(
      (await post(`${server.url}/auth/login`, { email, password: strongPassword })).status,
    ).toBe(200)

    const events = JSON.parse((await baton(['events', '--user', email, '--json'], env)).stdout) as {
      events: { type: string; actor: string | null }[]
    }
    expect(events.events.map((event) => `${event.type}:${event.actor ?? '-'}`)).toEqual(
      expect.arrayContaining([
        'user_created:cli',
        'roles_changed:cli',
        'user_disabled:cli',
        'user_enabled:cli',
        'login:-',
      ]),
    )
    const id = (
      JSON.parse((await baton(['users', 'show', email, '--json'], env)).stdout) as { id: string }
    ).id
    expect((await baton(['users', 'delete', email, '--yes'], env)).code).toBe(0)
    // A deleted user's events stay, found by id.
    const after = JSON.parse(
      (await baton(['events', '--user', id, '--type', 'user_deleted', '--json'], env)).stdout,
    ) as {
      events: object[]
    }
    expect(after.events).toHaveLength(1)
  })

  it('follows the audit log as it grows', async () => {
    const env = { BATON_DATABASE_URL: databaseUrl() }
    const email = uniqueEmail()
    await baton(['users', 'create', '--email', email], env, `${strongPassword}\n`)
    const server = await serve(env)
    const child = spawn(process.execPath, [cli, 'events', '--follow', '--json', '--limit', '1'], {
      env: { PATH: process.env['PATH'], ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    cleanups.push(() => void child.kill())
    const lines: string[] = []
    child.stdout.on('data', (chunk: Buffer) =>
      lines.push(...chunk.toString().split('\n').filter(Boolean)),
    )
    await expect.poll(() => lines.length, { timeout: 10_000 }).toBe(1)
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ type: 'user_created' })
    await post(`${server.url}/auth/login`, { email, password: 'a wrong password' })
    await expect.poll(() => lines.length, { timeout: 5000 }).toBe(2)
    expect(JSON.parse(lines[1] ?? '{}')).toMatchObject({ type: 'login_failed' })
  })

  it('follows only new events when none matched at the start', async () => {
    const env = { BATON_DATABASE_URL: databaseUrl() }
    const email = uniqueEmail()
    await baton(['users', 'create', '--email', email], env, `${strongPassword}\n`)
    const child = spawn(
      process.execPath,
      [cli, 'events', '--follow', '--json', '--type', 'user_enabled'],
      { env: { PATH: process.env['PATH'], ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    cleanups.push(() => void child.kill())
    const lines: string[] = []
    child.stdout.on('data', (chunk: Buffer) =>
      lines.push(...chunk.toString().split('\n').filter(Boolean)),
    )
    await new Promise((resolve) => setTimeout(resolve, 1500))
    await baton(['users', 'enable', email], env)
    await baton(['users', 'enable', email], env)
    await expect.poll(() => lines.length, { timeout: 5000 }).toBe(2)
    await new Promise((resolve) => setTimeout(resolve, 2500))
    expect(lines).toHaveLength(2)
  })

  it('audits a key rotation made from the command line', async () => {
    const env = { BATON_DATABASE_URL: databaseUrl() }
    await baton(['users', 'create', '--email', uniqueEmail()], env, `${strongPassword}\n`)
    expect((await baton(['keys', 'rotate', '--activate-in', '1h'], env)).code).toBe(0)
    const events = JSON.parse(
      (await baton(['events', '--type', 'signing_key_rotated', '--json'], env)).stdout,
    ) as { events: { actor: string; detail: string }[] }
    expect(events.events).toHaveLength(1)
    expect(events.events[0]?.actor).toBe('cli')
    expect(events.events[0]?.detail).toMatch(/ key \S+ added as next/)
  })

  it('prints its version, and help for every command', async () => {
    const env = { BATON_DATABASE_URL: databaseUrl() }
    const version = await baton(['--version'], env)
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/)
    const users = await baton(['users', '--help'], env)
    expect(users.stdout).toMatch(/^Usage: baton users /)
    for (const sub of ['list', 'show', 'create', 'set-roles', 'disable', 'enable', 'delete']) {
      expect(users.stdout).toMatch(new RegExp(`\\n  ${sub}\\b`))
    }
    for (const args of [
      ['users', 'create', '--help'],
      ['sessions', 'revoke', '--help'],
      ['events', '--help'],
    ]) {
      const help = await baton(args, env)
      expect(help.code).toBe(0)
      expect(help.stdout).toMatch(/^Usage: baton /)
      expect(help.stdout).toContain('--session-store-url')
      expect(help.stdout).toContain('--revocation-channel-url')
      expect(help.stdout).toContain('--json')
    }
  })
})

await describeWith(['redis'], 'baton sessions with sessions on Redis', () => {
  it('lists and revokes sessions the server keeps in Redis', async () => {
    const prefix = `cli-${Date.now()}:`
    cleanups.push(() => deleteRedisPrefix(prefix))
    const env = {
      BATON_DATABASE_URL: databaseUrl(),
      BATON_SESSION_STORE_URL: `${redisUrl}?prefix=${prefix}`,
    }
    const email = uniqueEmail()
    await baton(['users', 'create', '--email', email], env, `${strongPassword}\n`)
    const server = await serve(env)
    const tokens = await Promise.all(
      [1, 2].map(async () => {
        const answer = await post(`${server.url}/auth/login`, { email, password: strongPassword })
        return (await answer.json()) as { accessToken: string; sessionId: string }
      }),
    )
    const listed = JSON.parse((await baton(['sessions', 'list', email, '--json'], env)).stdout) as {
      sessions: { id: string }[]
    }
    expect(listed.sessions.map((session) => session.id).sort()).toEqual(
      tokens.map((t) => t.sessionId).sort(),
    )

    // By its id alone, as an access token's `sid` names it.
    // After `--`: a session id may start with a dash.
    const one = await baton(['sessions', 'revoke', '--', tokens[0]!.sessionId], env)
    expect(one).toMatchObject({
      code: 0,
      stdout: `Revoked session ${tokens[0]!.sessionId} of ${email}.\n`,
    })
    const me = (token: string) =>
      fetch(`${server.url}/auth/me`, { headers: { authorization: `Bearer ${token}` } }).then(
        (r) => r.status,
      )
    expect(await me(tokens[0]!.accessToken)).toBe(401)
    expect(await me(tokens[1]!.accessToken)).toBe(200)
    expect((await baton(['sessions', 'revoke-all', email], env)).stdout).toBe(
      'Revoked 1 session.\n',
    )
    expect(await me(tokens[1]!.accessToken)).toBe(401)
    const again = await baton(
      ['sessions', 'revoke', '--user', email, '--', tokens[0]!.sessionId],
      env,
    )
    expect([again.code, again.stderr]).toEqual([1, 'baton: No such live session. (not_found)\n'])
  })
})
