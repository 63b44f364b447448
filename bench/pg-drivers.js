// Which PostgreSQL driver the store should use, measured on the statement that matters most: the
// refresh-token rotation (one conditional UPDATE ... RETURNING *). `pg` (Pool, named prepared
// statement) against `postgres` (postgres.js, prepared by default), same table, same run, in
// alternating order so that drift (autovacuum, other load on the machine) hits both alike.
//
//   node bench/pg-drivers.js [--url postgres://...] [--seconds 3] [--rounds 3]
import process from 'node:process'
import console from 'node:console'
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'
import pg from 'pg'
import postgres from 'postgres'
import { startNoiseProbe } from './lib/noise.js'

const DEFAULT_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const INT8_OID = 20
const DAY = 86_400_000
const SESSIONS_PER_WORKER = 64

const rotateSql = `
  UPDATE sessions SET
    previous_jti = current_jti,
    current_jti = $3,
    current_issued_at = $6,
    current_expires_at = $7,
    rotated_at = $5,
    last_used_at = $5,
    ip = $8,
    user_agent = $9,
    purge_at = $10
  WHERE id = $1 AND user_id = $2 AND current_jti = $4 AND revoked_at IS NULL AND purge_at > $5
    AND $7::bigint * 1000 <= expires_at AND $10::bigint <= expires_at
  RETURNING *
`

const randomId = () => randomBytes(16).toString('base64url')

/**
 * Runs the comparison and returns { rows, rounds, seconds } where each row is
 * { concurrency, driver, opsPerSec, p50Ms, p99Ms, perRound, failures, otherLoad }; drops its
 * scratch schema whatever happens.
 */
