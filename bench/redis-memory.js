// What a session costs in Redis memory: MEMORY USAGE of every key the Redis session store writes
// for N sessions (the session records and their users' indexes), divided by N. Sessions look like
// real ones: 22-character ids from randomId(), an IPv4 address, a browser user agent, scope '',
// no client id. Each measurement writes under a fresh key prefix and deletes it afterwards.
//
//   node bench/redis-memory.js [--url redis://...] [--sessions 10000]
//
// Imports the built store: `npm run build` first, or point BENCH_DIST at another build
// (`npx tsc -p tsconfig.build.json --outDir /tmp/redis-build`, BENCH_DIST=/tmp/redis-build).
import process from 'node:process'
import console from 'node:console'
import { randomBytes } from 'node:crypto'
import { pathToFileURL, URL } from 'node:url'
import { Redis } from 'ioredis'

const DEFAULT_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
const distUrl = process.env.BENCH_DIST
  ? pathToFileURL(`${process.env.BENCH_DIST.replace(/\/$/, '')}/`)
  : new URL('../packages/server/dist/', import.meta.url)

export const LONG_USER_AGENT =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
export const SHORT_USER_AGENT = 'okhttp/4.12.0'

const DAY = 86_400_000
const PARALLEL_WRITES = 200

const randomId = () => randomBytes(16).toString('base64url')
const randomIpv4 = () => [203, 0, 113, 1 + Math.floor(Math.random() * 254)].join('.')

/**
 * Creates `sessions` sessions, `sessionsPerUser` per user (a phone and a laptop by default),
 * rotated once when `rotated` (a session in steady state has a previous jti and a rotation time),
 * and returns { bytesPerSession, recordBytesPerSession, indexBytesPerSession, sessions, users,
 * keys, totalBytes }. bytesPerSession counts the records and the indexes: nothing else is written.
 */
export async function measureRedisMemory({
  url = DEFAULT_URL,
  sessions = 10_000,
  sessionsPerUser = 2,
  userAgent = LONG_USER_AGENT,
  rotated = false,
} = {}) {
  const { openRedisSessionStore } = await import(new URL('stores/redis/index.js', distUrl).href)
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  client.on('error', () => {})
  await client.connect()
  const prefix = await unusedPrefix(client)
  const store = await openRedisSessionStore({ url, keyPrefix: prefix })
  try {
    const now = Date.now()
    const records = []
    let userId = randomId()
    for (let index = 0; index < sessions; index += 1) {
      if (index % sessionsPerUser === 0) userId = randomId()
      records.push(newSession(userId, now, userAgent))
    }
    await inBatches(records, (record) => store.create(record))
    if (rotated) {
      await inBatches(records, (record) =>
        store.rotate({ userId: record.userId, sessionId: record.id }, record.currentJti, {
          jti: randomId(),
          issuedAt: Math.floor(now / 1000) + 600,
          expiresAt: Math.floor(now / 1000) + 600 + 14 * 86_400,
          rotatedAt: now + 600_000,
          ip: record.ip,
          userAgent,
          purgeAt: now + 600_000 + 14 * DAY + 15 * 60_000,
        }),
      )
    }

    const keys = await keysUnder(client, prefix)
    const usage = { record: 0, index: 0, other: 0 }
    for (let start = 0; start < keys.length; start += 1000) {
      const batch = keys.slice(start, start + 1000)
      const pipeline = client.pipeline()
      for (const key of batch) pipeline.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')
      const replies = await pipeline.exec()
      replies.forEach(([error, bytes], index) => {
        if (error) throw error
        usage[kindOf(batch[index])] += Number(bytes)
      })
    }
    const totalBytes = usage.record + usage.index + usage.other
    return {
      bytesPerSession: totalBytes / sessions,
      recordBytesPerSession: usage.record / sessions,
      indexBytesPerSession: usage.index / sessions,
      sessions,
      users: Math.ceil(sessions / sessionsPerUser),
      keys: keys.length,
      totalBytes,
    }
  } finally {
    await store.close()
    const keys = await keysUnder(client, prefix)
    for (let start = 0; start < keys.length; start += 1000) {
      await client.unlink(...keys.slice(start, start + 1000))
    }
    client.disconnect()
  }
}

