import type {
  DatabaseStore,
  SecurityEvent,
  StoredKey,
  StoredOAuthClient,
  UserRecord,
} from '../../core/ports.js'
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
  let events: SecurityEvent[] = []

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
