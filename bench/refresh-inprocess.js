// In-process refresh: SessionService.refresh over the SQLite store, no HTTP in the way.
import process from 'node:process'
import console from 'node:console'
import { pathToFileURL } from 'node:url'
import { parseArgs } from './lib/args.js'
import { benchContext, openBenchBaton } from './lib/inprocess-baton.js'
import { startNoiseProbe } from './lib/noise.js'
import { measureAsync } from './lib/timing.js'

/**
 * One user, `sessionCount` sessions; each call refreshes the next session round-robin with the
 * refresh token its previous refresh returned. Returns { opsPerSec, ops, failures, firstError,
 * sessions, otherLoad }; failures include the warm-up's.
 */
export async function runInProcessRefreshBench({
  alg,
  microSeconds,
  microWarmupSeconds,
  sessionCount = 32,
  log = () => {},
}) {
  const bench = await openBenchBaton({ alg, label: 'refresh', sessionCount })
  try {
    const { baton } = bench
    const refreshTokens = bench.sessions.map((issued) => issued.refreshToken)
    let next = 0
    const refreshOnce = async () => {
      const slot = next
      next = (next + 1) % sessionCount
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
    log('  baton.sessions.refresh (sqlite, round-robin over sessions) ...')
    const warm = await measureAsync(refreshOnce, { seconds: microWarmupSeconds, warmupSeconds: 0 })
    const probe = startNoiseProbe()
    const result = await measureAsync(refreshOnce, { seconds: microSeconds, warmupSeconds: 0 })
    const otherLoad = probe.stop()
    log(
      ` ${Math.round(result.opsPerSec).toLocaleString('en-US')} ops/s, ${result.failures + warm.failures} failures\n`,
    )
    return {
      ...result,
      failures: result.failures + warm.failures,
      firstError: warm.firstError ?? result.firstError,
      sessions: sessionCount,
      otherLoad,
    }
  } finally {
    await bench.close()
  }
}

// Standalone: node bench/refresh-inprocess.js [--alg ...] [--quick]
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const options = parseArgs()
  const result = await runInProcessRefreshBench({
    ...options,
    log: (text) => process.stdout.write(text),
  })
  if (result.firstError) console.log('first error:', result.firstError)
}