/**
 * A fresh prefix as long as the default 'baton:', so keys weigh what they will in production (a
 * longer prefix could cross a jemalloc size class and add 16 bytes a key).
 */
async function unusedPrefix(client) {
  for (;;) {
    const prefix = `b${randomBytes(2).toString('hex')}:`
    const [, taken] = await client.scan('0', 'MATCH', `${prefix}*`, 'COUNT', 10_000)
    if (taken.length === 0 && (await keysUnder(client, prefix)).length === 0) return prefix
  }
}

function newSession(userId, now, userAgent) {
  return {
    id: randomId(),
    userId,
    createdAt: now,
    lastUsedAt: now,
    expiresAt: now + 90 * DAY,
    ip: randomIpv4(),
    userAgent,
    scope: '',
    clientId: null,
    currentJti: randomId(),
    currentIssuedAt: Math.floor(now / 1000),
    currentExpiresAt: Math.floor(now / 1000) + 14 * 86_400,
    previousJti: null,
    rotatedAt: null,
    revokedAt: null,
    revokedReason: null,
    purgeAt: now + 14 * DAY + 15 * 60_000,
  }
}

function kindOf(key) {
  if (key.includes('}:session:')) return 'record'
  if (key.endsWith('}:sessions')) return 'index'
  return 'other'
}

async function inBatches(items, write) {
  for (let start = 0; start < items.length; start += PARALLEL_WRITES) {
    await Promise.all(items.slice(start, start + PARALLEL_WRITES).map(write))
  }
}

async function keysUnder(client, prefix) {
  const keys = []
  let cursor = '0'
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    cursor = next
    keys.push(...batch)
  } while (cursor !== '0')
  return keys
}

function parseBenchArgs(argv) {
  const options = {}
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = argv[i].split(/=(.*)/s)
    const value = inline ?? argv[++i]
    if (name === '--url') options.url = value
    else if (name === '--sessions') options.sessions = Number(value)
    else {
      console.error('usage: node bench/redis-memory.js [--url redis://...] [--sessions 10000]')
      process.exit(2)
    }
  }
  if (
    options.sessions !== undefined &&
    !(Number.isInteger(options.sessions) && options.sessions > 0)
  ) {
    console.error('--sessions must be a positive integer')
    process.exit(2)
  }
  return options
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const options = parseBenchArgs(process.argv.slice(2))
  const sessions = options.sessions ?? 10_000
  const agents = [
    [`${LONG_USER_AGENT.length}-char Chrome`, LONG_USER_AGENT],
    [`${SHORT_USER_AGENT.length}-char okhttp`, SHORT_USER_AGENT],
  ]
  console.log(
    `Redis memory per session, bytes (MEMORY USAGE over ${sessions.toLocaleString('en-US')} sessions;`,
  )
  console.log("record = the session's key, index = its share of its user's index key)\n")
  console.log('user agent        sessions/user  state     record  index  total')
  const headline = []
  for (const [label, userAgent] of agents) {
    for (const sessionsPerUser of [1, 2, 3]) {
      for (const rotated of [false, true]) {
        const result = await measureRedisMemory({
          ...options,
          sessions,
          sessionsPerUser,
          userAgent,
          rotated,
        })
        if (sessionsPerUser === 2 && !rotated)
          headline.push(`${result.bytesPerSession.toFixed(0)} (${label})`)
        console.log(
          [
            label.padEnd(17),
            String(sessionsPerUser).padStart(13),
            (rotated ? 'rotated' : 'created').padStart(9),
            result.recordBytesPerSession.toFixed(0).padStart(7),
            result.indexBytesPerSession.toFixed(0).padStart(6),
            result.bytesPerSession.toFixed(0).padStart(6),
          ].join(' '),
        )
      }
    }
  }
  console.log(`\nbytes per session (2 sessions a user, as created): ${headline.join(', ')}`)
}
