// Server child processes: a free port, spawn, wait for health, stop by PID (also on error and Ctrl-C).
/* global fetch, AbortSignal */
import process from 'node:process'
import { clearTimeout, setTimeout } from 'node:timers'
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

export const host = '127.0.0.1'

const running = new Set()

/** A port the OS just handed out on 127.0.0.1 (closed again before the child binds it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, host, () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

/**
 * Spawns `node <args>` with `env` added to ours, then polls `healthPath` until it answers 200.
 * Returns { child, url, stop() }. stderr is kept (the last 8 KiB) for error messages.
 */
export async function startChild({
  name,
  args,
  env,
  port,
  healthPath,
  nodeOptions = [],
  timeoutMs = 30_000,
}) {
  // Our own BATON_* settings only: a variable left in the shell must not change the figures.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('BATON_')),
  )
  const child = spawn(process.execPath, [...nodeOptions, ...args], {
    env: { ...inherited, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  running.add(child)
  let stderr = ''
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-8192)
  })
  let exited = null
  const exit = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal }
      running.delete(child)
      resolve(exited)
    })
  })

  const url = `http://${host}:${port}`
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (exited)
      throw new Error(
        `${name} exited before answering (${exited.code ?? exited.signal}): ${stderr.trim()}`,
      )
    try {
      const response = await fetch(`${url}${healthPath}`, { signal: AbortSignal.timeout(1000) })
      await response.arrayBuffer()
      if (response.ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      stopChildSync(child)
      throw new Error(
        `${name} did not answer ${healthPath} within ${timeoutMs / 1000} s: ${stderr.trim()}`,
      )
    }
    await sleep(100)
  }

  return {
    child,
    pid: child.pid,
    url,
    stderr: () => stderr,
    /** SIGTERM (graceful: lets --cpu-prof write its profile), SIGKILL after 10 s. */
    async stop() {
      if (exited) return exited
      process.kill(child.pid, 'SIGTERM')
      const timer = setTimeout(() => {
        if (!exited) process.kill(child.pid, 'SIGKILL')
      }, 10_000)
      const result = await exit
      clearTimeout(timer)
      return result
    },
  }
}

function stopChildSync(child) {
  if (child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(child.pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  running.delete(child)
}

/** Kills every child this process started, by PID. Synchronous: safe in an 'exit' handler. */
export function killAllChildren() {
  for (const child of [...running]) stopChildSync(child)
}
