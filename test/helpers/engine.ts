import { createBaton, type Baton } from '../../packages/server/src/core/baton.js'
import { loadConfig, type BatonConfig } from '../../packages/server/src/core/config/config.js'
import type { PasswordHasher, UserRecord } from '../../packages/server/src/core/ports.js'
import {
  createMemoryStore,
  type MemoryStore,
} from '../../packages/server/src/stores/memory/index.js'
import { ManualClock } from './clock.js'
import type { FaultSwitch } from './faulty-store.js'

/**
 * A cheap stand-in for argon2 where hashing is not what is tested: core tests then run in
 * milliseconds. Never used by the server, which always hashes with argon2id.
 */
export const plainHasher: PasswordHasher = {
  hash: async (password) => `plain:${password}`,
  verify: async (hash, password) => hash === `plain:${password}`,
}

export interface TestEngine {
  baton: Baton
  store: MemoryStore
  clock: ManualClock
  config: BatonConfig
  /** What the engine reported, in order: `refresh:<outcome>` and `revocation:<reason>:<count>`. */
  reports: string[]
  /** A user written straight to the store (no password hashing, no sign-up session). */
  addUser(email?: string, roles?: string[]): Promise<UserRecord>
  close(): void
}

/**
 * The core engine over one memory store and a manual clock, no HTTP. `overrides` replace
 * validated settings after loading, e.g. to reach a combination the config refuses; `faults`
 * fails the session store on demand.
 */
export async function createTestEngine(
  env: Record<string, string> = {},
  overrides: Partial<BatonConfig> = {},
  options: { faults?: FaultSwitch } = {},
): Promise<TestEngine> {
  const store = createMemoryStore()
  const clock = new ManualClock()
  const config = {
    ...loadConfig({ BATON_DATABASE_URL: 'memory:', BATON_LOG_LEVEL: 'silent', ...env }),
    ...overrides,
  }
  const reports: string[] = []
  const baton = await createBaton({
    config,
    database: store,
    sessions: options.faults ? options.faults.wrap(store) : store,
    clock,
    hasher: plainHasher,
    observer: {
      refresh: (outcome) => reports.push(`refresh:${outcome}`),
      revocation: (reason, count) => reports.push(`revocation:${reason}:${count}`),
    },
  })
  let users = 0
  return {
    baton,
    store,
    clock,
    config,
    reports,
    async addUser(email = `user${++users}@example.com`, roles = ['user']) {
      const user: UserRecord = {
        id: `user-${email}`,
        email,
        passwordHash: await plainHasher.hash('correct horse battery staple'),
        roles,
        createdAt: clock.now(),
        disabledAt: null,
        emailVerifiedAt: null,
        passwordChangedAt: null,
        passwordChangedIn: null,
      }
      if (!(await store.createUser(user))) throw new Error(`could not create ${email}`)
      return user
    },
    close() {
      baton.close()
    },
  }
}

/** The error code a core call is refused with; fails the test when it is not refused. */
export async function refusalCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (error) {
    return (error as { code: string }).code
  }
  throw new Error('expected a refusal')
}
