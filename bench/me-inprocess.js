// In-process /auth/me work: what the route does per request, without HTTP, over the SQLite store.
import process from 'node:process'
import { pathToFileURL } from 'node:url'
import { parseArgs } from './lib/args.js'
import { openBenchBaton } from './lib/inprocess-baton.js'
import { startNoiseProbe } from './lib/noise.js'
import { measureAsync } from './lib/timing.js'

/**
 * Round-robin over `sessionCount` sessions' access tokens:
 *   me:       baton.authenticate(token) (cached verify + deny-list read) + baton.accounts.me
 *   isDenied: the deny-list read alone (baton.sessions.isDenied)
 *   findUser: the user read alone (the database store's findUserById)
 * Returns { me, isDenied, findUser }, each { opsPerSec, failures, otherLoad }.
 */
export async function runInProcessMeBench({
  alg,
  microSeconds,
  microWarmupSeconds,
  sessionCount = 32,
  log = () => {},
}) {
  const bench = await openBenchBaton({ alg, label: 'me', sessionCount })
  try {
    const { baton, database, user } = bench
    const tokens = bench.sessions.map((issued) => issued.accessToken)
    const sessionIds = bench.sessions.map((issued) => issued.session.id)
    let next = 0
    const slot = () => {
      const i = next
      next = (next + 1) % sessionCount
      return i
    }
    const timing = { seconds: microSeconds, warmupSeconds: microWarmupSeconds }
    const results = {}
    const step = async (name, label, fn) => {
      log(`  ${label} ...`)
      const probe = startNoiseProbe()
      const result = await measureAsync(fn, timing)
      results[name] = { ...result, otherLoad: probe.stop() }
      log(
        ` ${Math.round(result.opsPerSec).toLocaleString('en-US')} ops/s${result.failures ? `, ${result.failures} failures` : ''}\n`,
      )
    }
    await step('me', 'authenticate + accounts.me (the /auth/me work)', async () => {
      const claims = await baton.authenticate(tokens[slot()])
      return (await baton.accounts.me(claims)).id === claims.sub
    })
    await step('isDenied', 'sessions.isDenied alone', async () => {
      const ref = { userId: user.id, sessionId: sessionIds[slot()] }
      return (await baton.sessions.isDenied(ref)) === false
    })
    await step('findUser', 'database.findUserById alone', async () => {
      return (await database.findUserById(user.id)) !== null
    })
    return results
  } finally {
    await bench.close()
  }
}

// Standalone: node bench/me-inprocess.js [--alg ...] [--quick]
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const options = parseArgs()
  await runInProcessMeBench({ ...options, log: (text) => process.stdout.write(text) })
}
