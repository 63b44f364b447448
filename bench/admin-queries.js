// What the operators' listings cost on a large database (issue 13): `listEvents` by user and by
// type since a time on 1,000,000 audit events over 10,000 users, on SQLite and PostgreSQL (each a
// fresh file or schema, filled with batched inserts); `listUsers` pages over those users; and
// `listForUser` of a user with 1,000 live sessions on every session store (memory, SQLite,
// PostgreSQL, Redis). Median and p99 of 200 calls each, after 20 not counted. Prints a table,
// then the query plan each SQL listing ran on.
//
//   node bench/admin-queries.js [--events 1000000] [--users 10000] [--sessions 1000] [--queries 200]
//
// Imports the built stores: `npm run build` first, or point BENCH_DIST at another build.
// PostgreSQL and Redis as for bench/stores.js (BENCH_POSTGRES_URL, BENCH_REDIS_URL); a store whose
// server does not answer is reported as skipped.
import process from 'node:process'
import console from 'node:console'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { pathToFileURL, URL } from 'node:url'
import Database from 'better-sqlite3'
import pg from 'pg'
import { makeTempDir, removeAllTempDirs } from './lib/temp.js'
import { availableServices, postgresUrl, redisUrl } from './stores.js'

const distUrl = process.env.BENCH_DIST
  ? pathToFileURL(`${process.env.BENCH_DIST.replace(/\/$/, '')}/`)
  : new URL('../packages/server/dist/', import.meta.url)

const DAY = 86_400_000
const WARMUP = 20
const PAGE = 50
// Rows per INSERT when filling PostgreSQL: one round trip each, unnest() of one array per column.
const PG_BATCH = 20_000

// Event types with how often each occurs: most events are sign-ins and refreshes, a few are rare.
const eventTypes = [
  ['login_succeeded', 40],
  ['refresh_token_rotated', 30],
  ['logout', 12],
  ['login_failed', 10],
  ['password_changed', 3],
  ['sessions_revoked', 2],
  ['user_disabled', 1],
  ['user_enabled', 1],
  ['refresh_token_reused', 0.5],
  ['password_reset_requested', 0.5],
]

function parseOptions(argv = process.argv.slice(2)) {
  const options = { events: 1_000_000, users: 10_000, sessions: 1000, queries: 200 }
  for (let index = 0; index < argv.length; index++) {
    const [name, inline] = argv[index].split('=', 2)
    const key = name.replace(/^--/, '')
    const value = Number(inline ?? argv[++index])
    if (!(key in options) || !Number.isInteger(value) || value < 1) {
      console.error(
        'usage: node bench/admin-queries.js [--events n] [--users n] [--sessions n] [--queries n]',
      )
      process.exit(2)
    }
    options[key] = value
  }
  return options
}

