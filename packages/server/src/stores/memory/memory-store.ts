import { StoreUnavailableError } from '../../core/errors.js'
import type {
  CounterState,
  DatabaseStore,
  SecurityEvent,
  SessionRecord,
  SessionRef,
  SessionStore,
  StoredKey,
  StoredOAuthClient,
  UserRecord,
} from '../../core/ports.js'

/**
 * Every port in one process-local object: for tests, development and single-process embedding.
 * Nothing survives a restart, and two processes never see each other's sessions.
 */
export interface MemoryStore extends SessionStore, DatabaseStore {}

// Measured in the caller's clock (the `now` the core passes in), never Date.now(): a core test on
// a frozen or fake clock must not see records vanish because the wall clock moved on.
const SWEEP_INTERVAL_MS = 60_000

// The audit log is the one collection with no expiry; keep the newest events so a long-running
// development server cannot grow without bound.
const MAX_AUDIT_EVENTS = 10_000

const noCounter: CounterState = { count: 0, resetAt: 0 }

/**
 * Creates an empty in-memory store implementing `SessionStore` and `DatabaseStore`.
 *
 * @example
 * ```ts
 * const store = createMemoryStore() // one object for both ports
 * const stores = { database: store, sessions: store }
 * ```
 */
export function createMemoryStore(): MemoryStore {
  const sessions = new Map<string, SessionRecord>()
  const sessionIdsByUser = new Map<string, Set<string>>()
  const deniedUntil = new Map<string, number>()
  const counters = new Map<string, CounterState>()
  const users = new Map<string, UserRecord>()
  const userIdByEmail = new Map<string, string>()
  const keys = new Map<string, StoredKey>()
  const clients = new Map<string, StoredOAuthClient>()
  let events: SecurityEvent[] = []
  let lastSweepAt: number | undefined
  let closed = false

  function run<T>(operation: string, body: () => T): Promise<T> {
    if (closed) {
      return Promise.reject(new StoreUnavailableError(`memory: ${operation}: store is closed`))
    }
    // The executor turns a throw into a rejection, as an async function would.
    return new Promise((resolve) => resolve(body()))
  }

  function forgetSession(session: SessionRecord): void {
    sessions.delete(session.id)
    const ids = sessionIdsByUser.get(session.userId)
    if (ids === undefined) return
    ids.delete(session.id)
    if (ids.size === 0) sessionIdsByUser.delete(session.userId)
  }

  function sweepIfDue(now: number): void {
    // A clock that went backwards (another fake clock) sweeps at once: an earlier `now` can only
    // remove less, never something still live for a later one.
    if (lastSweepAt !== undefined && now >= lastSweepAt && now - lastSweepAt < SWEEP_INTERVAL_MS) {
      return
    }
    lastSweepAt = now
    for (const session of sessions.values()) {
      if (now >= session.purgeAt) forgetSession(session)
    }
    for (const [sessionId, until] of deniedUntil) {
      if (now >= until) deniedUntil.delete(sessionId)
    }
    for (const [key, state] of counters) {
      if (now >= state.resetAt) counters.delete(key)
    }
  }

  function liveSession(ref: SessionRef, now: number): SessionRecord | undefined {
    const session = sessions.get(ref.sessionId)
    if (session === undefined || session.userId !== ref.userId) return undefined
    if (now >= session.purgeAt) {
      forgetSession(session)
      return undefined
    }
    return session
  }

  function deny(sessionId: string, until: number): void {
    const current = deniedUntil.get(sessionId)
    if (current === undefined || until > current) deniedUntil.set(sessionId, until)
  }

  function liveCounter(key: string, now: number): CounterState | undefined {
    const state = counters.get(key)
    if (state === undefined) return undefined
    if (now >= state.resetAt) {
      counters.delete(key)
      return undefined
    }
    return state
  }

  return {
    create(session) {
      return run('create', () => {
        sweepIfDue(session.createdAt)
        // Replacing would un-revoke a session; SQL stores refuse the duplicate key the same way.
        if (sessions.has(session.id)) {
          throw new StoreUnavailableError(`memory: create: session ${session.id} already exists`)
        }
        sessions.set(session.id, { ...session })
        let ids = sessionIdsByUser.get(session.userId)
        if (ids === undefined) {
          ids = new Set()
          sessionIdsByUser.set(session.userId, ids)
        }
        ids.add(session.id)
      })
    },

    get(ref, now) {
      return run('get', () => {
        sweepIfDue(now)
        const session = liveSession(ref, now)
        return session === undefined ? null : { ...session }
      })
    },

    rotate(ref, expectedJti, next) {
      return run('rotate', () => {
        sweepIfDue(next.rotatedAt)
        const session = liveSession(ref, next.rotatedAt)
        if (session === undefined || session.revokedAt !== null) return null
        if (session.currentJti !== expectedJti) return null
        if (next.expiresAt * 1000 > session.expiresAt || next.purgeAt > session.expiresAt) {
          return null
        }
        const rotated: SessionRecord = {
          ...session,
          lastUsedAt: next.rotatedAt,
          ip: next.ip,
          userAgent: next.userAgent,
          currentJti: next.jti,
          currentIssuedAt: next.issuedAt,
          currentExpiresAt: next.expiresAt,
          previousJti: session.currentJti,
          rotatedAt: next.rotatedAt,
          purgeAt: next.purgeAt,
        }
        sessions.set(session.id, rotated)
        return { ...rotated }
      })
    },

    revoke(ref, revocation) {
      return run('revoke', () => {
        sweepIfDue(revocation.revokedAt)
        const session = liveSession(ref, revocation.revokedAt)
        if (session === undefined) return false
        // Deny even when already revoked: a later revocation may need a later deny-list expiry.
        deny(session.id, revocation.denyUntil)
        if (session.revokedAt !== null) return false
        sessions.set(session.id, {
          ...session,
          revokedAt: revocation.revokedAt,
          revokedReason: revocation.reason,
        })
        return true
      })
    },

    revokeAllForUser(userId, revocation) {
      return run('revokeAllForUser', () => {
        const now = revocation.revokedAt
        sweepIfDue(now)
        const revoked: string[] = []
        for (const sessionId of sessionIdsByUser.get(userId) ?? []) {
          const session = liveSession({ userId, sessionId }, now)
          if (session === undefined || session.revokedAt !== null || now >= session.expiresAt) {
            continue
          }
          sessions.set(sessionId, { ...session, revokedAt: now, revokedReason: revocation.reason })
          deny(sessionId, revocation.denyUntil)
          revoked.push(sessionId)
        }
        return revoked
      })
    },

    listForUser(userId, now) {
      return run('listForUser', () => {
        sweepIfDue(now)
        const live: SessionRecord[] = []
        for (const sessionId of sessionIdsByUser.get(userId) ?? []) {
          const session = liveSession({ userId, sessionId }, now)
          if (session !== undefined && session.revokedAt === null && now < session.expiresAt) {
            live.push({ ...session })
          }
        }
        return live.sort((a, b) => b.lastUsedAt - a.lastUsedAt || b.createdAt - a.createdAt)
      })
    },

    isDenied({ sessionId }, now) {
      return run('isDenied', () => {
        sweepIfDue(now)
        const until = deniedUntil.get(sessionId)
        if (until === undefined) return false
        if (now >= until) {
          deniedUntil.delete(sessionId)
          return false
        }
        return true
      })
    },

    hit(key, windowMs, now) {
      return run('hit', () => {
        sweepIfDue(now)
        const state = liveCounter(key, now)
        const next =
          state === undefined
            ? { count: 1, resetAt: now + windowMs }
            : { count: state.count + 1, resetAt: state.resetAt }
        counters.set(key, next)
        return { ...next }
      })
    },

    peek(key, now) {
      return run('peek', () => {
        sweepIfDue(now)
        return { ...(liveCounter(key, now) ?? noCounter) }
      })
    },

    resetCounter(key) {
      return run('resetCounter', () => {
        counters.delete(key)
      })
    },

    createUser(user) {
      return run('createUser', () => {
        if (userIdByEmail.has(user.email) || users.has(user.id)) return false
        users.set(user.id, copyUser(user))
        userIdByEmail.set(user.email, user.id)
        return true
      })
    },

    findUserByEmail(email) {
      return run('findUserByEmail', () => {
        const id = userIdByEmail.get(email)
        const user = id === undefined ? undefined : users.get(id)
        return user === undefined ? null : copyUser(user)
      })
    },

    findUserById(id) {
      return run('findUserById', () => {
        const user = users.get(id)
        return user === undefined ? null : copyUser(user)
      })
    },

    listKeys() {
      return run('listKeys', () =>
        [...keys.values()].map((key) => ({ ...key })).sort((a, b) => a.createdAt - b.createdAt),
      )
    },

    insertKey(key) {
      return run('insertKey', () => {
        // The kid is the key's thumbprint: a second insert of it is the same key, so the first wins.
        if (!keys.has(key.kid)) keys.set(key.kid, { ...key })
      })
    },

    updateKey(kid, change) {
      return run('updateKey', () => {
        const key = keys.get(kid)
        if (key === undefined) return
        keys.set(kid, {
          ...key,
          state: change.state,
          activatedAt: change.activatedAt,
          retiredAt: change.retiredAt,
          removeAfter: change.removeAfter,
        })
      })
    },

    deleteKey(kid) {
      return run('deleteKey', () => {
        keys.delete(kid)
      })
    },

    listClients() {
      return run('listClients', () =>
        [...clients.values()]
          .map((client) => ({ ...client }))
          .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1)),
      )
    },

    insertClient(client) {
      return run('insertClient', () => {
        if (clients.has(client.id)) return false
        clients.set(client.id, { ...client })
        return true
      })
    },

    deleteClient(id) {
      return run('deleteClient', () => clients.delete(id))
    },

    record(event) {
      return run('record', () => {
        events.push({ ...event })
        if (events.length > MAX_AUDIT_EVENTS * 1.1) events = events.slice(-MAX_AUDIT_EVENTS)
      })
    },

    listEvents(options) {
      return run('listEvents', () => {
        const limit = Math.max(0, Math.floor(options.limit))
        const { userId } = options
        const matching: { event: SecurityEvent; order: number }[] = []
        events.forEach((event, order) => {
          if (userId === undefined || event.userId === userId) matching.push({ event, order })
        })
        return matching
          .sort((a, b) => b.event.at - a.event.at || b.order - a.order)
          .slice(0, limit)
          .map(({ event }) => ({ ...event }))
      })
    },

    ping() {
      return run('ping', () => undefined)
    },

    close() {
      closed = true
      sessions.clear()
      sessionIdsByUser.clear()
      deniedUntil.clear()
      counters.clear()
      users.clear()
      userIdByEmail.clear()
      keys.clear()
      clients.clear()
      events = []
      return Promise.resolve()
    },
  }
}

function copyUser(user: UserRecord): UserRecord {
  return { ...user, roles: [...user.roles] }
}
