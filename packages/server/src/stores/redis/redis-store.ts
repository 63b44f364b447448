import { Cluster, Redis } from 'ioredis'
import type { ClusterOptions, RedisOptions } from 'ioredis'
import { ConfigError, StoreUnavailableError } from '../../core/errors.js'
import type {
  CounterState,
  SessionRecord,
  SessionRef,
  SessionRevocation,
  SessionStore,
} from '../../core/ports.js'
import {
  decodeSessionRecord,
  encodeRevocation,
  encodeRotation,
  encodeSessionRecord,
  encodeString,
} from './record-codec.js'
import { describeNodes, parseRedisUrl } from '@baton-auth/verify/shared'
import type { RedisTarget } from '@baton-auth/verify/shared'
import {
  createSession,
  hitCounter,
  listUserSessions,
  revokeSession,
  revokeUserSessions,
  rotateSession,
} from './scripts.js'
import type { LuaScript } from './scripts.js'

export interface RedisSessionStoreOptions {
  /**
   * `redis://[user:password@]host[:port][/db]`, `rediss://…` (TLS) or
   * `redis-cluster://[user:password@]host:port,host:port` (seed nodes of a Redis Cluster), each
   * with an optional `?prefix=` for the key prefix.
   */
  url: string
  /** Starts every key; wins over the URL's `prefix`. @default 'baton:' */
  keyPrefix?: string
  /**
   * The setting to name in a `ConfigError`.
   * @default 'BATON_SESSION_STORE_URL'
   */
  variable?: string
  /**
   * How long (ms) `openRedisSessionStore` waits for the first connection before it gives up.
   * @default 5000
   */
  connectTimeout?: number
  /**
   * How long (ms) one command may go unanswered before the call rejects with
   * `StoreUnavailableError`; a whole call never takes more than half as long again.
   * @default 1000
   */
  commandTimeout?: number
}

/** A `SessionStore` on Redis or Redis Cluster; docs/architecture.md has the key layout. */
export interface RedisSessionStore extends SessionStore {
  /** The prefix of every key this store writes. */
  readonly keyPrefix: string
}

type RedisClient = Redis | Cluster
type Argument = string | Buffer | number

const DEFAULT_PREFIX = 'baton:'
const DEFAULT_CONNECT_TIMEOUT_MS = 5000
// docs/api.md promises a 503 within 2 s rather than a hanging request.
const DEFAULT_COMMAND_TIMEOUT_MS = 1000
// Reconnect forever, backing off to one attempt a second: the same store object serves again as
// soon as Redis is back, with no restart.
const reconnectDelay = (attempt: number): number => Math.min(50 * 2 ** attempt, 1000)
// Failures that retrying cannot mend: stop waiting at once.
const credentialFailure = /^(WRONGPASS|NOAUTH|NOPERM|ERR AUTH|ERR invalid password)/

/**
 * Connects to Redis (or Redis Cluster) and returns a `SessionStore` on it. Waits for the first
 * connection, up to `connectTimeout`; throws `ConfigError` naming `variable` when the URL is
 * malformed or Redis cannot be reached. No message repeats the URL, which may carry a password.
 *
 * @example
 * ```ts
 * const sessions = await openRedisSessionStore({ url: 'redis://127.0.0.1:6379' })
 * ```
 */
export async function openRedisSessionStore(
  options: RedisSessionStoreOptions,
): Promise<RedisSessionStore> {
  const variable = options.variable ?? 'BATON_SESSION_STORE_URL'
  const target = parseRedisUrl(options.url, variable)
  const keyPrefix = options.keyPrefix ?? target.keyPrefix ?? DEFAULT_PREFIX
  if (/[{}]/.test(keyPrefix)) {
    // A brace would take over the {<userId>} hash tag and crowd every user into one slot.
    throw new ConfigError(variable, 'the Redis key prefix must not contain { or }')
  }
  const connectTimeout = options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT_MS
  const commandTimeout = options.commandTimeout ?? DEFAULT_COMMAND_TIMEOUT_MS
  const redact = redactor(target)

  const client = createClient(target, commandTimeout)
  let lastError: unknown
  // Without a listener ioredis prints "Unhandled error event" on every failed reconnection; the
  // calls themselves report outages as StoreUnavailableError.
  const remember = (error: unknown): void => {
    lastError = error
  }
  client.on('error', remember)
  if (client instanceof Cluster) client.on('node error', remember)

  try {
    await waitUntilReady(client, connectTimeout, () => lastError)
  } catch (error) {
    client.disconnect()
    const where = `${describeNodes(target)}${target.cluster ? ' (cluster)' : ''}`
    const reason = redact(messageOf(error))
    throw new ConfigError(variable, `cannot connect to Redis at ${where}: ${reason}`)
  }
  return createRedisSessionStore(client, keyPrefix, commandTimeout, redact)
}

