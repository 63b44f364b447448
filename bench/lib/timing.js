// A small fixed-duration timing loop: warm up, then count operations for a fixed time.
import { performance } from 'node:perf_hooks'

/**
 * Runs `fn` (sync) for `warmupSeconds`, then for `seconds`, and returns { ops, seconds, opsPerSec }.
 * The clock is read every `batch` calls so the timer costs nothing measurable.
 */
export function measureSync(fn, { seconds, warmupSeconds, batch = 8 }) {
  loopSync(fn, warmupSeconds, batch)
  return loopSync(fn, seconds, batch)
}

function loopSync(fn, seconds, batch) {
  const budget = seconds * 1000
  let ops = 0
  const start = performance.now()
  let elapsed = 0
  do {
    for (let i = 0; i < batch; i++) fn()
    ops += batch
    elapsed = performance.now() - start
  } while (elapsed < budget)
  return { ops, seconds: elapsed / 1000, opsPerSec: ops / (elapsed / 1000) }
}

/**
 * The same for an async `fn`, awaited one call at a time (no overlap: ops/s is the inverse of the
 * mean latency), or by `inFlight` loops at once (ops/s is then the throughput; `fn` gets the
 * loop's index). `fn` may return false to count a failure instead of a success; a throw counts as
 * a failure too, and the first error is kept for the report.
 */
export async function measureAsync(fn, { seconds, warmupSeconds, batch = 1, inFlight = 1 }) {
  await loopAsync(fn, warmupSeconds, batch, inFlight)
  return loopAsync(fn, seconds, batch, inFlight)
}

async function loopAsync(fn, seconds, batch, inFlight) {
  const budget = seconds * 1000
  let ops = 0
  let failures = 0
  let firstError
  const start = performance.now()
  let elapsed = 0
  const loop = async (index) => {
    do {
      for (let i = 0; i < batch; i++) {
        try {
          if ((await fn(index)) === false) failures++
        } catch (error) {
          failures++
          firstError ??= error
        }
      }
      ops += batch
      elapsed = performance.now() - start
    } while (elapsed < budget)
  }
  await Promise.all(Array.from({ length: inFlight }, (_, index) => loop(index)))
  return {
    ops,
    failures,
    firstError,
    seconds: elapsed / 1000,
    opsPerSec: (ops - failures) / (elapsed / 1000),
  }
}
