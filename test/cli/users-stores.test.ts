import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { subscribeToRevocations, type RevocationSubscription } from '@baton-auth/verify/revocations'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { startServerProcess } from '../helpers/processes.js'
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js'
import { strongPassword, uniqueEmail } from '../helpers/server.js'
import { describeWith, redisUrl } from '../helpers/services.js'
import { createTestStorage, type TestStorage } from '../helpers/storage.js'

// `baton users`, `baton sessions` and `baton events` on every store the server runs on: the built
// CLI in a child process and a `baton serve` child on the same stores, named the way the server
// reads them (BATON_DATABASE_URL / BATON_SESSION_STORE_URL, or --database-url /
// --session-store-url). test/cli/users.test.ts covers SQLite and SQLite + Redis.

const cli = join(import.meta.dirname, '../../packages/server/dist/cli/main.js')
// Every CLI run is a Node start, a store connection and (for `create`) an argon2 hash: generous
// on a shared 2-core machine.
const scenarioTimeout = 120_000
const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  // Last in, first out: servers and subscribers stop before their stores are dropped.
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

interface Stores {
  databaseUrl: string
  sessionStoreUrl: string
}

/** How the CLI is told where the stores are: the server's variables, or its options. */
type Naming = 'environment' | 'options'

interface Outcome {
  code: number | null
  stdout: string
  stderr: string
}

/** `baton <args>` on `stores`, to completion, `input` on its standard input. */
function batonOn(stores: Stores, naming: Naming) {
  return (args: string[], input = ''): Promise<Outcome> => {
    const env: Record<string, string> =
      naming === 'environment'
        ? {
            BATON_DATABASE_URL: stores.databaseUrl,
            BATON_SESSION_STORE_URL: stores.sessionStoreUrl,
          }
        : {}
    const storeArgs =
      naming === 'options'
        ? ['--database-url', stores.databaseUrl, '--session-store-url', stores.sessionStoreUrl]
        : []
    // Before a `--`, after which everything is an argument (a session id may start with a dash).
    const end = args.includes('--') ? args.indexOf('--') : args.length
    return run([...args.slice(0, end), ...storeArgs, ...args.slice(end)], env, input)
  }
}

