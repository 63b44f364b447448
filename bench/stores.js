// HTTP refresh on each session store (SQLite, Redis, PostgreSQL) in one run, as ratios of the
// SQLite figure measured in the same run; plus what the stores' own benchmarks report.
/* global URL */
import process from 'node:process'
import console from 'node:console'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { connections, newRotationStats, refreshOptions } from './http.js'
import { login, mapLimit, signup } from './lib/api.js'
import { parseArgs } from './lib/args.js'
import { freePort, killAllChildren, startChild } from './lib/children.js'
import { load } from './lib/load.js'
import { formatProfileSummary, summarizeProfile } from './lib/profile.js'
import { makeTempDir, removeAllTempDirs, removeTempDir } from './lib/temp.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const password = 'bench: correct horse battery staple'

export const postgresUrl =
  process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
export const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'

/**
 * The stores under test. Each `prepare()` returns Baton's store variables for a fresh database
 * (temp file, PostgreSQL schema, Redis key prefix) and a `drop()` that removes it.
 */
const stores = [
  {
    label: 'SQLite',
    needs: [],
    prepare() {
      const dir = makeTempDir('store-sqlite')
      const url = `sqlite:${join(dir, 'baton.db')}`
      return {
        env: { BATON_DATABASE_URL: url },
        drop: async () => removeTempDir(dir),
      }
    },
  },
  {
    label: 'Redis',
    needs: ['postgres', 'redis'],
    prepare() {
      const suffix = randomBytes(6).toString('hex')
      const schema = `baton_bench_${suffix}`
      const prefix = `baton-bench-${suffix}:`
      const sessions = new URL(redisUrl)
      sessions.searchParams.set('prefix', prefix)
      return {
        env: {
          BATON_DATABASE_URL: postgresWithSchema(schema),
          BATON_SESSION_STORE_URL: sessions.toString(),
        },
        drop: () => Promise.all([dropSchema(schema), deletePrefix(prefix)]),
      }
    },
  },
  {
    label: 'PostgreSQL',
    needs: ['postgres'],
    prepare() {
      const schema = `baton_bench_${randomBytes(6).toString('hex')}`
      return {
        env: { BATON_DATABASE_URL: postgresWithSchema(schema) },
        drop: () => dropSchema(schema),
      }
    },
  },
]

/**
 * Returns { connections, rounds, results: [{ label, rounds: [summary], rps, p99, skipped? }] }.
 * Rounds run the stores in alternating order (A B C, C B A, …) so that a slow minute of this
 * shared machine does not land on one store only.
 */
export async function runStoreBench({
  alg,
  httpSeconds,
  httpWarmupSeconds,
  rounds = 2,
  profile = false,
  log = () => {},
}) {
  const available = await availableServices()
  const results = stores.map((store) => {
    const missing = store.needs.filter((service) => available[service] !== null)
    return {
      label: store.label,
      rounds: [],
      skipped: missing.length ? missing.map((service) => available[service]).join('; ') : null,
    }
  })
  for (const result of results) {
    if (result.skipped) log(`  ${result.label}: skipped (${result.skipped})\n`)
  }
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? stores : [...stores].reverse()
    for (const store of order) {
      const result = results.find((entry) => entry.label === store.label)
      if (result.skipped) continue
      log(`  round ${round + 1}, ${store.label}: `)
      result.rounds.push(
        await measureRefresh({ store, alg, httpSeconds, httpWarmupSeconds, profile, log }),
      )
    }
  }
  for (const result of results) {
    if (result.rounds.length === 0) continue
    result.rps = result.rounds.reduce((sum, r) => sum + r.rps, 0) / result.rounds.length
    result.p50 = Math.max(...result.rounds.map((r) => r.p50))
    result.p99 = Math.max(...result.rounds.map((r) => r.p99))
    result.failedRotations = result.rounds.reduce(
      (sum, r) => sum + r.rotations.failed + r.rotations.warmupFailed,
      0,
    )
  }
  return { connections, rounds, results }
}

