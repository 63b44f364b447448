import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../helpers/ports.js'
import { checkService } from '../helpers/service-probes.js'

// The image of the Dockerfile and the stack of compose.yaml, run as a user would. Docker is not
// one of the services CI must provide, so without an engine this file skips, even with CI=true.

const root = join(import.meta.dirname, '..', '..')
const run = promisify(execFile)
const docker = (args: string[], env: Record<string, string> = {}) =>
  run('docker', args, {
    cwd: root,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, ...env },
  })

const id = randomBytes(4).toString('hex')
const image = `baton-test:${id}`
const credentials = { email: 'ada@example.com', password: 'correct horse battery staple' }

async function post(url: string, body: unknown): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
}

/** Signs up, reads /auth/me with the access token and refreshes: the server works end to end. */
async function signUpAndUse(base: string): Promise<void> {
  const signup = await post(`${base}/auth/signup`, credentials)
  expect(signup.status).toBe(201)
  const tokens = (await signup.json()) as { accessToken: string; refreshToken: string }
  const me = await fetch(`${base}/auth/me`, {
    headers: { authorization: `Bearer ${tokens.accessToken}` },
  })
  expect(me.status).toBe(200)
  expect(((await me.json()) as { email: string }).email).toBe(credentials.email)
  const refreshed = await post(`${base}/auth/refresh`, { refreshToken: tokens.refreshToken })
  expect(refreshed.status).toBe(200)
}

async function healthOf(container: string): Promise<string> {
  const { stdout } = await docker(['inspect', '--format', '{{.State.Health.Status}}', container])
  return stdout.trim()
}

async function waitHealthy(container: string): Promise<void> {
  let status = ''
  for (let waited = 0; waited < 120_000; waited += 1000) {
    status = await healthOf(container)
    if (status === 'healthy') return
    await new Promise((resolve) => setTimeout(resolve, 1000))
  }
  const { stdout, stderr } = await docker(['logs', container]).catch(() => ({
    stdout: '',
    stderr: '',
  }))
  throw new Error(`${container} is ${status}, not healthy, after 120 s:\n${stdout}${stderr}`)
}

const engine = await checkService('docker')
const describeWithEngine = engine.missing === null ? describe : describe.skip
if (engine.missing !== null) console.warn(`skipping the container tests: ${engine.missing}`)

describeWithEngine('the container image', () => {
  const container = `baton-test-${id}`
  const volume = `baton-test-data-${id}`

  beforeAll(async () => {
    await docker(['build', '--tag', image, '.'])
  }, 900_000)

  afterAll(async () => {
    await docker(['rm', '--force', container]).catch(() => undefined)
    await docker(['volume', 'rm', '--force', volume]).catch(() => undefined)
    await docker(['image', 'rm', '--force', image]).catch(() => undefined)
  }, 120_000)

  it('runs as a non-root user, becomes healthy, serves, stops gracefully and keeps its data', async () => {
    const port = await freePort()
    await docker([
      'run',
      '--detach',
      '--name',
      container,
      '--publish',
      `127.0.0.1:${port}:3000`,
      '--volume',
      `${volume}:/data`,
      image,
    ])
    await waitHealthy(container)
    const { stdout: uid } = await docker(['exec', container, 'id', '-u'])
    expect(uid.trim()).not.toBe('0')
    const base = `http://127.0.0.1:${port}`
    await signUpAndUse(base)

    // SIGTERM (the image's STOPSIGNAL) well within docker's 10 s: exit code 0, not a SIGKILL.
    await docker(['stop', '--time', '10', container])
    const { stdout: exit } = await docker([
      'inspect',
      '--format',
      '{{.State.ExitCode}} {{.State.OOMKilled}}',
      container,
    ])
    expect(exit.trim()).toBe('0 false')
    const { stdout: logs } = await docker(['logs', container])
    expect(logs).toContain('shutting down')

    // The SQLite file is on the volume: the account outlives the container's stop.
    await docker(['start', container])
    await waitHealthy(container)
    expect((await post(`${base}/auth/login`, credentials)).status).toBe(200)
  }, 300_000)
})

const compose = engine.missing === null ? await checkService('docker-compose') : engine
const describeWithCompose = compose.missing === null ? describe : describe.skip
if (engine.missing === null && compose.missing !== null) {
  console.warn(`skipping the compose stack test: ${compose.missing}`)
}

describeWithCompose('the compose stack: Baton on PostgreSQL and Redis', () => {
  const project = `baton-test-${id}`
  let env: Record<string, string>

  beforeAll(async () => {
    // Ports of their own, so a developer's PostgreSQL, Redis or Baton on the defaults is no
    // obstacle; an image name of its own, so the developer's baton:local is left alone.
    const port = await freePort()
    env = {
      BATON_IMAGE: `${image}-compose`,
      BATON_PUBLISH_PORT: String(port),
      BATON_ISSUER: `http://127.0.0.1:${port}`,
      POSTGRES_PUBLISH_PORT: String(await freePort()),
      REDIS_PUBLISH_PORT: String(await freePort()),
    }
  })

  afterAll(async () => {
    await docker(['compose', '--project-name', project, 'down', '--volumes'], env).catch(
      () => undefined,
    )
    await docker(['image', 'rm', '--force', `${image}-compose`]).catch(() => undefined)
  }, 300_000)

  it('starts Baton once both stores are healthy and serves from them', async () => {
    await docker(['compose', '--project-name', project, 'up', '--detach', '--build', '--wait'], env)
    const base = `http://127.0.0.1:${env['BATON_PUBLISH_PORT']}`
    expect((await fetch(`${base}/readyz`)).status).toBe(200)
    await signUpAndUse(base)
    // The sessions are in Redis: the key of the new session is there.
    const { stdout: keys } = await docker(
      ['compose', '--project-name', project, 'exec', '-T', 'redis', 'redis-cli', 'keys', 'baton:*'],
      env,
    )
    expect(keys.trim()).not.toBe('')
    const { stdout: users } = await docker(
      [
        'compose',
        '--project-name',
        project,
        'exec',
        '-T',
        'postgres',
        'psql',
        '-U',
        'baton',
        '-d',
        'baton',
        '-tAc',
        'SELECT email FROM baton.users',
      ],
      env,
    )
    expect(users.trim()).toBe(credentials.email)
  }, 900_000)
})
