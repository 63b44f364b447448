import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { subscribeToRevocations } from '@baton-auth/verify/revocations'
import Database from 'better-sqlite3'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { openStores } from '../../packages/server/src/stores/from-url.js'
import { startServerProcess } from '../helpers/processes.js'
import { strongPassword, uniqueEmail } from '../helpers/server.js'
import { describeWith, redisUrl } from '../helpers/services.js'
import {
  deleteRedisPrefix,
  dropPostgresSchema,
  postgresUrlWithSchema,
  withPostgresClient,
} from '../helpers/storage.js'

// What the operator commands (`baton users|sessions|events`, and `keys`/`clients` where they
// share it) promise beyond their happy path, through the built CLI in a child process: a
// mistyped store URL is refused rather than made anew; a reader that goes away ends the output
// quietly; --json is the admin API's JSON; nothing stored or typed drives the terminal; the
// revocation channel is named as `baton serve` names it.

const cli = join(import.meta.dirname, '../../packages/server/dist/cli/main.js')
// Every CLI run is a Node start and a store connection; several run at once here.
const slow = 90_000
const cleanups: (() => Promise<unknown> | void)[] = []

beforeAll(() => {
  if (!existsSync(cli))
    throw new Error('packages/server/dist/ is missing: run `npm test`, which builds first')
})

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function tempDir(): string {
  const directory = mkdtempSync(join(tmpdir(), 'baton-operator-'))
  cleanups.push(() => rmSync(directory, { recursive: true, force: true }))
  return directory
}

interface Outcome {
  code: number | null
  stdout: string
  stderr: string
}

interface RunOptions {
  env?: Record<string, string>
  input?: string
  cwd?: string
  /** Close the reading end of its standard output at once: every write it makes fails (EPIPE). */
  closeStdout?: boolean
}

function baton(args: string[], options: RunOptions = {}): Promise<Outcome> {
  const child = spawn(process.execPath, [cli, ...args], {
    env: { PATH: process.env['PATH'], ...options.env },
    cwd: options.cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  if (options.closeStdout === true) child.stdout.destroy()
  else child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  child.stdin.on('error', () => undefined)
  child.stdin.end(options.input ?? '')
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** Asserts a CLI run succeeded (showing its stderr when not) and returns its stdout. */
function ok(outcome: Outcome): string {
  expect({ code: outcome.code, stderr: outcome.stderr }).toEqual({ code: 0, stderr: '' })
  return outcome.stdout
}

/** A SQLite database made by `baton users create`, with that user in it. */
async function databaseWithUser(roles: string[] = []): Promise<{ url: string; email: string }> {
  const url = `sqlite:${join(tempDir(), 'baton.db')}`
  const email = uniqueEmail()
  const roleArgs = roles.flatMap((role) => ['--role', role])
  ok(
    await baton(['users', 'create', '--email', email, ...roleArgs, '--database-url', url], {
      input: `${strongPassword}\n`,
    }),
  )
  return { url, email }
}

async function post(url: string, body: object): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'baton-token-delivery': 'body' },
    body: JSON.stringify(body),
  })
}

async function signIn(server: string, email: string) {
  const response = await post(`${server}/auth/login`, { email, password: strongPassword })
  expect(response.status).toBe(200)
  return (await response.json()) as { accessToken: string; sessionId: string }
}

// Anything in the Cc (control) or Cf (format: bidirectional overrides, invisible marks) category
// but the newline.
const unsafe = /(?!\n)[\p{Cc}\p{Cf}]/u

const noDatabaseHint =
  'Check the URL (`baton serve` makes a new database at its first start; this command does not)'

