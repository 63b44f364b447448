import type { LightMyRequestResponse } from 'fastify'
import { loadConfig, type BatonConfig } from '../../packages/server/src/core/config/config.js'
import type {
  DatabaseStore,
  PasswordHasher,
  SessionStore,
} from '../../packages/server/src/core/ports.js'
import { buildServer, type BatonServer } from '../../packages/server/src/server/app.js'
import { openStores } from '../../packages/server/src/stores/from-url.js'
import { ManualClock } from './clock.js'
import { createTestStorage, type StoreProfile, type TestStorage } from './storage.js'

export interface TestServer extends BatonServer {
  config: BatonConfig
  clock: ManualClock
  database: DatabaseStore
  sessions: SessionStore
  close(): Promise<void>
}

export interface TestServerOptions {
  env?: Record<string, string>
  /**
   * Fresh stores of this profile, dropped on close. Defaults to `TEST_STORES`, itself
   * defaulting to a SQLite file, the shipped default.
   */
  store?: StoreProfile
  /** Stores to use instead, left in place on close: e.g. to restart a server on the same data. */
  storage?: TestStorage
  clock?: ManualClock
  hasher?: PasswordHasher
  wrapSessions?: (sessions: SessionStore) => SessionStore
  wrapDatabase?: (database: DatabaseStore) => DatabaseStore
  logger?: Parameters<typeof buildServer>[0]['logger']
}

/** A real Baton server in-process (driven through `app.inject`), on a store of its own. */
export async function createTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const ownStorage = options.storage === undefined ? createTestStorage(options.store) : undefined
  const storage = options.storage ?? ownStorage
  if (storage === undefined) throw new Error('unreachable: no storage')
  const config = loadConfig({
    BATON_DATABASE_URL: storage.databaseUrl,
    BATON_SESSION_STORE_URL: storage.sessionStoreUrl,
    BATON_LOG_LEVEL: 'silent',
    ...options.env,
  })
  let stores: Awaited<ReturnType<typeof openStores>>
  try {
    stores = await openStores({
      databaseUrl: config.databaseUrl,
      sessionStoreUrl: config.sessionStoreUrl,
    })
  } catch (error) {
    await ownStorage?.drop()
    throw error
  }
  const clock = options.clock ?? new ManualClock(Date.now())
  const database = options.wrapDatabase ? options.wrapDatabase(stores.database) : stores.database
  const sessions = options.wrapSessions ? options.wrapSessions(stores.sessions) : stores.sessions
  const server = await buildServer({
    config,
    database,
    sessions,
    clock: clock,
    hasher: options.hasher,
    logger: options.logger,
  })
  // The Date header follows the test's clock as a real server's follows the real one: the
  // client reads the server's time from it.
  server.app.addHook('onSend', async (_request, reply) => {
    reply.header('date', new Date(clock.now()).toUTCString())
  })
  return {
    ...server,
    config,
    clock,
    database,
    sessions,
    async close() {
      await server.app.close()
      await stores.close()
      await ownStorage?.drop()
    },
  }
}

export interface TokenBody {
  accessToken: string
  tokenType: string
  expiresIn: number
  refreshToken?: string
  refreshExpiresIn: number
  sessionId: string
  user: { id: string; email: string; roles: string[] }
}

let counter = 0
export const uniqueEmail = (): string => `user${Date.now()}${counter++}@example.com`
export const strongPassword = 'correct horse battery staple'

/** Signs a new user up in body mode and returns the token response. */
export async function signup(
  server: TestServer,
  email = uniqueEmail(),
  password = strongPassword,
): Promise<TokenBody & { refreshToken: string }> {
  const response = await server.app.inject({
    method: 'POST',
    url: '/auth/signup',
    payload: { email, password },
  })
  if (response.statusCode !== 201)
    throw new Error(`signup failed: ${response.statusCode} ${response.body}`)
  return response.json()
}

export async function refresh(
  server: TestServer,
  refreshToken: string,
  accessToken?: string,
): Promise<LightMyRequestResponse> {
  return server.app.inject({
    method: 'POST',
    url: '/auth/refresh',
    payload: { refreshToken },
    headers: accessToken === undefined ? {} : { authorization: `Bearer ${accessToken}` },
  })
}

export async function me(server: TestServer, accessToken: string): Promise<LightMyRequestResponse> {
  return server.app.inject({
    method: 'GET',
    url: '/auth/me',
    headers: { authorization: `Bearer ${accessToken}` },
  })
}

/** Decodes a JWT's header and payload without verifying (for assertions only). */
export function decodeJWT(token: string): {
  header: Record<string, unknown>
  payload: Record<string, unknown>
} {
  const [header, payload] = token.split('.')
  return {
    header: JSON.parse(Buffer.from(header ?? '', 'base64url').toString()) as Record<
      string,
      unknown
    >,
    payload: JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as Record<
      string,
      unknown
    >,
  }
}
