import { execFileSync } from 'node:child_process'
import { connect } from 'node:net'

/**
 * Whether the real servers some suites need are there. Free of Vitest, so vitest.config.ts can
 * use it too.
 */
export const postgresUrl =
  process.env['TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test'
export const redisUrl = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379'

export type Service =
  | 'postgres'
  | 'redis'
  | 'redis-binaries'
  | 'openssl'
  | 'chromium'
  | 'npm-registry'
  | 'docker'
  | 'docker-compose'

/** Debian's Chromium, driven by playwright-core (never a downloaded browser). */
export const chromiumPath = process.env['TEST_CHROMIUM'] ?? '/usr/bin/chromium'

export interface ServiceCheck {
  service: Service
  /** Why it cannot be used, or null when it can. */
  missing: string | null
}

const checks = new Map<Service, Promise<ServiceCheck>>()

/** Whether a service answers. Checked once per test file. */
export function checkService(service: Service): Promise<ServiceCheck> {
  let check = checks.get(service)
  if (check === undefined) {
    check = probe(service).then((missing) => ({ service, missing }))
    checks.set(service, check)
  }
  return check
}

async function probe(service: Service): Promise<string | null> {
  switch (service) {
    case 'postgres':
      return probePostgres()
    case 'redis':
      return probeRedis()
    case 'redis-binaries':
      return probeRedisBinaries()
    case 'openssl':
      return probeBinary('openssl', ['version'], 'Debian package openssl')
    case 'chromium':
      return probeBinary(
        chromiumPath,
        ['--version'],
        'Debian package chromium (apt-get install chromium), or set TEST_CHROMIUM',
      )
    case 'npm-registry':
      return probeNpmRegistry()
    case 'docker':
      return probeDocker(['info', '--format', '{{.ServerVersion}}'], 'no Docker engine answers')
    case 'docker-compose':
      return probeDocker(['compose', 'version'], 'the Docker Compose plugin is missing')
  }
}

async function probePostgres(): Promise<string | null> {
  const { default: pg } = await import('pg')
  const client = new pg.Client({
    connectionString: postgresUrl,
    connectionTimeoutMillis: 2000,
  })
  try {
    await client.connect()
    await client.query('SELECT 1')
    return null
  } catch (error) {
    return `PostgreSQL not reachable at ${redactUrl(postgresUrl)} (${messageOf(error)}; set TEST_POSTGRES_URL)`
  } finally {
    await client.end().catch(() => undefined)
  }
}

function probeRedis(): Promise<string | null> {
  const url = new URL(redisUrl)
  const port = Number(url.port || 6379)
  const host = url.hostname || '127.0.0.1'
  const failure = (reason: string): string =>
    `Redis not reachable at ${host}:${port} (${reason}; set TEST_REDIS_URL)`
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    let answer = ''
    const done = (result: string | null): void => {
      socket.destroy()
      resolve(result)
    }
    socket.setTimeout(2000, () => done(failure('timed out')))
    socket.on('error', (error) => done(failure(error.message)))
    socket.on('connect', () => socket.write('PING\r\n'))
    socket.on('data', (data) => {
      answer += data.toString('latin1')
      if (answer.includes('\r\n')) {
        done(answer.startsWith('+PONG') ? null : failure(`answered ${answer.trim()}`))
      }
    })
  })
}

function probeRedisBinaries(): Promise<string | null> {
  for (const binary of ['redis-server', 'redis-cli']) {
    try {
      execFileSync(binary, ['--version'], { stdio: 'ignore' })
    } catch {
      return Promise.resolve(`${binary} is not installed (Debian package redis-server)`)
    }
  }
  return Promise.resolve(null)
}

function probeBinary(binary: string, args: string[], from: string): Promise<string | null> {
  try {
    execFileSync(binary, args, { stdio: 'ignore' })
    return Promise.resolve(null)
  } catch {
    return Promise.resolve(`${binary} is not installed (${from})`)
  }
}

/**
 * The docker client alone is not enough: `docker info` asks the engine, and the client is often
 * installed where no engine runs (this says which of the two is missing).
 */
function probeDocker(args: string[], failure: string): Promise<string | null> {
  try {
    execFileSync('docker', ['--version'], { stdio: 'ignore' })
  } catch {
    return Promise.resolve('docker is not installed (the docker client and a running engine)')
  }
  try {
    execFileSync('docker', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 })
    return Promise.resolve(null)
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim().split('\n')[0]
    return Promise.resolve(
      `${failure} (\`docker ${args.join(' ')}\`: ${stderr || messageOf(error)})`,
    )
  }
}

/** Installing a packed tarball into an empty project fetches its dependencies. */
async function probeNpmRegistry(): Promise<string | null> {
  const registry = execFileSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8' }).trim()
  try {
    const answer = await fetch(new URL('-/ping', registry), { signal: AbortSignal.timeout(5000) })
    return answer.ok ? null : `the npm registry ${registry} answered ${answer.status}`
  } catch (error) {
    return `the npm registry ${registry} is not reachable (${messageOf(error)})`
  }
}

function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@')
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