describe('a database that is not there yet', () => {
  it(
    'is refused by every command that reads or changes one, naming the URL, and nothing is made',
    async () => {
      const directory = tempDir()
      const missing = join(directory, 'typo', 'baton.db')
      const commands = [
        ['users', 'list'],
        ['users', 'show', 'ada@example.com'],
        ['users', 'set-roles', 'ada@example.com', 'user'],
        ['users', 'disable', 'ada@example.com'],
        ['users', 'enable', 'ada@example.com'],
        ['users', 'delete', 'ada@example.com', '--yes'],
        ['sessions', 'list', 'ada@example.com'],
        ['sessions', 'revoke', 'abc'],
        ['sessions', 'revoke-all', 'ada@example.com'],
        ['events'],
        ['events', '--follow'],
        ['keys', 'list'],
        ['keys', 'rotate'],
        ['clients', 'list'],
        ['clients', 'remove', 'app'],
      ]
      const outcomes = await Promise.all(
        commands.map((args) => baton([...args, '--database-url', `sqlite:${missing}`])),
      )
      for (const [index, outcome] of outcomes.entries()) {
        expect({ command: commands[index], ...outcome }).toEqual({
          command: commands[index],
          code: 1,
          stdout: '',
          stderr: `baton: no Baton database at sqlite:${missing} (--database-url): ${missing} does not exist. ${noDatabaseHint}\n`,
        })
      }
      expect(readdirSync(directory)).toEqual([])
    },
    slow,
  )

  it('says where the URL came from: the variable, or the default', async () => {
    const directory = tempDir()
    const fromVariable = await baton(['users', 'list'], {
      env: { BATON_DATABASE_URL: 'sqlite:./elsewhere.db' },
      cwd: directory,
    })
    expect(fromVariable.stderr).toBe(
      `baton: no Baton database at sqlite:./elsewhere.db (BATON_DATABASE_URL): ${join(directory, 'elsewhere.db')} does not exist. ${noDatabaseHint}\n`,
    )
    const fromDefault = await baton(['events'], { cwd: directory })
    expect(fromDefault.stderr).toBe(
      `baton: no Baton database at sqlite:./data/baton.db (the default: BATON_DATABASE_URL is not set): ${join(directory, 'data', 'baton.db')} does not exist. ${noDatabaseHint}\n`,
    )
    expect(readdirSync(directory)).toEqual([])
  })

  it('takes an option given empty for a mistake, not for the default database', async () => {
    const directory = tempDir()
    const { url } = await databaseWithUser()
    for (const [option, variable] of [
      ['--database-url', 'BATON_DATABASE_URL'],
      ['--session-store-url', 'BATON_SESSION_STORE_URL'],
      ['--revocation-channel-url', 'BATON_REVOCATION_CHANNEL_URL'],
    ] as const) {
      const outcome = await baton(['users', 'list', option, ''], {
        env: option === '--database-url' ? {} : { BATON_DATABASE_URL: url },
        cwd: directory,
      })
      expect(outcome).toEqual({
        code: 1,
        stdout: '',
        stderr: `baton: ${option} is empty: give a URL, or leave the option out to use ${variable} (or its default)\n`,
      })
    }
    const keys = await baton(['keys', 'list', '--database-url', ' '], { cwd: directory })
    expect([keys.code, keys.stderr]).toEqual([
      1,
      'baton: --database-url is empty: give a URL, or leave the option out to use BATON_DATABASE_URL (or its default)\n',
    ])
    const created = await baton(
      ['users', 'create', '--email', uniqueEmail(), '--database-url', ''],
      {
        input: `${strongPassword}\n`,
        cwd: directory,
      },
    )
    expect(created.code).toBe(1)
    expect(readdirSync(directory)).toEqual([])
  })

  it('refuses a file that holds no Baton database, and a session store that is not there', async () => {
    const directory = tempDir()
    const empty = join(directory, 'empty.db')
    writeFileSync(empty, '')
    const notBaton = await baton(['users', 'list', '--database-url', `sqlite:${empty}`])
    expect(notBaton.stderr).toBe(
      `baton: no Baton database at sqlite:${empty} (--database-url): ${empty} has no Baton tables. ${noDatabaseHint}\n`,
    )
    expect(statSync(empty).size).toBe(0)

    const { url } = await databaseWithUser()
    const sessions = join(directory, 'sessions.db')
    const noSessions = await baton(['users', 'list', '--session-store-url', `sqlite:${sessions}`], {
      env: { BATON_DATABASE_URL: url },
    })
    expect(noSessions.stderr).toBe(
      `baton: no Baton session store at sqlite:${sessions} (--session-store-url): ${sessions} does not exist. Check the URL (\`baton serve\` makes a new session store at its first start; this command does not)\n`,
    )
    expect(existsSync(sessions)).toBe(false)
  })

  it(
    'refuses memory:, and a memory: session store where sessions are read or revoked',
    async () => {
      const { url, email } = await databaseWithUser()
      for (const database of ['memory:', 'sqlite::memory:']) {
        const outcome = await baton(['users', 'list', '--database-url', database])
        expect([outcome.code, outcome.stderr]).toEqual([
          1,
          `baton: the database is ${database} (--database-url), which keeps nothing once this command exits: name the server's database\n`,
        ])
      }
      const env = { BATON_DATABASE_URL: url, BATON_SESSION_STORE_URL: 'memory:' }
      for (const args of [
        ['sessions', 'list', email],
        ['sessions', 'revoke-all', email],
        ['users', 'disable', email],
        ['users', 'show', email],
      ]) {
        const outcome = await baton(args, { env })
        expect([args, outcome.code, outcome.stderr]).toEqual([
          args,
          1,
          "baton: the session store is memory: (BATON_SESSION_STORE_URL): a server's memory: sessions live in its own process, out of this command's reach; name the server's session store, or use the admin API\n",
        ])
      }
      // Commands that leave sessions alone still work beside such a server.
      expect(ok(await baton(['users', 'list'], { env }))).toContain(email)
    },
    slow,
  )
})

