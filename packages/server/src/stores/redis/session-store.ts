import type { RedisClient } from '@baton-auth/verify/shared'
import { StoreUnavailableError } from '../../core/errors.js'
import type {
  CounterState,
  OneTimeToken,
  OneTimeTokenKind,
  SessionRecord,
  SessionRef,
  SessionRevocation,
  SessionRotation,
} from '../../core/ports.js'
import {
  decodeSessionRecord,
  encodeRevocation,
  encodeRotationRequest,
  encodeSessionRecord,
} from './record-codec.js'
import type { RedisSessionStore } from './redis-store.js'
import { batchedPerTurn } from '../turn-batch.js'
import {
  createSession,
  hitCounter,
  listUserSessions,
  revokeSession,
  revokeUserSessions,
  rotateSessions,
  takeOneTimeToken,
} from './scripts.js'
import type { LuaScript } from './scripts.js'

type Argument = string | Buffer | number

interface Rotation {
  ref: SessionRef
  expectedJti: string
  next: SessionRotation
}

// Rotations per script call: Redis runs one script at a time, and a longer one would hold up
// every other client for longer than the round trips it saves.
const MAX_ROTATIONS_PER_CALL = 16

// How far Redis's clock may run ahead of ours before rotations fail (503) rather than run late.
// Well under the default 10 s reuse grace, so a rotation that does run late is still inside it.
const LATE_ROTATION_CLOCK_SKEW_MS = 5000

interface BufferScripting {
  evalshaBuffer(sha1: string, ...rest: (string | number | Buffer)[]): Promise<unknown>
  evalBuffer(lua: string, ...rest: (string | number | Buffer)[]): Promise<unknown>
}

/**
 * The session store's primitives over a connected client; `openRedisSessionStore` makes one.
 * `cluster`: the client is a Redis Cluster's, where one script may only touch one slot.
 */