function createClient(target: RedisTarget, commandTimeout: number): RedisClient {
  const connection = {
    username: target.username,
    password: target.password,
    tls: target.tls ? {} : undefined,
    connectTimeout: commandTimeout,
    commandTimeout,
    // A reply that stops coming (a frozen network) drops the socket, and a fresh one takes over.
    socketTimeout: commandTimeout,
    maxRetriesPerRequest: 1,
    // A command that timed out is the caller's failure already: never run it later behind its
    // back (a counted hit, a rotation) when the connection comes back.
    autoResendUnfulfilledCommands: false,
    lazyConnect: true,
  } satisfies RedisOptions
  if (target.cluster) {
    const clusterOptions: ClusterOptions = {
      redisOptions: connection,
      // Fail at once while no node answers, rather than queue: the caller gets its 503 now.
      enableOfflineQueue: false,
      clusterRetryStrategy: reconnectDelay,
      clusterNodeRetryStrategy: reconnectDelay,
      slotsRefreshTimeout: commandTimeout,
      lazyConnect: true,
    }
    return new Cluster(target.nodes, clusterOptions)
  }
  const [node] = target.nodes
  return new Redis({
    ...connection,
    host: node?.host,
    port: node?.port,
    db: target.db,
    enableOfflineQueue: false,
    retryStrategy: reconnectDelay,
  })
}

function waitUntilReady(
  client: RedisClient,
  timeoutMs: number,
  lastError: () => unknown,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const finish = (error?: Error): void => {
      clearTimeout(timer)
      client.off('ready', onReady)
      client.off('error', onError)
      if (error === undefined) resolve()
      else reject(error)
    }
    const onReady = (): void => finish()
    const onError = (error: unknown): void => {
      if (credentialFailure.test(messageOf(error))) finish(new Error(messageOf(error)))
    }
    const timer = setTimeout(() => {
      const last = lastError()
      const why = last === undefined ? 'no answer' : messageOf(last)
      finish(new Error(`${why} (gave up after ${timeoutMs} ms)`))
    }, timeoutMs)
    client.once('ready', onReady)
    client.on('error', onError)
    // Failed attempts retry in the background; 'error' events carry the reason.
    client.connect().catch(() => undefined)
  })
}

// How far Redis's clock may run ahead of ours before rotations fail (503) rather than run late.
// Well under the default 10 s reuse grace, so a rotation that does run late is still inside it.
const LATE_ROTATION_CLOCK_SKEW_MS = 5000