/** A small seeded generator (mulberry32): both databases get the very same events. */
function generator(seed) {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const userIdOf = (index) => `bench-user-${String(index).padStart(6, '0')}`

/**
 * The workload, generated once: `users` users created over the past year, and `events` events
 * over the same year in recording order (ids and times rise together), 2 % without a user.
 */
function workload({ events, users }) {
  const random = generator(13)
  const end = Date.now()
  const start = end - 365 * DAY
  const totalWeight = eventTypes.reduce((sum, [, weight]) => sum + weight, 0)
  const pickType = () => {
    let roll = random() * totalWeight
    for (const [type, weight] of eventTypes) {
      roll -= weight
      if (roll < 0) return type
    }
    return eventTypes[0][0]
  }
  const userRows = Array.from({ length: users }, (_, index) => ({
    id: userIdOf(index),
    email: `user${index}.${randomBytes(3).toString('hex')}@example.test`,
    createdAt: start + Math.floor((index / users) * 365 * DAY),
  }))
  const eventRows = {
    type: new Array(events),
    at: new Array(events),
    userId: new Array(events),
    sessionId: new Array(events),
  }
  for (let index = 0; index < events; index++) {
    eventRows.type[index] = pickType()
    eventRows.at[index] = start + Math.floor((index / events) * 365 * DAY)
    eventRows.userId[index] = random() < 0.02 ? null : userIdOf(Math.floor(random() * users))
    eventRows.sessionId[index] = `s${Math.floor(random() * 1e9).toString(36)}`
  }
  return { start, end, users: userRows, events: eventRows, count: events }
}

function fillSqlite(path, data) {
  const db = new Database(path)
  try {
    const insertUser = db.prepare(
      `INSERT INTO users (id, email, password_hash, roles, created_at)
       VALUES (?, ?, 'bench-hash', '["user"]', ?)`,
    )
    const insertEvent = db.prepare(
      `INSERT INTO audit_events (type, at, user_id, session_id, ip, user_agent, actor, detail)
       VALUES (?, ?, ?, ?, '203.0.113.7', 'bench/1.0', NULL, NULL)`,
    )
    db.transaction(() => {
      for (const user of data.users) insertUser.run(user.id, user.email, user.createdAt)
      const { type, at, userId, sessionId } = data.events
      for (let index = 0; index < data.count; index++) {
        insertEvent.run(type[index], at[index], userId[index], sessionId[index])
      }
    })()
  } finally {
    db.close()
  }
}

async function fillPostgres(schema, data) {
  const client = new pg.Client({ connectionString: postgresUrl })
  await client.connect()
  try {
    await client.query(`SET search_path TO "${schema}"`)
    await client.query(
      `INSERT INTO users (id, email, password_hash, roles, created_at)
       SELECT id, email, 'bench-hash', ARRAY['user'], created_at
       FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u(id, email, created_at)`,
      [
        data.users.map((user) => user.id),
        data.users.map((user) => user.email),
        data.users.map((user) => user.createdAt),
      ],
    )
    const { type, at, userId, sessionId } = data.events
    for (let first = 0; first < data.count; first += PG_BATCH) {
      const last = Math.min(first + PG_BATCH, data.count)
      await client.query(
        `INSERT INTO audit_events (type, at, user_id, session_id, ip, user_agent, actor, detail)
         SELECT type, at, user_id, session_id, '203.0.113.7', 'bench/1.0', NULL, NULL
         FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[])
           AS e(type, at, user_id, session_id)`,
        [
          type.slice(first, last),
          at.slice(first, last),
          userId.slice(first, last),
          sessionId.slice(first, last),
        ],
      )
    }
    // What autovacuum does soon after a bulk load anyway; measured plans should not depend on
    // whether it has come round yet.
    await client.query('ANALYZE users')
    await client.query('ANALYZE audit_events')
  } finally {
    await client.end()
  }
}

/** Median and p99 (ms) of `count` sequential calls of `call(index)`, after WARMUP calls. */
async function timeCalls(count, call) {
  for (let index = 0; index < WARMUP; index++) await call(index + count)
  const times = []
  for (let index = 0; index < count; index++) {
    const started = performance.now()
    await call(index)
    times.push(performance.now() - started)
  }
  times.sort((a, b) => a - b)
  const at = (fraction) => times[Math.min(times.length - 1, Math.ceil(fraction * times.length) - 1)]
  return { median: at(0.5), p99: at(0.99) }
}

/** The listings on one filled database store; `plan(sql, values)` returns its plan as text. */
async function measureDatabase(store, data, options, plan) {
  const random = generator(29)
  const pick = (list) => list[Math.floor(random() * list.length)]
  const rows = []
  const userQueries = Array.from({ length: options.queries + WARMUP }, () =>
    userIdOf(Math.floor(random() * options.users)),
  )
  rows.push({
    query: `listEvents({ userId, limit: ${PAGE} })`,
    ...(await timeCalls(options.queries, (index) =>
      store.listEvents({ userId: userQueries[index], limit: PAGE }),
    )),
  })
  const typeQueries = Array.from({ length: options.queries + WARMUP }, () => ({
    type: pick(eventTypes)[0],
    since: data.start + Math.floor(random() * 365 * DAY),
  }))
  rows.push({
    query: `listEvents({ type, since, limit: ${PAGE} })`,
    ...(await timeCalls(options.queries, (index) =>
      store.listEvents({ ...typeQueries[index], limit: PAGE }),
    )),
  })
  // A later page: the cursor of a first page, then the page after it.
  const cursors = []
  for (const userId of userQueries.slice(0, 40)) {
    const { next } = await store.listEvents({ userId, limit: PAGE })
    if (next !== null) cursors.push({ userId, cursor: next })
  }
  rows.push({
    query: `listEvents({ userId, cursor, limit: ${PAGE} })`,
    ...(await timeCalls(options.queries, (index) =>
      store.listEvents({ ...cursors[index % cursors.length], limit: PAGE }),
    )),
  })
  const pageCursors = []
  for (let page = await store.listUsers({ limit: 500 }); page.next !== null;) {
    pageCursors.push(page.next)
    page = await store.listUsers({ limit: 500, cursor: page.next })
  }
  rows.push({
    query: `listUsers({ cursor, limit: ${PAGE} })`,
    ...(await timeCalls(options.queries, () =>
      store.listUsers({ cursor: pick(pageCursors), limit: PAGE }),
    )),
  })
  rows.push({
    query: `listUsers({ email, limit: ${PAGE} })`,
    ...(await timeCalls(options.queries, () =>
      store.listUsers({ email: pick(data.users).email.slice(4, 9), limit: PAGE }),
    )),
  })
  const plans = {
    'by user': await plan('user', userQueries[0]),
    'by type since': await plan('type', typeQueries[0]),
  }
  return { rows, plans }
}

function newSession(userId, now, index) {
  const id = randomBytes(16).toString('base64url')
  return {
    id,
    userId,
    createdAt: now - index * 1000,
    lastUsedAt: now - index * 500,
    expiresAt: now + 90 * DAY,
    ip: '203.0.113.7',
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0 Safari/537.36',
    scope: 'openid',
    clientId: null,
    currentJti: randomBytes(16).toString('base64url'),
    currentIssuedAt: Math.floor(now / 1000),
    currentExpiresAt: Math.floor(now / 1000) + 14 * 86_400,
    previousJti: null,
    rotatedAt: null,
    revokedAt: null,
    revokedReason: null,
    purgeAt: now + 14 * DAY,
  }
}

/** `listForUser` of one user with `sessions` live sessions (and a few other users' beside). */
async function measureSessions(store, options) {
  const now = Date.now()
  const userId = `bench-${randomBytes(6).toString('hex')}`
  const records = Array.from({ length: options.sessions }, (_, index) =>
    newSession(userId, now, index),
  )
  for (let other = 0; other < 100; other++) {
    records.push(newSession(`${userId}-other-${other}`, now, other))
  }
  for (let first = 0; first < records.length; first += 100) {
    await Promise.all(records.slice(first, first + 100).map((record) => store.create(record)))
  }
  const listed = await store.listForUser(userId, now)
  if (listed.length !== options.sessions) {
    throw new Error(`listed ${listed.length} sessions of ${options.sessions}`)
  }
  return timeCalls(options.queries, () => store.listForUser(userId, now))
}

const format = (ms) => (ms < 1 ? ms.toFixed(3) : ms < 10 ? ms.toFixed(2) : ms.toFixed(1))

async function main() {
  const options = parseOptions()
  const available = await availableServices()
  const { openSqliteStore } = await import(new URL('stores/sqlite/index.js', distUrl).href)
  const { openPostgresStore } = await import(new URL('stores/postgres/index.js', distUrl).href)
  const { createMemoryStore } = await import(new URL('stores/memory/index.js', distUrl).href)
  const { openRedisSessionStore } = await import(new URL('stores/redis/index.js', distUrl).href)

  const log = (text) => process.stderr.write(`${text}\n`)
  const results = []
  const plans = []
  const cleanups = []
  try {
    let started = performance.now()
    const data = workload(options)
    log(`generated ${options.events} events over ${options.users} users in ${elapsed(started)}`)

    // SQLite: migrate, fill through a connection of our own, then measure through the store.
    const sqlitePath = join(makeTempDir('admin-queries'), 'baton.db')
    await openSqliteStore({ path: sqlitePath }).close()
    started = performance.now()
    fillSqlite(sqlitePath, data)
    log(`SQLite filled in ${elapsed(started)}`)
    const sqlite = openSqliteStore({ path: sqlitePath })
    cleanups.push(() => sqlite.close())
    const explainDb = new Database(sqlitePath, { readonly: true })
    cleanups.push(() => explainDb.close())
    const sqlitePlan = (shape, value) => {
      const [sql, parameters] =
        shape === 'user'
          ? [
              'SELECT * FROM audit_events WHERE user_id = ? ORDER BY at DESC, id DESC LIMIT 51',
              [value],
            ]
          : [
              `SELECT * FROM audit_events WHERE type = ? AND at >= ?
               ORDER BY at DESC, id DESC LIMIT 51`,
              [value.type, value.since],
            ]
      return explainDb
        .prepare(`EXPLAIN QUERY PLAN ${sql}`)
        .all(...parameters)
        .map((row) => row.detail)
        .join('; ')
    }
    const sqliteRun = await measureDatabase(sqlite, data, options, sqlitePlan)
    results.push(...sqliteRun.rows.map((row) => ({ store: 'SQLite', ...row })))
    plans.push(['SQLite', sqliteRun.plans])

    if (available.postgres === null) {
      const schema = `baton_bench_${randomBytes(6).toString('hex')}`
      const url = new URL(postgresUrl)
      url.searchParams.set('schema', schema)
      const setup = await openPostgresStore({ url: url.toString() })
      await setup.close()
      cleanups.push(() => dropSchema(schema))
      started = performance.now()
      await fillPostgres(schema, data)
      log(`PostgreSQL filled in ${elapsed(started)}`)
      const postgres = await openPostgresStore({ url: url.toString() })
      cleanups.push(() => postgres.close())
      const postgresPlan = async (shape, value) => {
        const client = new pg.Client({ connectionString: postgresUrl })
        await client.connect()
        try {
          const [sql, parameters] =
            shape === 'user'
              ? [
                  `SELECT * FROM "${schema}".audit_events WHERE user_id = $1
                   ORDER BY at DESC, id DESC LIMIT 51`,
                  [value],
                ]
              : [
                  `SELECT * FROM "${schema}".audit_events WHERE type = $1 AND at >= $2
                   ORDER BY at DESC, id DESC LIMIT 51`,
                  [value.type, value.since],
                ]
          const result = await client.query(`EXPLAIN (COSTS OFF) ${sql}`, parameters)
          return result.rows.map((row) => row['QUERY PLAN'].trim()).join('; ')
        } finally {
          await client.end()
        }
      }
      const postgresRun = await measureDatabase(postgres, data, options, postgresPlan)
      results.push(...postgresRun.rows.map((row) => ({ store: 'PostgreSQL', ...row })))
      plans.push(['PostgreSQL', postgresRun.plans])
    } else {
      log(`PostgreSQL skipped: ${available.postgres}`)
    }

    const sessionStores = [['memory', async () => createMemoryStore()]]
    sessionStores.push(['SQLite', async () => sqlite])
    if (available.postgres === null) {
      const schema = `baton_bench_${randomBytes(6).toString('hex')}`
      const url = new URL(postgresUrl)
      url.searchParams.set('schema', schema)
      cleanups.push(() => dropSchema(schema))
      sessionStores.push(['PostgreSQL', () => openPostgresStore({ url: url.toString() })])
    }
    if (available.redis === null) {
      const prefix = `baton-bench-${randomBytes(6).toString('hex')}:`
      cleanups.push(() => deletePrefix(prefix))
      sessionStores.push([
        'Redis',
        () => openRedisSessionStore({ url: redisUrl, keyPrefix: prefix }),
      ])
    } else {
      log(`Redis skipped: ${available.redis}`)
    }
    for (const [label, open] of sessionStores) {
      const store = await open()
      if (store !== sqlite) cleanups.push(() => store.close())
      results.push({
        store: label,
        query: `listForUser (${options.sessions} live sessions)`,
        ...(await measureSessions(store, options)),
      })
    }
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup()
    removeAllTempDirs()
  }

  const widths = [10, 44, 11, 9]
  const line = (cells) => cells.map((cell, index) => String(cell).padEnd(widths[index])).join(' ')
  console.log(
    `${options.events.toLocaleString('en-US')} audit events, ${options.users.toLocaleString('en-US')} users; median and p99 of ${options.queries} calls (ms)\n`,
  )
  console.log(line(['store', 'call', 'median', 'p99']))
  console.log(line(widths.map((width) => '-'.repeat(width))))
  for (const row of results)
    console.log(line([row.store, row.query, format(row.median), format(row.p99)]))
  console.log('\nplans (first query of each kind):')
  for (const [store, byKind] of plans) {
    for (const [kind, text] of Object.entries(byKind)) console.log(`  ${store}, ${kind}: ${text}`)
  }
}

function elapsed(started) {
  return `${((performance.now() - started) / 1000).toFixed(1)} s`
}

async function dropSchema(schema) {
  const client = new pg.Client({ connectionString: postgresUrl })
  await client.connect()
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  } finally {
    await client.end()
  }
}

async function deletePrefix(prefix) {
  const { Redis } = await import('ioredis')
  const client = new Redis(redisUrl, { lazyConnect: true })
  await client.connect()
  try {
    let cursor = '0'
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      cursor = next
      if (keys.length > 0) await client.unlink(...keys)
    } while (cursor !== '0')
  } finally {
    client.disconnect()
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.on('exit', () => removeAllTempDirs())
  process.once('SIGINT', () => process.exit(130))
  process.once('SIGTERM', () => process.exit(143))
  await main()
}
