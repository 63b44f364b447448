import pg from 'pg'
import type { UserRecord } from '../../core/ports.js'
import { userChangesChannel } from './schema.js'

/**
 * Users by id, kept in memory and dropped the moment PostgreSQL reports a change to them. Every
 * refresh and every `/auth/me` reads the user; without this each would cost a round trip.
 *
 * Changes arrive through LISTEN on a connection of the cache's own, fed by a trigger on `users`
 * (migration 2), so an operator's UPDATE in psql invalidates as surely as Baton's own writes. The
 * cache answers only while that connection has proved alive within `HEARTBEAT_FRESHNESS_MS`:
 * PostgreSQL sends pending notifications before it answers a query on the listening
 * connection, so a recent heartbeat answer means no committed change is still on its way. A
 * silent network failure therefore bounds staleness to about that long, after which reads go to
 * the database again (and fail with it).
 */
export class UserCache {
  readonly #options: UserCacheOptions
  readonly #users = new Map<string, UserRecord>()
  #client: pg.Client | undefined
  #aliveAt = Number.NEGATIVE_INFINITY
  // Bumped by every invalidation: a read that started before one must not fill the cache.
  #generation = 0
  #heartbeat: NodeJS.Timeout | undefined
  #reconnect: NodeJS.Timeout | undefined
  #heartbeatInFlight = false
  #closed = false

  constructor(options: UserCacheOptions) {
    this.#options = options
  }

  /** Starts listening; the cache stays empty (reads go to the database) until it is. */
  start(): void {
    void this.#connect()
  }

  get generation(): number {
    return this.#generation
  }

  /** A cached user, only while the change feed is known to be live. */
  get(id: string): UserRecord | undefined {
    if (!this.#fresh()) return undefined
    const user = this.#users.get(id)
    return user === undefined ? undefined : { ...user, roles: [...user.roles] }
  }

  /** Remembers a user read from the database when no change arrived since `generation`. */
  remember(user: UserRecord, generation: number): void {
    if (generation !== this.#generation || !this.#fresh()) return
    if (this.#users.size >= this.#options.maxEntries) {
      // Oldest first: a Map iterates in insertion order.
      const oldest = this.#users.keys().next()
      if (oldest.done !== true) this.#users.delete(oldest.value)
    }
    this.#users.set(user.id, { ...user, roles: [...user.roles] })
  }

  /**
   * Forgets one user at once, for a change this instance made: the trigger's notice would say
   * the same, but only a moment later. Reads that started before it do not fill the cache.
   */
  invalidate(id: string): void {
    this.#generation++
    this.#users.delete(id)
  }

  async close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#heartbeat)
    clearTimeout(this.#reconnect)
    this.#invalidateAll()
    const client = this.#client
    this.#client = undefined
    await client?.end().catch(() => undefined)
  }

  #fresh(): boolean {
    return performance.now() - this.#aliveAt < HEARTBEAT_FRESHNESS_MS
  }

  #invalidateAll(): void {
    this.#generation++
    this.#users.clear()
  }

  async #connect(): Promise<void> {
    if (this.#closed) return
    const client = new pg.Client({
      connectionString: this.#options.connectionString,
      connectionTimeoutMillis: HEARTBEAT_TIMEOUT_MS,
      query_timeout: HEARTBEAT_TIMEOUT_MS,
      keepAlive: true,
      application_name: 'baton-user-cache',
    })
    const lost = (): void => {
      if (this.#client !== client) return
      this.#client = undefined
      this.#aliveAt = Number.NEGATIVE_INFINITY
      this.#invalidateAll()
      clearInterval(this.#heartbeat)
      client.end().catch(() => undefined)
      if (!this.#closed) this.#reconnect = setTimeout(() => void this.#connect(), RETRY_MS)
    }
    client.on('error', lost)
    client.on('end', lost)
    client.on('notification', (message) => {
      const payload = message.payload ?? ''
      const slash = payload.lastIndexOf('/')
      if (payload.slice(0, slash) !== this.#options.schema) return
      const id = payload.slice(slash + 1)
      this.#generation++
      if (id === '*') this.#users.clear()
      else this.#users.delete(id)
    })
    this.#client = client
    try {
      await client.connect()
      await client.query(`LISTEN ${userChangesChannel}`)
    } catch {
      lost()
      return
    }
    // Whatever changed while nobody listened is unknown: start empty.
    this.#invalidateAll()
    this.#aliveAt = performance.now()
    this.#heartbeat = setInterval(() => void this.#beat(client), HEARTBEAT_INTERVAL_MS)
    this.#heartbeat.unref()
  }

  async #beat(client: pg.Client): Promise<void> {
    if (this.#heartbeatInFlight || this.#client !== client) return
    this.#heartbeatInFlight = true
    const sentAt = performance.now()
    try {
      await client.query('SELECT 1')
      // Alive as of when the question was asked: notifications committed before then are in.
      if (this.#client === client) this.#aliveAt = sentAt
    } catch {
      client.emit('error', new Error('user cache heartbeat failed'))
    } finally {
      this.#heartbeatInFlight = false
    }
  }
}

export interface UserCacheOptions {
  connectionString: string
  schema: string
  maxEntries: number
}

const HEARTBEAT_INTERVAL_MS = 250
const HEARTBEAT_TIMEOUT_MS = 1000
// Two missed beats and the cache steps aside.
const HEARTBEAT_FRESHNESS_MS = 750
const RETRY_MS = 1000