function createRedisSessionStore(
  client: RedisClient,
  keyPrefix: string,
  commandTimeout: number,
  redact: (text: string) => string,
): RedisSessionStore {
  let closed = false
  // A safety net over ioredis's own timeouts (a cluster may retry redirections on its own), so no
  // call outlives the 2 s docs/api.md promises.
  const deadline = commandTimeout * 1.5

  async function run<T>(operation: string, body: () => Promise<T>): Promise<T> {
    if (closed) throw new StoreUnavailableError(`redis: ${operation}: store is closed`)
    try {
      return await withDeadline(body(), deadline)
    } catch (error) {
      throw new StoreUnavailableError(`redis: ${operation}: ${redact(messageOf(error))}`, error)
    }
  }

  async function evaluate(script: LuaScript, keys: string[], args: Argument[]): Promise<unknown> {
    const rest = [script.keyCount, ...keys, ...args]
    try {
      return await client.callBuffer('evalsha', [script.sha1, ...rest])
    } catch (error) {
      // A restarted or failed-over server has forgotten the script: send it whole, once.
      if (!messageOf(error).startsWith('NOSCRIPT')) throw error
      return client.callBuffer('eval', [script.lua, ...rest])
    }
  }

  const userKeys = (userId: string): string => `${keyPrefix}{${userId}}:`
  const sessionKey = (ref: SessionRef): string => `${userKeys(ref.userId)}session:${ref.sessionId}`
  const indexKey = (userId: string): string => `${userKeys(userId)}sessions`
  const deniedKey = (ref: SessionRef): string => `${userKeys(ref.userId)}denied:${ref.sessionId}`
  const counterKey = (key: string): string => `${keyPrefix}counter:${key}`

  const revocationFields = (revocation: SessionRevocation): Argument[] => [
    String(revocation.revokedAt),
    String(revocation.denyUntil),
    ...encodeRevocation(revocation),
  ]

  return {
    keyPrefix,

    create(session) {
      return run('create', async () => {
        const ref = { userId: session.userId, sessionId: session.id }
        const created = await evaluate(
          createSession,
          [sessionKey(ref), indexKey(session.userId)],
          [
            encodeSessionRecord(session),
            String(session.createdAt),
            String(session.purgeAt),
            session.id,
          ],
        )
        // Replacing would un-revoke a session; the SQL stores refuse a duplicate key alike.
        if (created !== 1) throw new Error(`session ${session.id} already exists`)
      })
    },

    get(ref, now) {
      return run('get', async () => {
        const bytes = await client.getBuffer(sessionKey(ref))
        if (bytes === null) return null
        const session = decodeSessionRecord(ref, bytes)
        // Redis expires the key by its own clock; the caller's decides.
        return now < session.purgeAt ? session : null
      })
    },

    rotate(ref, expectedJti, next) {
      return run('rotate', async () => {
        const rotated = await evaluate(
          rotateSession,
          [sessionKey(ref), indexKey(ref.userId)],
          [
            String(next.rotatedAt),
            encodeString(expectedJti),
            ref.sessionId,
            String(next.purgeAt),
            ...encodeRotation(next),
            String(Date.now() + deadline + LATE_ROTATION_CLOCK_SKEW_MS),
            String(next.expiresAt),
          ],
        )
        return rotated === null ? null : decodeSessionRecord(ref, asBuffer(rotated))
      })
    },

    revoke(ref, revocation) {
      return run('revoke', async () => {
        const revoked = await evaluate(
          revokeSession,
          [sessionKey(ref), deniedKey(ref)],
          revocationFields(revocation),
        )
        return revoked === 1
      })
    },

    revokeAllForUser(userId, revocation) {
      return run('revokeAllForUser', async () => {
        const ids = await evaluate(
          revokeUserSessions,
          [indexKey(userId)],
          [userKeys(userId), ...revocationFields(revocation)],
        )
        return asArray(ids).map((id) => asBuffer(id).toString('utf8'))
      })
    },

    listForUser(userId, now) {
      return run('listForUser', async () => {
        const reply = asArray(
          await evaluate(listUserSessions, [indexKey(userId)], [userKeys(userId), String(now)]),
        )
        const sessions: SessionRecord[] = []
        for (let index = 0; index + 1 < reply.length; index += 2) {
          const sessionId = asBuffer(reply[index]).toString('utf8')
          sessions.push(decodeSessionRecord({ userId, sessionId }, asBuffer(reply[index + 1])))
        }
        return sessions.sort((a, b) => b.lastUsedAt - a.lastUsedAt || b.createdAt - a.createdAt)
      })
    },

    isDenied(ref, now) {
      return run('isDenied', async () => {
        const until = await client.get(deniedKey(ref))
        return until !== null && now < Number(until)
      })
    },

    hit(key, windowMs, now) {
      return run('hit', async () => {
        const [count, resetAt] = asArray(
          await evaluate(hitCounter, [counterKey(key)], [now, now + windowMs, windowMs]),
        )
        return { count: Number(count), resetAt: Number(asBuffer(resetAt).toString('latin1')) }
      })
    },

    peek(key, now) {
      return run('peek', async (): Promise<CounterState> => {
        const [resetAt, count] = await client.hmget(counterKey(key), 'r', 'c')
        if (resetAt === null || resetAt === undefined || Number(resetAt) <= now) {
          return { count: 0, resetAt: 0 }
        }
        return { count: Number(count), resetAt: Number(resetAt) }
      })
    },

    resetCounter(key) {
      return run('resetCounter', async () => {
        await client.unlink(counterKey(key))
      })
    },

    ping() {
      return run('ping', async () => {
        await client.ping()
      })
    },

    close() {
      if (!closed) {
        closed = true
        // Not QUIT: with Redis gone it would wait; calls still in flight reject at once.
        client.disconnect()
      }
      return Promise.resolve()
    },
  }
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error instanceof Error ? error : new Error(String(error)))
      },
    )
  })
}

function asBuffer(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value
  if (typeof value === 'string') return Buffer.from(value, 'utf8')
  throw new Error(`unexpected reply from Redis: ${typeof value}`)
}

function asArray(value: unknown): unknown[] {
  if (Array.isArray(value)) return value as unknown[]
  throw new Error(`unexpected reply from Redis: ${typeof value}`)
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** Blanks the password wherever a message might repeat it (none of ioredis's do today). */
function redactor(target: RedisTarget): (text: string) => string {
  const { password } = target
  // Blanking every "a" of a one-letter password would garble messages and hide nothing.
  if (password === undefined || password.length < 4) return (text) => text
  return (text) => text.split(password).join('***')
}
