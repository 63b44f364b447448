import {
  channelTarget,
  createRedisClient,
  encodeMessage,
  type RedisClient,
} from '@baton-auth/verify/shared'

export interface RevocationPublisher {
  /** Announces revoked sessions; `until` (epoch ms) is when their last access token expires. */
  publish(sessionIds: string[], until: number): Promise<void>
  close(): Promise<void>
}

/**
 * The server's side of the revocation channel. A publish that fails does not undo or fail the
 * revocation itself (the store has it): the caller logs it, and subscribers that reconnect read
 * the snapshot set, which a later publish rewrites.
 */
export async function openRevocationPublisher(
  url: string,
  variable = 'BATON_REVOCATION_CHANNEL_URL',
): Promise<RevocationPublisher> {
  const { target, names } = channelTarget(url, variable)
  // Set per connection: on a Cluster they reach each node's connection, while the Cluster client
  // itself keeps ioredis's defaults.
  const client: RedisClient = await createRedisClient(target, {
    connection: {
      connectTimeout: 1000,
      commandTimeout: 1000,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      lazyConnect: true,
    },
  })
  client.on('error', () => undefined)
  await client.connect().catch(() => undefined)
  return {
    async publish(sessionIds, until) {
      if (sessionIds.length === 0) return
      const members = sessionIds.flatMap((sid) => [until, sid] as const)
      await client
        .multi()
        .zadd(names.snapshot, ...members)
        .zremrangebyscore(names.snapshot, '-inf', Date.now())
        .publish(names.channel, encodeMessage({ sids: sessionIds, until }))
        .exec()
    },
    async close() {
      client.disconnect()
    },
  }
}
