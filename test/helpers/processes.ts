import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'

const cli = join(import.meta.dirname, '../../packages/server/dist/cli/main.js')

/** A `baton serve` child process on a free port of 127.0.0.1. */
export interface ServerProcess {
  url: string
  child: ChildProcess
  output(): string
  /** SIGTERM, then SIGKILL if it has not exited within 5 s. */
  stop(): Promise<void>
}

/** Starts the built CLI (`npm test` builds first) and waits until it listens. */
export async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  if (!existsSync(cli))
    throw new Error('packages/server/dist/ is missing: run `npm test`, which builds first')
  return startNodeProcess({
    name: 'baton serve',
    args: [cli, 'serve', '--port', '0'],
    env: { BATON_LOG_LEVEL: 'info', ...env },
    listening: /baton listening on (http:\/\/[\d.:]+)/,
  })
}

/**
 * `node <args>` with only PATH and `env` in its environment; resolves once its output matches
 * `listening` (whose first group is the URL), and is stopped by PID.
 */
export async function startNodeProcess(options: {
  name: string
  args: string[]
  env: Record<string, string>
  listening: RegExp
}): Promise<ServerProcess> {
  const child = spawn(process.execPath, options.args, {
    env: { PATH: process.env['PATH'], ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }
  for (let waited = 0; waited < 20_000; waited += 25) {
    const match = options.listening.exec(output)
    if (match?.[1]) return { url: match[1], child, output: () => output, stop }
    if (child.exitCode !== null) break
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  await stop()
  throw new Error(`${options.name} did not start:\n${output}`)
}
