import { defaultKeyPrefix, keyPrefixOf } from '../redis/connection.js'
import { parseRedisUrl, type RedisTarget } from '../redis/redis-url.js'

/**
 * Baton's revocation channel on Redis: the server publishes every revoked session there, and
 * middleware in other processes subscribe, so a revoked session's access tokens are refused
 * within moments without a store call per request.
 *
 * - `<prefix>revocations`: pub/sub channel; each message is `{"sids": [...], "until": ms}`.
 * - `<prefix>revoked-sessions`: sorted set of session ids by `until`, so a subscriber that
 *   (re)connects first reads what it missed. Entries past `until` are pruned on every publish.
 *
 * `until` is when the session's last access token expires: after it, nothing needs refusing.
 */

export interface ChannelNames {
  channel: string
  snapshot: string
}

export function channelNames(prefix = defaultKeyPrefix): ChannelNames {
  return { channel: `${prefix}revocations`, snapshot: `${prefix}revoked-sessions` }
}

export interface RevocationMessage {
  sids: string[]
  /** Epoch milliseconds. */
  until: number
}

export function encodeMessage(message: RevocationMessage): string {
  return JSON.stringify({ sids: message.sids, until: message.until })
}

export function decodeMessage(text: string): RevocationMessage | null {
  try {
    const value = JSON.parse(text) as { sids?: unknown; until?: unknown }
    if (!Array.isArray(value.sids) || typeof value.until !== 'number') return null
    const sids = value.sids.filter((sid): sid is string => typeof sid === 'string')
    return { sids, until: value.until }
  } catch {
    return null
  }
}

export interface ChannelTarget {
  target: RedisTarget
  names: ChannelNames
}

export function channelTarget(url: string, variable: string): ChannelTarget {
  const target = parseRedisUrl(url, variable)
  return { target, names: channelNames(keyPrefixOf(target)) }
}
