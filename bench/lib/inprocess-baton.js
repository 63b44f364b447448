// A Baton engine over a temporary SQLite file (sessions there or in a given store), wired the way
// the server wires it, for in-process benches.
import { join } from 'node:path'
import { createBaton } from '../../packages/server/dist/core/baton.js'
import { loadConfig } from '../../packages/server/dist/core/config/config.js'
import { createArgon2Hasher } from '../../packages/server/dist/passwords/argon2-hasher.js'
import { openStores } from '../../packages/server/dist/stores/from-url.js'
import { makeTempDir, removeTempDir } from './temp.js'

export const benchContext = { ip: '127.0.0.1', userAgent: 'baton-bench/1 (in-process)' }

/**
 * Opens sqlite:<temp dir>/baton.db (and the session store at `sessionStoreUrl`, if given),
 * creates the engine, signs up one user and starts `sessionCount` sessions for it.
 * Returns { baton, database, user, sessions: IssuedTokens[], close() }; `database` is the store
 * itself, for measuring its reads alone.
 */
export async function openBenchBaton({ alg, label, sessionCount, sessionStoreUrl }) {
  const dir = makeTempDir(label)
  let stores
  let baton
  try {
    const databaseUrl = `sqlite:${join(dir, 'baton.db')}`
    const config = loadConfig({
      BATON_DATABASE_URL: databaseUrl,
      BATON_SIGNING_ALG: alg,
      BATON_LOG_LEVEL: 'silent',
      ...(sessionStoreUrl === undefined ? {} : { BATON_SESSION_STORE_URL: sessionStoreUrl }),
    })
    stores = await openStores({
      databaseUrl: config.databaseUrl,
      sessionStoreUrl: config.sessionStoreUrl,
    })
    baton = await createBaton({
      config,
      database: stores.database,
      sessions: stores.sessions,
      hasher: createArgon2Hasher(),
    })
    const { user } = await baton.accounts.signup(
      `bench-${label}@example.com`,
      'correct horse battery staple 42',
      benchContext,
    )
    const sessions = []
    for (let i = 0; i < sessionCount; i++)
      sessions.push(await baton.sessions.start(user, benchContext))
    return {
      baton,
      database: stores.database,
      user,
      sessions,
      async close() {
        baton.close()
        await stores.close()
        removeTempDir(dir)
      },
    }
  } catch (error) {
    baton?.close()
    await stores?.close()
    removeTempDir(dir)
    throw error
  }
}
