import type {
  DatabaseStore,
  StoredKey,
  StoredOAuthClient,
  StoredSecurityEvent,
  UserRecord,
} from '../../core/ports.js'
import {
  decodeEventCursor,
  decodeUserCursor,
  encodeEventCursor,
  encodeUserCursor,
  pageLimit,
  pageOf,
  parseEventId,
} from '../cursor.js'
import type { MemoryContext } from './context.js'

export type MemoryDatabasePort = Omit<DatabaseStore, 'ping' | 'close'>

export interface MemoryDatabase {
  port: MemoryDatabasePort
  clear(): void
}

// The audit log is the one collection with no expiry; keep the newest events so a long-running
// development server cannot grow without bound.
const MAX_AUDIT_EVENTS = 10_000

/** Users, signing keys, OAuth clients and audit events, in memory. */
export function createMemoryDatabase({ run }: MemoryContext): MemoryDatabase {
  const users = new Map<string, UserRecord>()
  const userIdByEmail = new Map<string, string>()
  const keys = new Map<string, StoredKey>()
  const clients = new Map<string, StoredOAuthClient>()
  // Oldest first: the order of recording, which is also the order of their ids.
  let events: StoredSecurityEvent[] = []
  let lastEventId = 0

  const port: MemoryDatabasePort = {
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

    listUsers(options) {
      return run('listUsers', () => {
        const limit = pageLimit(options.limit)
        const after = options.cursor === undefined ? undefined : decodeUserCursor(options.cursor)
        const { email } = options
        const matching = [...users.values()]
          .filter(
            (user) =>
              (after === undefined ||
                user.createdAt > after.createdAt ||
                (user.createdAt === after.createdAt && user.id > after.id)) &&
              (email === undefined || user.email.includes(email)),
          )
          .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
          .slice(0, limit + 1)
          .map(copyUser)
        return pageOf(matching, limit, encodeUserCursor)
      })
    },

    updateUser(id, change) {
      return run('updateUser', () => {
        const user = users.get(id)
        if (user === undefined) return false
        const updated = copyUser(user)
        if (change.roles !== undefined) updated.roles = [...change.roles]
        if (change.passwordHash !== undefined) updated.passwordHash = change.passwordHash
        if (change.disabledAt !== undefined) updated.disabledAt = change.disabledAt
        if (change.emailVerifiedAt !== undefined) updated.emailVerifiedAt = change.emailVerifiedAt
        // The two change together, as in the SQL stores.
        if (change.passwordChangedAt !== undefined) {
          updated.passwordChangedAt = change.passwordChangedAt
          updated.passwordChangedIn = change.passwordChangedIn ?? null
        }
        users.set(id, updated)
        return true
      })
    },

    deleteUser(id) {
      return run('deleteUser', () => {
        const user = users.get(id)
        if (user === undefined) return false
        users.delete(id)
        userIdByEmail.delete(user.email)
        return true
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
        lastEventId += 1
        events.push({ ...event, id: String(lastEventId) })
        if (events.length > MAX_AUDIT_EVENTS * 1.1) events = events.slice(-MAX_AUDIT_EVENTS)
      })
    },

    listEvents(query) {
      return run('listEvents', () => {
        const limit = pageLimit(query.limit)
        const { userId, type, since } = query
        const matches = (event: StoredSecurityEvent): boolean =>
          (userId === undefined || event.userId === userId) &&
          (type === undefined || event.type === type) &&
          (since === undefined || event.at >= since)
        if (query.afterId !== undefined) {
          const afterId = parseEventId(query.afterId)
          const rows = events
            .filter((event) => Number(event.id) > afterId && matches(event))
            .slice(0, limit + 1)
            .map((event) => ({ ...event }))
          return pageOf(rows, limit, (last) => last.id)
        }
        const before = query.cursor === undefined ? undefined : decodeEventCursor(query.cursor)
        const rows = events
          .filter(
            (event) =>
              matches(event) &&
              (before === undefined ||
                event.at < before.at ||
                (event.at === before.at && Number(event.id) < before.id)),
          )
          .sort((a, b) => b.at - a.at || Number(b.id) - Number(a.id))
          .slice(0, limit + 1)
          .map((event) => ({ ...event }))
        return pageOf(rows, limit, (last) =>
          encodeEventCursor({ at: last.at, id: Number(last.id) }),
        )
      })
    },

    purgeEvents(before, limit) {
      return run('purgeEvents', () => {
        const most = pageLimit(limit)
        // The oldest first, as the SQL stores delete them: by time, then by recording order.
        const doomed = new Set(
          events
            .filter((event) => event.at < before)
            .sort((a, b) => a.at - b.at || Number(a.id) - Number(b.id))
            .slice(0, most),
        )
        if (doomed.size > 0) events = events.filter((event) => !doomed.has(event))
        return doomed.size
      })
    },
  }

  return {
    port,
    clear() {
      users.clear()
      userIdByEmail.clear()
      keys.clear()
      clients.clear()
      events = []
    },
  }
}

function copyUser(user: UserRecord): UserRecord {
  return { ...user, roles: [...user.roles] }
}