function run(args: string[], env: Record<string, string>, input = ''): Promise<Outcome> {
  const child = spawn(process.execPath, [cli, ...args], {
    env: { PATH: process.env['PATH'], ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  child.stdin.end(input)
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

function storage(profile: 'postgres' | 'postgres+redis'): TestStorage {
  const created = createTestStorage(profile)
  cleanups.push(() => created.drop())
  return created
}

async function serve(stores: Stores): Promise<string> {
  const server = await startServerProcess({
    BATON_DATABASE_URL: stores.databaseUrl,
    BATON_SESSION_STORE_URL: stores.sessionStoreUrl,
  })
  cleanups.push(() => server.stop())
  return server.url
}

function subscribe(channelUrl: string): RevocationSubscription {
  const subscription = subscribeToRevocations(channelUrl, { startTimeout: 10_000 })
  cleanups.push(() => subscription.close())
  return subscription
}

interface Tokens {
  accessToken: string
  refreshToken: string
  sessionId: string
  user: { id: string; email: string; roles: string[] }
}

/** An HTTP client of the server's: the refresh token in the body (no Origin, no cookie). */
function http(server: string) {
  const post = (path: string, body: object) =>
    fetch(`${server}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'baton-token-delivery': 'body' },
      body: JSON.stringify(body),
    })
  const answer = async (response: Response) => ({
    status: response.status,
    body: (await response.json()) as Record<string, unknown>,
  })
  return {
    async login(email: string, password = strongPassword) {
      return answer(await post('/auth/login', { email, password }))
    },
    async signIn(email: string): Promise<Tokens> {
      const response = await post('/auth/login', { email, password: strongPassword })
      expect(response.status).toBe(200)
      const tokens = (await response.json()) as Tokens
      expect(tokens.refreshToken).toEqual(expect.any(String))
      return tokens
    },
    async refresh(refreshToken: string) {
      return answer(await post('/auth/refresh', { refreshToken }))
    },
    async me(accessToken: string) {
      return answer(
        await fetch(`${server}/auth/me`, { headers: { authorization: `Bearer ${accessToken}` } }),
      )
    },
    async adminUsers(accessToken: string): Promise<number> {
      const response = await fetch(`${server}/admin/users`, {
        headers: { authorization: `Bearer ${accessToken}` },
      })
      await response.body?.cancel()
      return response.status
    },
  }
}

interface Scenario {
  stores: Stores
  naming: Naming
  /** Sessions the CLI revoked, in order, for the caller to check on the revocation channel. */
  revoked?: (sessionIds: string[]) => Promise<void>
}

/**
 * The operator's round: the first administrator from the command line, signed in twice over
 * HTTP, listed, shown, given another role; one session revoked, then the account disabled; and
 * the audit log of it all. After each CLI change the running server acts on it.
 */
async function operatorRound({ stores, naming, revoked }: Scenario): Promise<void> {
  const baton = batonOn(stores, naming)
  const email = uniqueEmail()

  const created = ok(
    await baton(['users', 'create', '--email', email, '--role', 'admin'], `${strongPassword}\n`),
  )
  // On a fresh store, the command made it first, and said where.
  const [user, ...made] = created.trimEnd().split('\n').reverse()
  expect(user).toMatch(new RegExp(`^Created ${email} \\(\\S+\\) with roles admin\\.$`))
  expect(made).toEqual([expect.stringMatching(/^Created a new database at /)])

  const client = http(await serve(stores))
  const first = await client.signIn(email)
  let second = await client.signIn(email)
  expect(first.user.roles).toEqual(['admin'])
  expect(await client.adminUsers(first.accessToken)).toBe(200)

  const page = JSON.parse(ok(await baton(['users', 'list', '--json']))) as {
    users: { id: string; email: string; roles: string[]; disabledAt: string | null }[]
    next: string | null
  }
  expect(page).toEqual({
    users: [expect.objectContaining({ id: first.user.id, email, roles: ['admin'] })],
    next: null,
  })
  const shown = JSON.parse(ok(await baton(['users', 'show', email, '--json']))) as {
    sessions: { id: string }[]
  }
  expect(shown).toMatchObject({ id: first.user.id, email, roles: ['admin'], disabledAt: null })
  expect(shown.sessions.map((session) => session.id).sort()).toEqual(
    [first.sessionId, second.sessionId].sort(),
  )

  expect(ok(await baton(['users', 'set-roles', email, 'editor,admin']))).toBe(
    `${email} now has roles admin,editor.\n`,
  )
  // The server reads the new roles at the session's next refresh.
  const refreshed = await client.refresh(second.refreshToken)
  expect(refreshed.status).toBe(200)
  second = refreshed.body as unknown as Tokens
  expect(second.user.roles).toEqual(['admin', 'editor'])

  const listed = JSON.parse(ok(await baton(['sessions', 'list', email, '--json']))) as {
    sessions: { id: string }[]
  }
  expect(listed.sessions.map((session) => session.id).sort()).toEqual(
    [first.sessionId, second.sessionId].sort(),
  )

  // --user is passed: the command is being changed to make it optional.
  expect(ok(await baton(['sessions', 'revoke', '--user', email, '--', first.sessionId]))).toBe(
    `Revoked session ${first.sessionId} of ${email}.\n`,
  )
  // Its refresh token is refused, and its access token is on the deny-list.
  expect(await client.refresh(first.refreshToken)).toMatchObject({
    status: 401,
    body: { error: 'session_revoked' },
  })
  expect(await client.me(first.accessToken)).toMatchObject({
    status: 401,
    body: { error: 'session_revoked' },
  })
  // The other session is untouched.
  expect(await client.me(second.accessToken)).toMatchObject({ status: 200, body: { email } })
  const left = JSON.parse(ok(await baton(['sessions', 'list', email, '--json']))) as {
    sessions: { id: string }[]
  }
  expect(left.sessions.map((session) => session.id)).toEqual([second.sessionId])
  await revoked?.([first.sessionId])

  expect(ok(await baton(['users', 'disable', email]))).toBe(
    `Disabled ${email}; 1 session signed out.\n`,
  )
  expect(await client.refresh(second.refreshToken)).toMatchObject({
    status: 401,
    body: { error: 'session_revoked' },
  })
  expect(await client.me(second.accessToken)).toMatchObject({
    status: 401,
    body: { error: 'session_revoked' },
  })
  expect(await client.me(first.accessToken)).toMatchObject({ status: 401 })
  expect(await client.login(email)).toMatchObject({
    status: 403,
    body: { error: 'account_disabled' },
  })
  expect(JSON.parse(ok(await baton(['sessions', 'list', email, '--json'])))).toEqual({
    sessions: [],
  })
  expect(ok(await baton(['users', 'show', email]))).toMatch(/\nstatus\s+disabled \S+\n/)
  await revoked?.([second.sessionId])

  const events = JSON.parse(ok(await baton(['events', '--user', email, '--json']))) as {
    events: { type: string; actor: string | null; userId: string; sessionId: string | null }[]
  }
  expect(events.events.every((event) => event.userId === first.user.id)).toBe(true)
  const byCli = events.events.filter((event) => event.actor === 'cli')
  expect(byCli.map((event) => event.type).sort()).toEqual([
    'roles_changed',
    'session_revoked',
    'user_created',
    'user_disabled',
  ])
  expect(byCli.find((event) => event.type === 'session_revoked')?.sessionId).toBe(first.sessionId)
  const byServer = events.events.filter((event) => event.actor === null)
  expect(byServer.map((event) => event.type).sort()).toEqual(['login', 'login', 'login_failed'])
}

await describeWith(['postgres'], 'baton users, sessions, events on PostgreSQL', () => {
  it(
    'runs the operator round on a fresh schema, the stores named by the server’s variables',
    async () => {
      const stores = storage('postgres')
      await operatorRound({ stores, naming: 'environment' })
    },
    scenarioTimeout,
  )

  it(
    'runs it with --database-url and --session-store-url, which win over the variables',
    async () => {
      const stores = storage('postgres')
      await operatorRound({ stores, naming: 'options' })

      // An environment naming another database, never made, loses to the options.
      const directory = mkdtempSync(join(tmpdir(), 'baton-users-stores-'))
      cleanups.push(() => rmSync(directory, { recursive: true, force: true }))
      const elsewhere = `sqlite:${join(directory, 'baton.db')}`
      const env = { BATON_DATABASE_URL: elsewhere, BATON_SESSION_STORE_URL: elsewhere }
      const withOptions = JSON.parse(
        ok(
          await run(
            [
              'users',
              'list',
              '--json',
              '--database-url',
              stores.databaseUrl,
              '--session-store-url',
              stores.sessionStoreUrl,
            ],
            env,
          ),
        ),
      ) as { users: object[] }
      expect(withOptions.users).toHaveLength(1)
      // Without them, that database is named, and refused rather than made anew.
      const withoutOptions = await run(['users', 'list', '--json'], env)
      expect(withoutOptions.code).toBe(1)
      expect(withoutOptions.stderr).toMatch(
        /^baton: no Baton database at sqlite:\S+ \(BATON_DATABASE_URL\): \S+ does not exist\. /,
      )
      expect(existsSync(join(directory, 'baton.db'))).toBe(false)
    },
    scenarioTimeout,
  )
})

await describeWith(
  ['postgres', 'redis'],
  'baton users, sessions, events on PostgreSQL with sessions on Redis',
  () => {
    it(
      'runs the operator round on a fresh schema and key prefix',
      async () => {
        const stores = storage('postgres+redis')
        await operatorRound({ stores, naming: 'environment' })
      },
      scenarioTimeout,
    )

    it(
      'announces the sessions it revokes on the revocation channel, as the server does',
      async () => {
        const stores = storage('postgres+redis')
        // The channel defaults to the session store when it is Redis, with its prefix.
        const prefix = new URL(stores.sessionStoreUrl).searchParams.get('prefix') ?? ''
        const subscription = subscribe(stores.sessionStoreUrl)
        await subscription.ready
        const messages = await rawSubscriber(`${prefix}revocations`)
        await operatorRound({
          stores,
          naming: 'options',
          async revoked(sessionIds) {
            // Received as a message: this subscriber is connected from before the command.
            await expect
              .poll(() => sessionIds.every((id) => subscription.isRevoked(id, Date.now() / 1000)), {
                timeout: 10_000,
              })
              .toBe(true)
            await expect
              .poll(() => messages.flatMap((message) => message.sids), { timeout: 10_000 })
              .toEqual(expect.arrayContaining(sessionIds))
          },
        })
        // Two announcements, one per command, each naming only its session, until a time to
        // come (when the session's last access token expires).
        expect(messages.map((message) => message.sids)).toHaveLength(2)
        for (const message of messages) {
          expect(message.sids).toHaveLength(1)
          expect(message.until).toBeGreaterThan(Date.now())
        }
        // A subscriber that connects afterwards learns them from the snapshot set.
        const late = subscribe(stores.sessionStoreUrl)
        await late.ready
        for (const sid of messages.flatMap((message) => message.sids)) {
          expect(late.isRevoked(sid, Date.now() / 1000)).toBe(true)
        }
      },
      scenarioTimeout,
    )
  },
)

await describeWith(
  ['redis-binaries'],
  'baton users, sessions, events on SQLite with sessions on a Redis Cluster',
  () => {
    let cluster: RedisCluster | undefined
    beforeAll(async () => {
      cluster = await startRedisCluster()
    }, 90_000)
    afterAll(async () => {
      await cluster?.stop()
    })

    it(
      'runs the operator round, and announces its revocations on the Cluster',
      async () => {
        if (cluster === undefined) throw new Error('the Redis Cluster did not start')
        const directory = mkdtempSync(join(tmpdir(), 'baton-users-stores-'))
        cleanups.push(() => rmSync(directory, { recursive: true, force: true }))
        const stores = {
          databaseUrl: `sqlite:${join(directory, 'baton.db')}`,
          sessionStoreUrl: `${cluster.url}?prefix=cli-${randomBytes(6).toString('hex')}:`,
        }
        const subscription = subscribe(stores.sessionStoreUrl)
        await subscription.ready
        await operatorRound({
          stores,
          naming: 'environment',
          async revoked(sessionIds) {
            await expect
              .poll(() => sessionIds.every((id) => subscription.isRevoked(id, Date.now() / 1000)), {
                timeout: 10_000,
              })
              .toBe(true)
          },
        })
      },
      scenarioTimeout,
    )
  },
)

/** Messages on a Redis channel, subscribed to directly as the verifier does. */
async function rawSubscriber(channel: string): Promise<{ sids: string[]; until: number }[]> {
  const { Redis } = await import('ioredis')
  const client = new Redis(redisUrl)
  cleanups.push(() => void client.disconnect())
  const messages: { sids: string[]; until: number }[] = []
  client.on('message', (from: string, text: string) => {
    if (from === channel) messages.push(JSON.parse(text) as { sids: string[]; until: number })
  })
  await client.subscribe(channel)
  return messages
}