export async function measurePgDrivers({
  url = DEFAULT_URL,
  seconds = 3,
  rounds = 3,
  concurrencies = [1, 16],
  log = () => {},
} = {}) {
  const schema = `baton_bench_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  let drivers = []
  try {
    // The store's own schema, migrations and all: the benchmarked table is the real one.
    // `npm run bench` builds dist/ first; standalone, run `npm run build` once.
    const { migrate } = await import('../packages/server/dist/stores/postgres/schema.js')
    await migrate(admin, schema, 30_000)
    await admin.query(`SET search_path TO ${schema}`)
    const maxConcurrency = Math.max(...concurrencies)
    const sessions = await seedSessions(admin, maxConcurrency * SESSIONS_PER_WORKER)
    await admin.query('VACUUM ANALYZE sessions')

    drivers = [openPg(url, schema, maxConcurrency), openPostgresJs(url, schema, maxConcurrency)]
    // Connections opened and statements prepared before anything is timed.
    for (const driver of drivers) await runLoad(driver, sessions, maxConcurrency, 0.5)

    const samples = new Map()
    for (const concurrency of concurrencies) {
      for (let round = 0; round < rounds; round++) {
        // A B, then B A: neither driver always runs first (on a warmer or a more bloated table).
        const order = round % 2 === 0 ? drivers : [...drivers].reverse()
        for (const driver of order) {
          log(`  c=${concurrency} round ${round + 1}/${rounds} ${driver.name} ...`)
          const probe = startNoiseProbe()
          const result = await runLoad(driver, sessions, concurrency, seconds)
          result.otherLoad = probe.stop()
          const key = `${concurrency}/${driver.name}`
          if (!samples.has(key)) samples.set(key, [])
          samples.get(key).push(result)
          log(` ${Math.round(result.opsPerSec).toLocaleString('en-US')} ops/s\n`)
          if (result.firstError) throw result.firstError
        }
      }
    }

    const rows = []
    for (const concurrency of concurrencies) {
      for (const driver of drivers) {
        const results = samples.get(`${concurrency}/${driver.name}`)
        const latencies = results.flatMap((result) => result.latencies).sort((a, b) => a - b)
        const ops = results.reduce((sum, result) => sum + result.ops, 0)
        const elapsed = results.reduce((sum, result) => sum + result.seconds, 0)
        rows.push({
          concurrency,
          driver: driver.name,
          opsPerSec: ops / elapsed,
          p50Ms: quantile(latencies, 0.5),
          p99Ms: quantile(latencies, 0.99),
          perRound: results.map((result) => result.opsPerSec),
          failures: results.reduce((sum, result) => sum + result.failures, 0),
          otherLoad: Math.max(...results.map((result) => result.otherLoad ?? 0)),
        })
      }
    }
    return { rows, rounds, seconds }
  } finally {
    await Promise.allSettled(drivers.map((driver) => driver.close()))
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    await admin.end()
  }
}

async function seedSessions(client, count) {
  const now = Date.now()
  const sessions = Array.from({ length: count }, () => ({
    id: randomId(),
    userId: randomId(),
    jti: randomId(),
  }))
  await client.query(
    `INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, ip, user_agent,
       scope, client_id, current_jti, current_issued_at, current_expires_at, purge_at)
     SELECT id, user_id, $4, $4, $4 + 90 * $5::bigint, '203.0.113.7', 'bench/1.0', 'openid',
       'baton', jti, $4 / 1000, $4 / 1000 + 1209600, $4 + 14 * $5::bigint
     FROM unnest($1::text[], $2::text[], $3::text[]) AS s (id, user_id, jti)`,
    [
      sessions.map((s) => s.id),
      sessions.map((s) => s.userId),
      sessions.map((s) => s.jti),
      now,
      DAY,
    ],
  )
  return sessions
}

function rotationValues(session, jti) {
  const now = Date.now()
  return [
    session.id,
    session.userId,
    jti,
    session.jti,
    now,
    Math.floor(now / 1000),
    Math.floor(now / 1000) + 1_209_600,
    '198.51.100.23',
    'bench/2.0',
    now + 14 * DAY,
  ]
}

// Both drivers are configured as the store would be: BIGINT columns parsed to numbers.
function openPg(url, schema, max) {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    options: `-c search_path=${schema}`,
    types: {
      getTypeParser: (oid, format) =>
        oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format),
    },
  })
  pool.on('error', () => {})
  return {
    name: 'pg',
    async rotate(values) {
      const result = await pool.query({ name: 'bench_rotate', text: rotateSql, values })
      return result.rows[0]
    },
    close: () => pool.end(),
  }
}

function openPostgresJs(url, schema, max) {
  const sql = postgres(url, {
    max,
    prepare: true,
    onnotice: () => {},
    connection: { search_path: schema },
    types: {
      bigint: {
        to: INT8_OID,
        from: [INT8_OID],
        serialize: (value) => String(value),
        parse: (value) => Number(value),
      },
    },
  })
  return {
    name: 'postgres',
    async rotate(values) {
      const rows = await sql.unsafe(rotateSql, values, { prepare: true })
      return rows[0]
    },
    close: () => sql.end({ timeout: 5 }),
  }
}

/**
 * `concurrency` workers, each rotating its own sessions in turn (so every rotation is a success
 * path: its expected jti is the current one), for `seconds`.
 */
async function runLoad(driver, sessions, concurrency, seconds) {
  const latencies = []
  let ops = 0
  let failures = 0
  let firstError
  const started = performance.now()
  const deadline = started + seconds * 1000
  const worker = async (index) => {
    const own = sessions.slice(index * SESSIONS_PER_WORKER, (index + 1) * SESSIONS_PER_WORKER)
    for (let turn = 0; performance.now() < deadline; turn++) {
      const session = own[turn % own.length]
      const jti = randomId()
      const values = rotationValues(session, jti)
      const t0 = performance.now()
      try {
        const row = await driver.rotate(values)
        latencies.push(performance.now() - t0)
        if (row?.current_jti === jti && typeof row.purge_at === 'number') {
          session.jti = jti
          ops++
        } else {
          failures++
          firstError ??= new Error(`${driver.name}: rotation returned ${JSON.stringify(row)}`)
        }
      } catch (error) {
        failures++
        firstError ??= error
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, (_, index) => worker(index)))
  const elapsed = (performance.now() - started) / 1000
  return { ops, failures, firstError, latencies, seconds: elapsed, opsPerSec: ops / elapsed }
}

function quantile(sorted, q) {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
}

/** The comparison as text: one line per driver and concurrency, then the ratio. */
export function formatPgDrivers({ rows, rounds, seconds }) {
  const int = (value) => Math.round(value).toLocaleString('en-US')
  const perRound = rows.map((row) => row.perRound.map(int).join(' / '))
  const roundsWidth = Math.max('per round (ops/s)'.length, ...perRound.map((text) => text.length))
  const lines = [
    `rotation UPDATE ... RETURNING *, ${rounds} alternating rounds x ${seconds} s per driver and concurrency`,
    [
      'concurrency',
      'driver  ',
      'ops/s'.padStart(8),
      'p50 ms'.padStart(7),
      'p99 ms'.padStart(7),
      'per round (ops/s)'.padEnd(roundsWidth),
      'other load',
    ].join('  '),
  ]
  for (const concurrency of new Set(rows.map((row) => row.concurrency))) {
    const pair = rows.filter((row) => row.concurrency === concurrency)
    for (const row of pair) {
      lines.push(
        [
          String(concurrency).padEnd(11),
          row.driver.padEnd(8),
          int(row.opsPerSec).padStart(8),
          row.p50Ms.toFixed(2).padStart(7),
          row.p99Ms.toFixed(2).padStart(7),
          perRound[rows.indexOf(row)].padEnd(roundsWidth),
          `${Math.round(row.otherLoad * 100)}%`,
        ].join('  ') + (row.failures > 0 ? `  (${row.failures} failures)` : ''),
      )
    }
    const [first, second] = pair
    if (first && second) {
      lines.push(
        `             ${first.driver}/${second.driver}: ops/s ${(first.opsPerSec / second.opsPerSec).toFixed(2)}x, p99 ${(first.p99Ms / second.p99Ms).toFixed(2)}x`,
      )
    }
  }
  return lines.join('\n')
}

function parseBenchArgs(argv) {
  const options = {}
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = argv[i].split(/=(.*)/s)
    const value = inline ?? argv[++i]
    if (name === '--url') options.url = value
    else if (name === '--seconds') options.seconds = Number(value)
    else if (name === '--rounds') options.rounds = Number(value)
    else {
      console.error(
        'usage: node bench/pg-drivers.js [--url postgres://...] [--seconds 3] [--rounds 3]',
      )
      process.exit(2)
    }
  }
  for (const key of ['seconds', 'rounds']) {
    if (options[key] !== undefined && !(options[key] > 0)) {
      console.error(`--${key} must be a positive number`)
      process.exit(2)
    }
  }
  return options
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const options = parseBenchArgs(process.argv.slice(2))
  const result = await measurePgDrivers({
    ...options,
    log: (text) => process.stdout.write(text),
  })
  console.log(`\n${formatPgDrivers(result)}`)
}
