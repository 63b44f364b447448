// How busy the rest of the machine was during a measurement (other people's tests, builds...):
// machine-wide busy CPU from /proc/stat minus the CPU of this process and of the given children.
import process from 'node:process'
import { cpus } from 'node:os'
import { performance } from 'node:perf_hooks'
import { machineBusyMs, processCpuMs } from './proc.js'

const ownMs = (pids) => {
  let total = 0
  for (const pid of [process.pid, ...pids]) {
    const cpu = processCpuMs(pid)
    if (cpu === null) return null
    total += cpu.user + cpu.system
  }
  return total
}

/**
 * start → stop(): the share of the whole machine (all cores) used by processes other than us and
 * `pids` during the interval, 0..1; null where /proc is missing. Coarse (10 ms ticks).
 */
export function startNoiseProbe(pids = []) {
  const started = performance.now()
  const busy0 = machineBusyMs()
  const own0 = ownMs(pids)
  return {
    stop() {
      const busy1 = machineBusyMs()
      const own1 = ownMs(pids)
      if (busy0 === null || busy1 === null || own0 === null || own1 === null) return null
      const capacity = (performance.now() - started) * cpus().length
      return Math.max(0, (busy1 - busy0 - (own1 - own0)) / capacity)
    },
  }
}
