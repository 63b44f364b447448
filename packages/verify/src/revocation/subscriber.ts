import type { RevocationCheck } from '../verifier.js'
import { createRedisClient, type RedisClient } from '../redis/connection.js'
import { channelTarget, decodeMessage } from './channel.js'

export interface RevocationSubscription extends RevocationCheck {
  /** Settles once the first snapshot is loaded (or could not be within the start timeout). */
  readonly ready: Promise<void>
  /** Sessions currently known to be revoked. */
  readonly size: number
  close(): Promise<void>
}

export interface SubscribeOptions {
  /** How long `ready` waits for Redis at start (ms); default 2000. */
  startTimeout?: number
}

/**
 * Follows Baton's revocation channel: a subscriber connection receives announcements as they
 * happen, and each time it (re)connects a second connection rereads the snapshot set, so an
 * announcement missed while disconnected is still learnt. Lookups are a map read, no I/O.
 */
export function subscribeToRevocations(
  url: string,
  options: SubscribeOptions = {},
): RevocationSubscription {
  const { target, names } = channelTarget(url, 'revocationRedisUrl')
  const revoked = new Map<string, number>()
  let closed = false
  let subscriber: RedisClient | undefined
  let reader: RedisClient | undefined

  const remember = (sid: string, until: number): void => {
    if (until > (revoked.get(sid) ?? 0)) revoked.set(sid, until)
  }
  const prune = (): void => {
    const now = Date.now()
    for (const [sid, until] of revoked) if (until <= now) revoked.delete(sid)
  }
  const loadSnapshot = async (): Promise<void> => {
    if (reader === undefined) return
    const entries = await reader.zrangebyscore(names.snapshot, Date.now(), '+inf', 'WITHSCORES')
    for (let index = 0; index + 1 < entries.length; index += 2) {
      remember(entries[index] as string, Number(entries[index + 1]))
    }
  }

  let markReady: () => void = () => undefined
  const ready = new Promise<void>((resolve) => {
    markReady = resolve
    setTimeout(resolve, options.startTimeout ?? 2000).unref()
  })
  const pruneTimer = setInterval(prune, 60_000)
  pruneTimer.unref()

  const start = async (): Promise<void> => {
    reader = await createRedisClient(target, {
      connection: { connectTimeout: 1000, maxRetriesPerRequest: 1, commandTimeout: 1000 },
    })
    // No command timeout: a subscribed connection waits for messages as long as it takes.
    subscriber = await createRedisClient(target, { connection: { connectTimeout: 1000 } })
    if (closed) {
      reader.disconnect()
      subscriber.disconnect()
      return
    }
    reader.on('error', () => undefined)
    subscriber.on('error', () => undefined)
    subscriber.on('message', (channel: string, text: string) => {
      if (channel !== names.channel) return
      const message = decodeMessage(text)
      if (message !== null) for (const sid of message.sids) remember(sid, message.until)
    })
    // Subscribe before reading the snapshot: whatever is published in between arrives either way.
    subscriber.on('ready', () => {
      loadSnapshot().then(markReady, () => undefined)
    })
    await subscriber.subscribe(names.channel)
    await loadSnapshot()
    markReady()
  }
  start().catch(() => undefined)

  return {
    ready,
    get size() {
      return revoked.size
    },
    isRevoked(sessionId, nowSeconds) {
      const until = revoked.get(sessionId)
      return until !== undefined && until > nowSeconds * 1000
    },
    async close() {
      closed = true
      clearInterval(pruneTimer)
      subscriber?.disconnect()
      reader?.disconnect()
    },
  }
}