describe('users create and clients add on a database that is not there yet', () => {
  it('make it, and say so and where, so that a typo shows', async () => {
    const directory = tempDir()
    const email = uniqueEmail()
    const first = await baton(['users', 'create', '--email', email, '--role', 'admin'], {
      cwd: directory,
      input: `${strongPassword}\n`,
    })
    expect(first.code).toBe(0)
    expect(first.stderr).toBe('')
    const [made, created] = first.stdout.split('\n')
    // The README's first administrator, before the server's first start.
    expect(made).toBe(
      `Created a new database at ${join(directory, 'data', 'baton.db')} (the default: BATON_DATABASE_URL is not set): there was none yet; if the server's is elsewhere, check the URL.`,
    )
    expect(created).toMatch(/^Created \S+ \(\S+\) with roles admin\.$/)
    // Once it is there, nothing more is said.
    const again = await baton(['users', 'create', '--email', uniqueEmail()], {
      cwd: directory,
      input: `${strongPassword}\n`,
    })
    expect(ok(again)).toMatch(/^Created \S+ \(\S+\) with roles user\.\n$/)

    // With --json the note goes to stderr: stdout stays the API's User.
    const relative = await baton(
      ['users', 'create', '--email', email, '--json', '--database-url', 'sqlite:typo/baton.db'],
      { cwd: directory, input: `${strongPassword}\n` },
    )
    expect(relative.code).toBe(0)
    expect(relative.stderr).toBe(
      `baton: Created a new database at ${join(directory, 'typo', 'baton.db')} (--database-url): there was none yet; if the server's is elsewhere, check the URL.\n`,
    )
    expect(JSON.parse(relative.stdout)).toMatchObject({ email, roles: ['user'] })

    const client = await baton(['clients', 'add', 'app', '--database-url', 'sqlite:other.db'], {
      cwd: directory,
    })
    expect(ok(client).split('\n')[0]).toBe(
      `Created a new database at ${join(directory, 'other.db')} (--database-url): there was none yet; if the server's is elsewhere, check the URL.`,
    )
  })

  it('makes nothing when no password comes', async () => {
    const directory = tempDir()
    const outcome = await baton(['users', 'create', '--email', uniqueEmail()], {
      cwd: directory,
      input: '',
    })
    expect([outcome.code, outcome.stderr]).toEqual([
      1,
      'baton: no password on standard input (pipe one in, or run on a terminal)\n',
    ])
    expect(readdirSync(directory)).toEqual([])
  })
})

