// CPU accounting from /proc (Linux); every reader returns null elsewhere.
import { readFileSync } from 'node:fs'

const clockTicks = 100 // USER_HZ on Linux

/** { user, system } CPU time of a process in ms (all its threads). */
export function processCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return {
      user: (Number(fields[11]) * 1000) / clockTicks,
      system: (Number(fields[12]) * 1000) / clockTicks,
    }
  } catch {
    return null
  }
}

/** Busy CPU time of the whole machine (all cores, every process) in ms. */
export function machineBusyMs() {
  try {
    const fields = readFileSync('/proc/stat', 'utf8')
      .split('\n', 1)[0]
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number)
    const [user, nice, system, , , irq, softirq, steal] = fields
    return ((user + nice + system + irq + softirq + steal) * 1000) / clockTicks
  } catch {
    return null
  }
}