async function measureRefresh({ store, alg, httpSeconds, httpWarmupSeconds, profile, log }) {
  const prepared = store.prepare()
  const port = await freePort()
  const profileDir = profile ? makeTempDir('profiles') : null
  const server = await startChild({
    name: `baton server (${store.label})`,
    args: [join(root, 'packages/server/dist/cli/main.js'), 'serve'],
    nodeOptions: profileDir
      ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${store.label}.cpuprofile`]
      : [],
    env: {
      BATON_HOST: '127.0.0.1',
      BATON_PORT: String(port),
      BATON_LOG_LEVEL: 'silent',
      BATON_SIGNING_ALG: alg,
      BATON_LOGIN_MAX_FAILURES: '1000000',
      ...prepared.env,
    },
    port,
    healthPath: '/healthz',
  })
  try {
    const email = `bench-${Date.now()}@example.com`
    await signup(server.url, email, password)
    const logins = await mapLimit(2 * connections, 4, () => login(server.url, email, password))
    const slots = logins.map((tokens) => ({ token: tokens.refreshToken }))
    const warmupStats = newRotationStats()
    const measuredStats = newRotationStats()
    const url = `${server.url}/auth/refresh`
    await load({
      url,
      seconds: httpWarmupSeconds,
      connections,
      serverPid: server.pid,
      ...refreshOptions(slots.slice(0, connections), warmupStats),
    })
    const result = await load({
      url,
      seconds: httpSeconds,
      connections,
      serverPid: server.pid,
      ...refreshOptions(slots.slice(connections), measuredStats),
    })
    result.rotations = {
      ...measuredStats,
      warmupFailed: warmupStats.failed,
      warmupSample: warmupStats.sample,
    }
    log(
      `${Math.round(result.rps).toLocaleString('en-US')} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, server CPU ${Math.round(result.serverCpuPercent)}% of a core (${Math.round(result.serverCpuUsPerRequest)} µs/req), other load ${Math.round(result.otherLoad * 100)}%, failed rotations ${measuredStats.failed + warmupStats.failed}\n`,
    )
    return result
  } finally {
    await server.stop()
    await prepared.drop()
    if (profileDir) {
      const file = join(profileDir, `${store.label}.cpuprofile`)
      log(`${formatProfileSummary(store.label, summarizeProfile(file))}\n`)
      removeTempDir(profileDir)
    }
  }
}

/** null for each service that answers, else why not. */
export async function availableServices() {
  const [postgres, redis] = await Promise.all([
    withClient(
      async () => {
        const { default: pg } = await import('pg')
        const client = new pg.Client({
          connectionString: postgresUrl,
          connectionTimeoutMillis: 2000,
        })
        await client.connect()
        return client
      },
      (client) => client.query('SELECT 1'),
      (client) => client.end(),
    ).then(
      () => null,
      (error) => `PostgreSQL not reachable (${error.message}; set BENCH_POSTGRES_URL)`,
    ),
    withRedis((client) => client.ping()).then(
      () => null,
      (error) => `Redis not reachable (${error.message}; set BENCH_REDIS_URL)`,
    ),
  ])
  return { postgres, redis }
}

function postgresWithSchema(schema) {
  const url = new URL(postgresUrl)
  url.searchParams.set('schema', schema)
  return url.toString()
}

async function dropSchema(schema) {
  const { default: pg } = await import('pg')
  const client = new pg.Client({ connectionString: postgresUrl })
  await client.connect()
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  } finally {
    await client.end()
  }
}

async function deletePrefix(prefix) {
  await withRedis(async (client) => {
    let cursor = '0'
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      cursor = next
      if (keys.length) await client.unlink(...keys)
    } while (cursor !== '0')
  })
}

async function withRedis(use) {
  const { Redis } = await import('ioredis')
  return withClient(
    async () => {
      const client = new Redis(redisUrl, {
        lazyConnect: true,
        connectTimeout: 2000,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      })
      client.on('error', () => {})
      await client.connect()
      return client
    },
    use,
    (client) => client.disconnect(),
  )
}

async function withClient(open, use, close) {
  const client = await open()
  try {
    return await use(client)
  } finally {
    await close(client)
  }
}

// Standalone: node bench/stores.js [--alg ...] [--duration s] [--quick]
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.on('exit', () => {
    killAllChildren()
    removeAllTempDirs()
  })
  process.once('SIGINT', () => process.exit(130))
  process.once('SIGTERM', () => process.exit(143))
  const options = parseArgs()
  const result = await runStoreBench({ ...options, log: (text) => process.stdout.write(text) })
  console.log(
    JSON.stringify(
      result.results.map(({ label, rps, p50, p99, failedRotations, skipped }) => ({
        label,
        rps,
        p50,
        p99,
        failedRotations,
        skipped,
      })),
      null,
      2,
    ),
  )
}
