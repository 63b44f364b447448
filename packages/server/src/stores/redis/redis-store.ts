import { ConfigError } from '../../core/errors.js'
import type { SessionStore } from '../../core/ports.js'
import {
  createRedisClient,
  describeNodes,
  keyPrefixOf,
  parseRedisUrl,
} from '@baton-auth/verify/shared'
import type { RedisClient, RedisClientOptions, RedisTarget } from '@baton-auth/verify/shared'
import { createRedisSessionStore, messageOf } from './session-store.js'

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
  const keyPrefix = keyPrefixOf(target, options.keyPrefix)
  if (/[{}]/.test(keyPrefix)) {
    // A brace would take over the {<userId>} hash tag and crowd every user into one slot.
    throw new ConfigError(variable, 'the Redis key prefix must not contain { or }')
  }
  const connectTimeout = options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT_MS
  const commandTimeout = options.commandTimeout ?? DEFAULT_COMMAND_TIMEOUT_MS
  const redact = redactor(target)

  const client = await createRedisClient(target, clientOptions(commandTimeout))
  let lastError: unknown
  // Without a listener ioredis prints "Unhandled error event" on every failed reconnection; the
  // calls themselves report outages as StoreUnavailableError.
  const remember = (error: unknown): void => {
    lastError = error
  }
  client.on('error', remember)
  if (target.cluster) client.on('node error', remember)

  try {
    await waitUntilReady(client, connectTimeout, () => lastError)
  } catch (error) {
    client.disconnect()
    const where = `${describeNodes(target)}${target.cluster ? ' (cluster)' : ''}`
    const reason = redact(messageOf(error))
    throw new ConfigError(variable, `cannot connect to Redis at ${where}: ${reason}`)
  }
  return createRedisSessionStore(client, keyPrefix, commandTimeout, redact, target.cluster)
}

/** A store call owes an answer within 2 s: short timeouts, no queueing, no late resends. */
function clientOptions(commandTimeout: number): RedisClientOptions {
  return {
    connection: {
      connectTimeout: commandTimeout,
      commandTimeout,
      // A reply that stops coming (a frozen network) drops the socket, and a fresh one takes over.
      socketTimeout: commandTimeout,
      maxRetriesPerRequest: 1,
      // A command that timed out is the caller's failure already: never run it later behind its
      // back (a counted hit, a rotation) when the connection comes back.
      autoResendUnfulfilledCommands: false,
      lazyConnect: true,
      // Commands of one event-loop turn (concurrent requests' deny-list reads) leave in one
      // write and come back in one read.
      enableAutoPipelining: true,
      // Except scripts: the rotations of a turn are one script call already (session-store.ts),
      // and routing that call through an automatic pipeline cost some 10 µs of CPU per refresh
      // (a pipeline per turn, its promises, a later write) for nothing: 87 % of SQLite's refresh
      // rate with it, on par without (docs/benchmarks.md). A Cluster's own client keeps
      // pipelining them: there each rotation is a call of its own, and the pipeline gathers them.
      autoPipeliningIgnoredCommands: ['evalsha'],
    },
    // Fail at once while no server answers, rather than queue: the caller gets its 503 now.
    enableOfflineQueue: false,
    lazyConnect: true,
    reconnectDelay,
    cluster: { slotsRefreshTimeout: commandTimeout, enableAutoPipelining: true },
  }
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

/** Blanks the password wherever a message might repeat it (none of ioredis's do today). */
function redactor(target: RedisTarget): (text: string) => string {
  const { password } = target
  // Blanking every "a" of a one-letter password would garble messages and hide nothing.
  if (password === undefined || password.length < 4) return (text) => text
  return (text) => text.split(password).join('***')
}
