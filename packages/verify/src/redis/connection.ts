import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis'
import type { RedisTarget } from './redis-url.js'

/**
 * Every Redis connection Baton opens goes through here: the session store and the revocation
 * publisher (server) and the revocation subscriber (verifier). The target (from `parseRedisUrl`)
 * decides single server or Cluster, TLS, credentials and database; each user passes its own
 * timeouts, queueing and retries, since a subscriber waiting for messages must not time out like
 * a store call that owes an answer within 2 s.
 */

export type RedisClient = Redis | Cluster

/** Keys and channels start with this unless the URL's `?prefix=` or the caller says otherwise. */
export const defaultKeyPrefix = 'baton:'

export interface RedisClientOptions {
  /**
   * Options of every connection: the server's, or each node's of a Cluster (timeouts,
   * `maxRetriesPerRequest`...). Host, port, database, TLS and credentials come from the target.
   */
  connection?: RedisOptions
  /** Queue commands while disconnected: on the client itself (the Cluster for a Cluster). */
  enableOfflineQueue?: boolean
  /** Connect only when `connect()` is called: on the client itself. */
  lazyConnect?: boolean
  /**
   * Delay (ms) before reconnection attempt `attempt`, or null to stop: a server's
   * `retryStrategy`, or a Cluster's `clusterRetryStrategy` and `clusterNodeRetryStrategy`.
   */
  reconnectDelay?: (attempt: number) => number | null
  /** Further options for a Cluster client only (`slotsRefreshTimeout`...). */
  cluster?: Omit<ClusterOptions, 'redisOptions'>
}

/**
 * The prefix of a target's keys: the caller's own choice, else the URL's `?prefix=`, else
 * `baton:`.
 */
export function keyPrefixOf(target: RedisTarget, override?: string): string {
  return override ?? target.keyPrefix ?? defaultKeyPrefix
}

/**
 * Creates an ioredis client for `target`. ioredis is an optional peer dependency, loaded here and
 * only here, when a connection is first wanted: the verifier's edge-safe entry points never reach
 * it.
 */
export async function createRedisClient(
  target: RedisTarget,
  options: RedisClientOptions = {},
): Promise<RedisClient> {
  const { Redis, Cluster } = await import('ioredis')
  const connection: RedisOptions = {
    username: target.username,
    password: target.password,
    tls: target.tls ? {} : undefined,
    ...options.connection,
  }
  const onClient = {
    ...(options.enableOfflineQueue === undefined
      ? {}
      : { enableOfflineQueue: options.enableOfflineQueue }),
    ...(options.lazyConnect === undefined ? {} : { lazyConnect: options.lazyConnect }),
  }
  const { reconnectDelay } = options
  if (target.cluster) {
    return new Cluster(target.nodes, {
      ...options.cluster,
      ...onClient,
      ...(reconnectDelay === undefined
        ? {}
        : { clusterRetryStrategy: reconnectDelay, clusterNodeRetryStrategy: reconnectDelay }),
      redisOptions: connection,
    })
  }
  const [node] = target.nodes
  return new Redis({
    ...connection,
    host: node?.host,
    port: node?.port,
    db: target.db,
    ...onClient,
    ...(reconnectDelay === undefined ? {} : { retryStrategy: reconnectDelay }),
  })
}