await describeWith(['postgres'], 'a PostgreSQL schema that is not there yet', () => {
  it(
    'is refused, never made, and the URL is shown without its password',
    async () => {
      const schema = `baton_test_typo_${randomBytes(5).toString('hex')}`
      cleanups.push(() => dropPostgresSchema(schema))
      const url = new URL(postgresUrlWithSchema(schema))
      // Under trust authentication the password is never sent; anywhere else it is the real one.
      if (url.password === '') url.password = 'never-shown-secret'
      const password = url.password
      const schemaExists = () =>
        withPostgresClient(async (client) => {
          const found = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [
            schema,
          ])
          return found.rowCount === 1
        })

      const refused = await baton(['users', 'list', '--database-url', url.href])
      expect(refused.code).toBe(1)
      expect(refused.stderr).toMatch(
        new RegExp(
          `^baton: no Baton database at postgres://[^ ]*\\*\\*\\*@[^ ]*schema=${schema} \\(--database-url\\): schema "${schema}" in postgres://\\S+ does not exist\\. Check the URL`,
        ),
      )
      expect(refused.stderr).not.toContain(password)
      expect(await schemaExists()).toBe(false)

      await withPostgresClient((client) => client.query(`CREATE SCHEMA "${schema}"`))
      const empty = await baton(['events', '--database-url', url.href])
      expect(empty.stderr).toMatch(
        new RegExp(`schema "${schema}" in postgres://\\S+ has no Baton tables\\.`),
      )

      const created = await baton(
        ['users', 'create', '--email', uniqueEmail(), '--database-url', url.href],
        {
          input: `${strongPassword}\n`,
        },
      )
      expect(ok(created)).toMatch(
        new RegExp(
          `^Created a new database at schema "${schema}" in postgres://\\S+ \\(--database-url\\): there was none yet`,
        ),
      )
      expect(created.stdout).not.toContain(password)
      expect(
        JSON.parse(ok(await baton(['users', 'list', '--json', '--database-url', url.href]))),
      ).toMatchObject({
        users: [expect.any(Object)],
      })
    },
    slow,
  )
})