export function createRedisSessionStore(
  client: RedisClient,
  keyPrefix: string,
  commandTimeout: number,
  redact: (text: string) => string,
  cluster: boolean,
): RedisSessionStore {
  let closed = false
  // A safety net over ioredis's own timeouts (a cluster may retry redirections on its own), so no
  // call outlives the 2 s docs/api.md promises.
  const deadline = commandTimeout * 1.5

  async function guard<T>(operation: string, work: () => Promise<T>): Promise<T> {
    if (closed) throw new StoreUnavailableError(`redis: ${operation}: store is closed`)
    try {
      return await work()
    } catch (error) {
      throw new StoreUnavailableError(`redis: ${operation}: ${redact(messageOf(error))}`, error)
    }
  }
  const run = <T>(operation: string, body: () => Promise<T>): Promise<T> =>
    guard(operation, () => withDeadline(body(), deadline))

  // The named commands, not `callBuffer`, which ioredis 6 cannot auto-pipeline (it drops the
  // command name). Every command has its Buffer twin at run time; the types only lack these two.
  const scripting = client as unknown as BufferScripting
  async function evaluate(script: LuaScript, keys: string[], args: Argument[]): Promise<unknown> {
    const rest = [keys.length, ...keys, ...args]
    try {
      return await scripting.evalshaBuffer(script.sha1, ...rest)
    } catch (error) {
      // A restarted or failed-over server has forgotten the script: send it whole, once.
      if (!messageOf(error).startsWith('NOSCRIPT')) throw error
      return scripting.evalBuffer(script.lua, ...rest)
    }
  }

  const userKeys = (userId: string): string => `${keyPrefix}{${userId}}:`
  const sessionKey = (ref: SessionRef): string => `${userKeys(ref.userId)}session:${ref.sessionId}`
  const indexKey = (userId: string): string => `${userKeys(userId)}sessions`
  const deniedKey = (ref: SessionRef): string => `${userKeys(ref.userId)}denied:${ref.sessionId}`
  const counterKey = (key: string): string => `${keyPrefix}counter:${key}`
  // Outside the user's slot: whoever looks it up knows only the session id.
  const ownerKey = (sessionId: string): string => `${keyPrefix}owner:${sessionId}`
  // In the user's slot like the rest of the user's keys, though no script needs them together.
  const oneTimeKey = (userId: string, kind: OneTimeTokenKind): string =>
    `${userKeys(userId)}onetime:${kind}`

  const revocationFields = (revocation: SessionRevocation): Argument[] => [
    String(revocation.revokedAt),
    String(revocation.denyUntil),
    ...encodeRevocation(revocation),
  ]

  // One script call for rotations that concurrent requests started together; refuseAfter is
  // when their callers stop waiting. A rotation that cannot be encoded or whose reply cannot be
  // read gets an Error in its place; the others go on.
  async function rotateTogether(rotations: Rotation[]): Promise<(SessionRecord | null | Error)[]> {
    const refuseAfter = String(Date.now() + deadline + LATE_ROTATION_CLOCK_SKEW_MS)
    const results: (SessionRecord | null | Error)[] = new Array<Error | null>(rotations.length)
    const sent: number[] = []
    const keys: string[] = []
    const args: Argument[] = [refuseAfter]
    rotations.forEach(({ ref, expectedJti, next }, index) => {
      let request: Buffer
      try {
        request = encodeRotationRequest(expectedJti, next)
      } catch (error) {
        results[index] = asError(error)
        return
      }
      keys.push(sessionKey(ref), indexKey(ref.userId))
      args.push(ref.sessionId, request)
      sent.push(index)
    })
    if (sent.length === 0) return results
    const replies = asArray(await withDeadline(evaluate(rotateSessions, keys, args), deadline))
    sent.forEach((index, position) => {
      const reply = replies[position]
      if (reply === null || reply instanceof Error) {
        results[index] = reply
        return
      }
      try {
        results[index] = decodeSessionRecord(rotations[index]!.ref, asBuffer(reply))
      } catch (error) {
        results[index] = asError(error)
      }
    })
    return results
  }
  const rotateInTurn = batchedPerTurn(async (rotations: Rotation[]) => {
    const calls: Promise<(SessionRecord | null | Error)[]>[] = []
    for (let first = 0; first < rotations.length; first += MAX_ROTATIONS_PER_CALL) {
      calls.push(rotateTogether(rotations.slice(first, first + MAX_ROTATIONS_PER_CALL)))
    }
    return (await Promise.all(calls)).flat()
  })
  // A Cluster script may only touch one slot, and each user's keys have a slot of their own.
  async function rotate(rotation: Rotation): Promise<SessionRecord | null> {
    const result = cluster ? (await rotateTogether([rotation]))[0] : await rotateInTurn(rotation)
    // An error in a rotation's place (an unreadable record or request) fails that rotation alone.
    if (result instanceof Error) throw result
    return result ?? null
  }

  return {
    keyPrefix,

    create(session) {
      return run('create', async () => {
        const ref = { userId: session.userId, sessionId: session.id }
        // Before the record, and for the session's whole life (no rotation moves its absolute
        // end), so that a live session always has one. Another slot than the record's in a
        // Cluster, so not in the same script: a failure between the two leaves an owner entry
        // for no session, which reads as a missing session anyway.
        const lifetime = Math.max(1, session.expiresAt - session.createdAt)
        await client.set(ownerKey(session.id), session.userId, 'PX', lifetime)
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
      return guard('rotate', () => rotate({ ref, expectedJti, next }))
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
          const session = decodeSessionRecord({ userId, sessionId }, asBuffer(reply[index + 1]))
          // The script returns every record of the index; live ones only are listed.
          if (session.revokedAt === null && session.expiresAt > now && session.purgeAt > now) {
            sessions.push(session)
          }
        }
        return sessions.sort((a, b) => b.lastUsedAt - a.lastUsedAt || b.createdAt - a.createdAt)
      })
    },

    findSessionOwner(sessionId, now) {
      return run('findSessionOwner', async () => {
        const userId = await client.get(ownerKey(sessionId))
        if (userId === null) return null
        // The entry lasts the session's whole life; its record may have been purged before.
        const bytes = await client.getBuffer(sessionKey({ userId, sessionId }))
        if (bytes === null) return null
        return now < decodeSessionRecord({ userId, sessionId }, bytes).purgeAt ? userId : null
      })
    },

    isDenied(ref, now) {
      return run('isDenied', async () => {
        const until = await client.get(deniedKey(ref))
        return until !== null && now < Number(until)
      })
    },

    putOneTimeToken(token) {
      return run('putOneTimeToken', async () => {
        const stored: StoredOneTimeToken = {
          tokenHash: token.tokenHash,
          email: token.email,
          createdAt: token.createdAt,
          expiresAt: token.expiresAt,
        }
        // One SET replaces the earlier token whole; its TTL is the token's life by the caller's
        // clock (createdAt), as every TTL here is.
        const ttl = Math.max(1, token.expiresAt - token.createdAt)
        await client.set(oneTimeKey(token.userId, token.kind), JSON.stringify(stored), 'PX', ttl)
      })
    },

    takeOneTimeToken(userId, kind, tokenHash, now) {
      return run('takeOneTimeToken', async () => {
        const reply = await evaluate(
          takeOneTimeToken,
          [oneTimeKey(userId, kind)],
          [tokenHash, String(now)],
        )
        if (reply === null) return null
        return oneTimeTokenOf(userId, kind, asBuffer(reply).toString('utf8'))
      })
    },

    dropOneTimeToken(userId, kind) {
      return run('dropOneTimeToken', async () => {
        await client.unlink(oneTimeKey(userId, kind))
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

/** A one-time token as its key holds it: the user id and kind are in the key. */
type StoredOneTimeToken = Omit<OneTimeToken, 'userId' | 'kind'>

function oneTimeTokenOf(userId: string, kind: OneTimeTokenKind, json: string): OneTimeToken {
  const stored = JSON.parse(json) as Partial<StoredOneTimeToken> | null
  if (
    typeof stored?.tokenHash !== 'string' ||
    typeof stored.email !== 'string' ||
    typeof stored.createdAt !== 'number' ||
    typeof stored.expiresAt !== 'number'
  ) {
    throw new Error('malformed one-time token')
  }
  return {
    userId,
    kind,
    tokenHash: stored.tokenHash,
    email: stored.email,
    createdAt: stored.createdAt,
    expiresAt: stored.expiresAt,
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

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}

function asArray(value: unknown): unknown[] {
  if (Array.isArray(value)) return value as unknown[]
  throw new Error(`unexpected reply from Redis: ${typeof value}`)
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
