// autocannon as a promise, plus the CPU time the server child spent during the run.
import process from 'node:process'
import autocannon from 'autocannon'
import { startNoiseProbe } from './noise.js'
import { processCpuMs } from './proc.js'

/**
 * Runs autocannon with `options` for `seconds` and returns a summary: mean req/s, p50/p99
 * latency (ms), status counts, errors, and the server's CPU use (% of one core, µs per request).
 */
export async function load({ url, seconds, connections, serverPid, ...options }) {
  const probe = startNoiseProbe(serverPid ? [serverPid] : [])
  const cpuBefore = serverPid ? processCpuMs(serverPid) : null
  const benchCpuBefore = process.cpuUsage()
  const result = await autocannon({ url, connections, duration: seconds, ...options })
  const benchCpu = process.cpuUsage(benchCpuBefore)
  const cpuAfter = serverPid ? processCpuMs(serverPid) : null
  const otherLoad = probe.stop()
  const statusCounts = Object.fromEntries(
    Object.entries(result.statusCodeStats ?? {}).map(([status, { count }]) => [
      status,
      Number(count),
    ]),
  )
  const responses = Object.values(statusCounts).reduce((a, b) => a + b, 0)
  const serverUserMs =
    cpuBefore !== null && cpuAfter !== null ? cpuAfter.user - cpuBefore.user : null
  const serverSystemMs =
    cpuBefore !== null && cpuAfter !== null ? cpuAfter.system - cpuBefore.system : null
  const serverCpuMs = serverUserMs === null ? null : serverUserMs + serverSystemMs
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    responses,
    ok: result['2xx'],
    non2xx: result.non2xx,
    statusCounts,
    errors: result.errors,
    timeouts: result.timeouts,
    duration: result.duration,
    serverCpuPercent: serverCpuMs === null ? null : (serverCpuMs / (result.duration * 1000)) * 100,
    serverCpuUsPerRequest:
      serverCpuMs === null || responses === 0 ? null : (serverCpuMs * 1000) / responses,
    /** Share of the server's CPU time spent in the kernel (syscalls, loopback TCP). */
    serverSystemShare: serverCpuMs ? serverSystemMs / serverCpuMs : null,
    /** Share of the machine (all cores) other processes used meanwhile: noise. */
    otherLoad,
    loadGeneratorCpuPercent:
      ((benchCpu.user + benchCpu.system) / 1000 / (result.duration * 1000)) * 100,
  }
}