describe('a reader that goes away (EPIPE)', () => {
  it(
    'ends the output quietly with exit status 0, the work done all the same',
    async () => {
      const { url, email } = await databaseWithUser(['admin'])
      const env = { BATON_DATABASE_URL: url }
      for (const args of [
        ['events'],
        ['events', '--json'],
        ['users', 'list'],
        ['users', 'list', '--json'],
        ['users', 'show', email],
        ['sessions', 'list', email],
        ['sessions', 'revoke-all', email],
        ['keys', 'list'],
        ['clients', 'list'],
        ['users', 'set-roles', email, 'editor'],
        ['users', 'create', '--email', `new-${email}`],
      ]) {
        const outcome = await baton(args, { env, closeStdout: true, input: `${strongPassword}\n` })
        expect({ args, code: outcome.code, stderr: outcome.stderr }).toEqual({
          args,
          code: 0,
          stderr: '',
        })
      }
      const users = JSON.parse(ok(await baton(['users', 'list', '--json'], { env }))) as {
        users: { email: string; roles: string[] }[]
      }
      expect(users.users).toEqual([
        expect.objectContaining({ email, roles: ['editor'] }),
        expect.objectContaining({ email: `new-${email}` }),
      ])
    },
    slow,
  )

  it('ends events --follow quietly at the next line it prints', async () => {
    const { url, email } = await databaseWithUser()
    const env = { BATON_DATABASE_URL: url }
    const child = spawn(process.execPath, [cli, 'events', '--follow', '--limit', '1'], {
      env: { PATH: process.env['PATH'], ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    cleanups.push(() => void child.kill('SIGKILL'))
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    await expect.poll(() => stdout, { timeout: 10_000 }).toMatch(/user_created/)
    // The reader goes away, as `head -1` does; the next event is the next line printed.
    child.stdout.destroy()
    ok(await baton(['users', 'enable', email], { env }))
    const code = await Promise.race([
      exited,
      new Promise((resolve) => setTimeout(() => resolve('still running'), 10_000)),
    ])
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' })
  })
})

describe('--json', () => {
  it(
    'prints what the admin API answers',
    async () => {
      const { url, email: admin } = await databaseWithUser(['admin'])
      const env = { BATON_DATABASE_URL: url }
      const target = uniqueEmail()
      ok(await baton(['users', 'create', '--email', target], { env, input: `${strongPassword}\n` }))
      const server = await startServerProcess(env)
      cleanups.push(() => server.stop())
      const { accessToken } = await signIn(server.url, admin)
      const [one, two] = [await signIn(server.url, target), await signIn(server.url, target)]
      await signIn(server.url, target)
      await post(`${server.url}/auth/login`, { email: target, password: 'not the password' })

      const api = async (method: string, path: string, body?: object): Promise<unknown> => {
        const response = await fetch(`${server.url}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${accessToken}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        })
        expect(response.ok, `${method} ${path}`).toBe(true)
        return response.status === 204 ? null : response.json()
      }
      const json = async (...args: string[]): Promise<unknown> =>
        JSON.parse(ok(await baton([...args, '--json'], { env })))
      const q = encodeURIComponent

      expect(await json('users', 'list')).toEqual(await api('GET', '/admin/users'))
      const firstUsers = (await api('GET', '/admin/users?limit=1')) as { next: string }
      expect(await json('users', 'list', '--limit', '1')).toEqual(firstUsers)
      expect(await json('users', 'list', '--limit', '1', '--cursor', firstUsers.next)).toEqual(
        await api('GET', `/admin/users?limit=1&cursor=${q(firstUsers.next)}`),
      )

      const user = (await api('GET', `/admin/users/${q(target)}`)) as { id: string }
      const sessions = (await api('GET', `/admin/users/${q(target)}/sessions`)) as {
        sessions: object[]
      }
      expect(sessions.sessions).toHaveLength(3)
      expect(await json('users', 'show', target)).toEqual({ ...user, sessions: sessions.sessions })
      expect(await json('sessions', 'list', target)).toEqual(sessions)

      const events = (await api('GET', `/admin/events?user=${q(target)}&limit=2`)) as {
        events: object[]
        next: string
      }
      expect(events.events).toHaveLength(2)
      expect(await json('events', '--user', target, '--limit', '2')).toEqual(events)
      expect(
        await json('events', '--user', target, '--limit', '2', '--cursor', events.next),
      ).toEqual(
        await api('GET', `/admin/events?user=${q(target)}&limit=2&cursor=${q(events.next)}`),
      )
      // --follow: one event a line, each as the API gives it.
      const follower = spawn(
        process.execPath,
        [cli, 'events', '--follow', '--json', '--user', target, '--limit', '1'],
        {
          env: { PATH: process.env['PATH'], ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      )
      cleanups.push(() => void follower.kill())
      let followed = ''
      follower.stdout.on('data', (chunk: Buffer) => (followed += chunk.toString()))
      await expect.poll(() => followed, { timeout: 10_000 }).toMatch(/\n$/)
      expect(JSON.parse(followed)).toEqual(events.events[0])

      expect(await json('users', 'set-roles', target, 'editor,user')).toEqual(
        await api('PUT', `/admin/users/${q(target)}/roles`, { roles: ['editor', 'user'] }),
      )
      // The same answer for two sessions of the same user, each revoked one way.
      // A session id may start with a dash: after `--`, it is never taken for an option.
      const byCli = JSON.parse(
        ok(await baton(['sessions', 'revoke', '--json', '--', one.sessionId], { env })),
      ) as unknown
      const byApi = await api('DELETE', `/admin/sessions/${q(two.sessionId)}`)
      expect(byCli).toEqual({ ...(byApi as object), sessionId: one.sessionId })
      expect(byCli).toEqual({ sessionId: one.sessionId, userId: user.id })
      expect(await json('sessions', 'revoke-all', target)).toEqual({ revoked: 1 })
      expect(await api('DELETE', `/admin/users/${q(target)}/sessions`)).toEqual({ revoked: 0 })
      // Disabling twice changes nothing the second time: both answers are the same.
      const disabled = await json('users', 'disable', target)
      expect(disabled).toEqual(await api('POST', `/admin/users/${q(target)}/disable`))
      expect(disabled).toMatchObject({ sessionsRevoked: 0 })
      expect((disabled as { user: { disabledAt: unknown } }).user.disabledAt).toEqual(
        expect.any(String),
      )
      expect(await json('users', 'enable', target)).toEqual(
        await api('GET', `/admin/users/${q(target)}`),
      )
      const createdByCli = JSON.parse(
        ok(
          await baton(['users', 'create', '--email', uniqueEmail(), '--json'], {
            env,
            input: `${strongPassword}\n`,
          }),
        ),
      ) as { id: string }
      expect(createdByCli).toEqual(await api('GET', `/admin/users/${createdByCli.id}`))
    },
    slow,
  )
})

describe('what the CLI prints', () => {
  it('escapes control and format characters, in tables, JSON and errors', async () => {
    const { url, email } = await databaseWithUser()
    const env = { BATON_DATABASE_URL: url }
    // Stored before addresses were checked, or by another way in: nothing stops such text.
    const hostile = `eve\u202egro.elpmaxe@example.com`
    const database = new Database(url.slice('sqlite:'.length))
    database.prepare('UPDATE users SET email = ? WHERE email = ?').run(hostile, email)
    database.close()
    const userAgent = `curl/8\u001b[31m red \u202e\u200b\u0007`
    const stores = await openStores({ databaseUrl: url, sessionStoreUrl: url })
    await stores.database.record({
      type: 'login_failed',
      at: Date.now(),
      userId: null,
      sessionId: null,
      ip: '203.0.113.9',
      userAgent,
      actor: null,
      detail: 'wrong password\r\n\u001b[2J',
    })
    await stores.close()

    const table = ok(await baton(['users', 'list'], { env }))
    expect(table).not.toMatch(unsafe)
    expect(table).toContain('eve\\u202egro.elpmaxe@example.com')
    const listed = ok(await baton(['users', 'list', '--json'], { env }))
    expect(listed).not.toMatch(unsafe)
    // Still JSON, that reads back as stored.
    expect((JSON.parse(listed) as { users: { email: string }[] }).users[0]?.email).toBe(hostile)

    const events = ok(await baton(['events', '--type', 'login_failed'], { env }))
    expect(events).not.toMatch(unsafe)
    expect(events).toContain('curl/8\\u001b[31m red \\u202e\\u200b\\u0007')
    // A line feed too: stored text must not print a table row of its own.
    expect(events).toContain('wrong password\\u000d\\u000a\\u001b[2J')
    const eventsJson = ok(await baton(['events', '--type', 'login_failed', '--json'], { env }))
    expect(eventsJson).not.toMatch(unsafe)
    expect(JSON.parse(eventsJson)).toMatchObject({ events: [{ userAgent }] })

    const since = await baton(['events', '--since', 'x\u001b[31m'], { env })
    expect([since.code, since.stderr]).toEqual([
      1,
      'baton: --since takes a duration (15m, 12h, 7d) or an ISO time, not "x\\u001b[31m"\n',
    ])
    const id = (JSON.parse(listed) as { users: { id: string }[] }).users[0]?.id ?? ''
    const role = await baton(['users', 'set-roles', id, 'r\u001b'], { env })
    expect(role.code).toBe(1)
    expect(role.stderr).toMatch(/^baton: "r\\u001b" is not a role name/)
    const deleting = await baton(['users', 'delete', hostile], { env })
    expect(deleting.stderr).toBe(
      'baton: deleting eve\\u202egro.elpmaxe@example.com cannot be undone: add --yes to do it\n',
    )
    const unknown = await baton(['users', 'list', '--colour\u001b[5m'], { env })
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toBe("error: unknown option '--colour\\u001b[5m'\n")
  })

  it('pages the audit log with --cursor, and shows a shortened user agent', async () => {
    const { url } = await databaseWithUser()
    const env = { BATON_DATABASE_URL: url }
    const stores = await openStores({ databaseUrl: url, sessionStoreUrl: url })
    const userAgent = `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36`
    for (const type of ['login', 'logout']) {
      await stores.database.record({
        type,
        at: Date.now(),
        userId: null,
        sessionId: null,
        ip: '203.0.113.9',
        userAgent,
        actor: null,
        detail: null,
      })
    }
    await stores.close()

    const first = ok(await baton(['events', '--limit', '2'], { env }))
      .trimEnd()
      .split('\n')
    expect(first[0]).toMatch(/^TIME\s+TYPE\s+USER\s+SESSION\s+IP\s+USER AGENT\s+ACTOR\s+DETAIL$/)
    expect(first[1]).toContain(' logout ')
    expect(first[1]).toContain(`${userAgent.slice(0, 59)}…`)
    expect(first[1]).not.toContain(userAgent)
    expect(first[2]).toContain(' login ')
    const more = /^more: --cursor (\S+)$/.exec(first[3] ?? '')
    expect(more).not.toBeNull()
    const second = ok(await baton(['events', '--limit', '2', '--cursor', more?.[1] ?? ''], { env }))
    const lines = second.trimEnd().split('\n')
    expect(lines).toHaveLength(2)
    expect(lines[1]).toMatch(/ user_created /)

    const both = await baton(['events', '--follow', '--cursor', more?.[1] ?? ''], { env })
    expect([both.code, both.stderr]).toEqual([
      1,
      "error: option '--cursor <cursor>' cannot be used with option '--follow'\n",
    ])
  })

  it('counts in words: 1 session, 2 sessions', async () => {
    const { url, email } = await databaseWithUser()
    const env = { BATON_DATABASE_URL: url }
    const server = await startServerProcess(env)
    cleanups.push(() => server.stop())
    await signIn(server.url, email)
    await signIn(server.url, email)
    expect(ok(await baton(['sessions', 'revoke-all', email], { env }))).toBe(
      'Revoked 2 sessions.\n',
    )
    expect(ok(await baton(['sessions', 'revoke-all', email], { env }))).toBe(
      'Revoked 0 sessions.\n',
    )
    await signIn(server.url, email)
    expect(ok(await baton(['users', 'disable', email], { env }))).toBe(
      `Disabled ${email}; 1 session signed out.\n`,
    )
    expect(ok(await baton(['users', 'delete', email, '--yes'], { env }))).toBe(
      `Deleted ${email}; 0 sessions signed out.\n`,
    )
  })
})

await describeWith(['redis'], '--revocation-channel-url', () => {
  it(
    'announces revocations where a server started with it announces them',
    async () => {
      const prefix = `cli-channel-${randomBytes(5).toString('hex')}:`
      cleanups.push(() => deleteRedisPrefix(prefix))
      const channel = new URL(redisUrl)
      channel.searchParams.set('prefix', prefix)
      const { url, email } = await databaseWithUser()
      // Sessions in SQLite: the channel is only what the option (or variable) names.
      const server = await startServerProcess({
        BATON_DATABASE_URL: url,
        BATON_REVOCATION_CHANNEL_URL: channel.href,
      })
      cleanups.push(() => server.stop())
      const subscription = subscribeToRevocations(channel.href, { startTimeout: 10_000 })
      cleanups.push(() => subscription.close())
      await subscription.ready
      const one = await signIn(server.url, email)
      const two = await signIn(server.url, email)

      const env = { BATON_DATABASE_URL: url }
      const flag = ['--revocation-channel-url', channel.href]
      ok(await baton(['sessions', 'revoke', ...flag, '--', one.sessionId], { env }))
      await expect
        .poll(() => subscription.isRevoked(one.sessionId, Date.now() / 1000), { timeout: 10_000 })
        .toBe(true)
      ok(await baton(['users', 'disable', email, ...flag], { env }))
      await expect
        .poll(() => subscription.isRevoked(two.sessionId, Date.now() / 1000), { timeout: 10_000 })
        .toBe(true)

      const bad = await baton(['users', 'list', '--revocation-channel-url', 'http://example.com'], {
        env,
      })
      expect([bad.code, bad.stderr]).toEqual([
        1,
        'baton: configuration error: BATON_REVOCATION_CHANNEL_URL: expected a redis://, rediss:// or redis-cluster:// URL, or off\n',
      ])
    },
    slow,
  )
})
