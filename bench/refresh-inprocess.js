// In-process refresh: SessionService.refresh over the SQLite store (or the session store
// --session-store-url names), no HTTP in the way.
import process from 'node:process'
import console from 'node:console'
import { URL, pathToFileURL } from 'node:url'
import { parseArgs } from './lib/args.js'
import { benchContext, openBenchBaton } from './lib/inprocess-baton.js'
import { startNoiseProbe } from './lib/noise.js'
import { measureAsync } from './lib/timing.js'

/**
 * One user, `sessionCount` sessions; each call refreshes the next session round-robin with the
 * refresh token its previous refresh returned. With `inFlight` > 1, that many refreshes run at
 * once, each loop on its own sessions (as HTTP clients do, and as the SQLite store then commits
 * them together). Returns { opsPerSec, ops, failures, firstError, sessions, inFlight, otherLoad };
 * failures include the warm-up's.
 */
export async function runInProcessRefreshBench({
  alg,
  microSeconds,
  microWarmupSeconds,
  sessionCount = 32,
  inFlight = 1,
  sessionStoreUrl,
  log = () => {},
}) {
  if (sessionCount % inFlight !== 0) throw new Error('sessionCount must be a multiple of inFlight')
  const bench = await openBenchBaton({ alg, label: 'refresh', sessionCount, sessionStoreUrl })
  try {
    const { baton } = bench
    const refreshTokens = bench.sessions.map((issued) => issued.refreshToken)
    const nextOfLoop = new Array(inFlight).fill(0)
    const refreshOnce = async (loop = 0) => {
      // Loop i owns sessions i, i + inFlight, ...: no two refreshes of one session overlap.
      const slot = loop + nextOfLoop[loop] * inFlight
      nextOfLoop[loop] = (nextOfLoop[loop] + 1) % (sessionCount / inFlight)
      const issued = await baton.sessions.refresh({
        refreshToken: refreshTokens[slot],
        accessToken: null,
        context: benchContext,
      })
      if (typeof issued.refreshToken !== 'string' || issued.refreshToken === refreshTokens[slot])
        return false
      refreshTokens[slot] = issued.refreshToken
      return true
    }
    const store =
      sessionStoreUrl === undefined ? 'sqlite' : new URL(sessionStoreUrl).protocol.slice(0, -1)
    log(`  baton.sessions.refresh (${store}, round-robin over sessions, ${inFlight} in flight) ...`)
    const timing = { warmupSeconds: 0, inFlight }
    const warm = await measureAsync(refreshOnce, { ...timing, seconds: microWarmupSeconds })
    const probe = startNoiseProbe()
    const cpuBefore = process.cpuUsage()
    const result = await measureAsync(refreshOnce, { ...timing, seconds: microSeconds })
    const cpu = process.cpuUsage(cpuBefore)
    const otherLoad = probe.stop()
    // This process's CPU (every thread) per refresh: unlike ops/s, not lowered by waiting on a store.
    const cpuMicrosPerOp = (cpu.user + cpu.system) / result.ops
    log(
      ` ${Math.round(result.opsPerSec).toLocaleString('en-US')} ops/s, ${cpuMicrosPerOp.toFixed(1)} µs CPU each, ${result.failures + warm.failures} failures\n`,
    )
    return {
      ...result,
      failures: result.failures + warm.failures,
      firstError: warm.firstError ?? result.firstError,
      sessions: sessionCount,
      inFlight,
      cpuMicrosPerOp,
      otherLoad,
    }
  } finally {
    await bench.close()
  }
}

// Standalone: node bench/refresh-inprocess.js [--alg ...] [--quick] [--in-flight N]
// [--session-store-url URL]
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const options = parseArgs()
  const result = await runInProcessRefreshBench({
    ...options,
    inFlight: options.inFlight,
    log: (text) => process.stdout.write(text),
  })
  if (result.firstError) console.log('first error:', result.firstError)
}
