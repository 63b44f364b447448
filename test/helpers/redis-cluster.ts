import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** A throwaway Redis Cluster of three masters on 127.0.0.1, for one test file. */
export interface RedisCluster {
  /** `redis://127.0.0.1:<port>` of each master. */
  urls: string[]
  /** `redis-cluster://127.0.0.1:<port>,…`: every master as a seed node. */
  url: string
  /** Kills the servers by PID and removes their directory; safe to call twice. */
  stop(): Promise<void>
}

const MASTERS = 3
// Redis Cluster talks between nodes on the client port + 10000.
const BUS_PORT_OFFSET = 10_000
const START_TIMEOUT_MS = 30_000

// Should the test process die without stop(), its servers must not outlive it.
const running = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

/**
 * Starts three `redis-server --cluster-enabled yes` children (not daemonized) in a temporary
 * directory, joins them with `redis-cli --cluster create`, and waits until every node reports
 * `cluster_state:ok`. Needs the redis-server and redis-cli binaries: run it under
 * `describeWith(['redis-binaries'], …)`.
 */
export async function startRedisCluster(): Promise<RedisCluster> {
  const directory = mkdtempSync(join(tmpdir(), 'baton-redis-cluster-'))
  const children: ChildProcess[] = []
  const logs: string[] = []
  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await Promise.all(children.map(killByPid))
      rmSync(directory, { recursive: true, force: true })
    })()
    return stopping
  }

  try {
    const ports = await freeClusterPorts(MASTERS)
    for (const port of ports) {
      const settings = {
        port: String(port),
        bind: '127.0.0.1',
        'cluster-enabled': 'yes',
        'cluster-config-file': join(directory, `nodes-${port}.conf`),
        'cluster-node-timeout': '5000',
        dir: directory,
        save: '',
        appendonly: 'no',
      }
      const args = Object.entries(settings).flatMap(([name, value]) => [`--${name}`, value])
      const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
      children.push(child)
      running.add(child)
      child.once('exit', () => running.delete(child))
      const log = (chunk: Buffer): void => {
        logs.push(`[${port}] ${chunk.toString()}`)
      }
      child.stdout?.on('data', log)
      child.stderr?.on('data', log)
      // A spawn failure (no binary) surfaces as the wait below timing out, with this in the logs.
      child.once('error', (error) => logs.push(`[${port}] ${error.message}\n`))
    }
    await Promise.all(
      ports.map((port) => waitFor(() => answersPing(port), `node ${port} to start`)),
    )
    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...ports.map((port) => `127.0.0.1:${port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { timeout: START_TIMEOUT_MS },
    )
    await Promise.all(
      ports.map((port) => waitFor(() => clusterIsReady(port), `node ${port} to join the cluster`)),
    )
    return {
      urls: ports.map((port) => `redis://127.0.0.1:${port}`),
      url: `redis-cluster://${ports.map((port) => `127.0.0.1:${port}`).join(',')}`,
      stop,
    }
  } catch (error) {
    await stop()
    const reason = error instanceof Error ? error.message : String(error)
    throw new Error(`could not start a Redis Cluster: ${reason}\n${logs.join('')}`)
  }
}

async function killByPid(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  process.kill(child.pid, 'SIGTERM')
  const timer = setTimeout(() => {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL')
  }, 5000)
  await exited
  clearTimeout(timer)
}

async function answersPing(port: number): Promise<boolean> {
  const reply = await redisCli(port, ['ping'])
  return reply.trim() === 'PONG'
}

async function clusterIsReady(port: number): Promise<boolean> {
  const info = await redisCli(port, ['cluster', 'info'])
  return info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${MASTERS}`)
}

async function redisCli(port: number, args: string[]): Promise<string> {
  try {
    const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], {
      timeout: 2000,
    })
    return stdout
  } catch {
    return ''
  }
}

async function waitFor(ready: () => Promise<boolean>, what: string): Promise<void> {
  const started = Date.now()
  while (!(await ready())) {
    if (Date.now() - started > START_TIMEOUT_MS) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** Ports whose cluster bus port (+10000) is free as well; so below the ephemeral range. */
async function freeClusterPorts(count: number): Promise<number[]> {
  const ports: number[] = []
  for (let attempt = 0; ports.length < count && attempt < 200; attempt += 1) {
    const port = 20_000 + Math.floor(Math.random() * 20_000)
    if (ports.includes(port)) continue
    if ((await isFree(port)) && (await isFree(port + BUS_PORT_OFFSET))) ports.push(port)
  }
  if (ports.length < count) throw new Error('found no free ports for the cluster')
  return ports
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}
