// HTTP: Baton's server in a child process against a bare Fastify app in another, same settings.
import process from 'node:process'
import console from 'node:console'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL, URL } from 'node:url'
import { benchSessions, login } from './lib/api.js'
import { parseArgs } from './lib/args.js'
import { freePort, killAllChildren, startChild } from './lib/children.js'
import { load } from './lib/load.js'
import { formatProfileSummary, summarizeProfile } from './lib/profile.js'
import { makeTempDir, removeAllTempDirs, removeTempDir } from './lib/temp.js'

const root = fileURLToPath(new URL('..', import.meta.url))
export const connections = 32
const password = 'bench: correct horse battery staple'

/** `baton serve` of this checkout, or of the built CLI at `cli`, on SQLite in `dir`. */
export function startBaton({ alg, port, dir, profileDir, label, cli }) {
  return startChild({
    name: `baton server (${label})`,
    args: [cli ?? join(root, 'packages/server/dist/cli/main.js'), 'serve'],
    nodeOptions: profileDir
      ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${label}.cpuprofile`]
      : [],
    env: {
      BATON_HOST: '127.0.0.1',
      BATON_PORT: String(port),
      BATON_DATABASE_URL: `sqlite:${join(dir, 'baton.db')}`,
      BATON_LOG_LEVEL: 'silent',
      ...(alg ? { BATON_SIGNING_ALG: alg } : {}),
      BATON_LOGIN_MAX_FAILURES: '1000000',
    },
    port,
    healthPath: '/healthz',
  })
}

function startBare({ port, profileDir, label }) {
  return startChild({
    name: `bare Fastify server (${label})`,
    args: [join(root, 'bench/bare-server.js')],
    nodeOptions: profileDir
      ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${label}.cpuprofile`]
      : [],
    env: { BARE_PORT: String(port) },
    port,
    healthPath: '/healthz',
  })
}

// autocannon takes the path from `url` (a top-level `path` option is overridden by it), so every
// run below passes the full URL of its route.

/** GET /auth/me: connection i sends the access token of session i. */
export function meOptions(accessTokens) {
  let next = 0
  return {
    method: 'GET',
    setupClient(client) {
      client.setHeaders({ authorization: `Bearer ${accessTokens[next++ % accessTokens.length]}` })
    },
  }
}

/**
 * POST /auth/refresh in body mode: connection i owns session i and sends, each time, the refresh
 * token its previous response returned. The state lives in a closure per client, not in
 * autocannon's `context`: with a one-request `requests` array autocannon resets `context` to
 * `initialContext` before every request, so a token kept there would be lost.
 */
export function refreshOptions(slots, stats) {
  let next = 0
  return {
    setupClient(client) {
      const slot = slots[next++]
      if (slot === undefined) throw new Error('more connections than refresh sessions')
      client.setRequests([
        {
          method: 'POST',
          path: '/auth/refresh',
          headers: { 'content-type': 'application/json' },
          setupRequest: (request) => ({
            ...request,
            body: JSON.stringify({ refreshToken: slot.token }),
          }),
          onResponse(status, body) {
            if (status === 200) {
              let token
              try {
                token = JSON.parse(body).refreshToken
              } catch {
                token = undefined
              }
              if (typeof token === 'string' && token !== slot.token) {
                slot.token = token
                stats.rotated++
                return
              }
            }
            stats.failed++
            stats.statuses[status] = (stats.statuses[status] ?? 0) + 1
            stats.sample ??= `${status} ${String(body).slice(0, 300)}`
          },
        },
      ])
    },
  }
}

export const newRotationStats = () => ({ rotated: 0, failed: 0, statuses: {}, sample: undefined })

/**
 * Returns { connections, setupSeconds, bareGet, me, barePost, refresh, profiles }: each HTTP entry is the summary of
 * lib/load.js for the measured run (the warm-up run before it is not reported).
 */
export async function runHttpBench({
  alg,
  httpSeconds,
  httpWarmupSeconds,
  profile = false,
  log = () => {},
}) {
  const dir = makeTempDir('http')
  const profileDir = profile ? makeTempDir('profiles') : null
  const servers = []
  /** Requests each server answered (warm-up and measured), to turn profile times into µs/request. */
  const served = {}
  const stop = async (server) => {
    servers.splice(servers.indexOf(server), 1)
    await server.stop()
  }
  const run = async (label, server, path, options) => {
    const url = `${server.url}${path}`
    log(`  ${label}: warm-up ${httpWarmupSeconds} s ...`)
    const warm = await load({
      url,
      seconds: httpWarmupSeconds,
      connections,
      serverPid: server.pid,
      ...options(),
    })
    log(` measuring ${httpSeconds} s ...`)
    const result = await load({
      url,
      seconds: httpSeconds,
      connections,
      serverPid: server.pid,
      ...options(),
    })
    served[server.label] = (served[server.label] ?? 0) + warm.responses + result.responses
    log(
      ` ${Math.round(result.rps).toLocaleString('en-US')} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, non-2xx ${result.non2xx}, errors ${result.errors}\n`,
    )
    return result
  }
  const start = async (starter, label, port) => {
    const server = await starter({ alg, port, dir, profileDir, label })
    server.label = label
    servers.push(server)
    return server
  }

  try {
    const [batonPort, barePort] = [await freePort(), await freePort()]
    // Every phase gets fresh server processes (Baton on the same database), so that with
    // --profile each profile covers one route only.
    log('  starting the servers ...')
    const [bareGetServer, batonMe] = await Promise.all([
      start(startBare, 'bare-get', barePort),
      start(startBaton, 'baton-me', batonPort),
    ])
    log(` baton pid ${batonMe.pid}, bare pid ${bareGetServer.pid}\n`)

    // Sessions: one user per /auth/me connection (signup), then two more logins per user: one
    // set of sessions for the refresh warm-up and a fresh set for the measured refresh run.
    log(`  signing up ${connections} users and logging in ${2 * connections} times ...`)
    const setupStart = Date.now()
    const { emails, signups, logins } = await benchSessions(
      batonMe.url,
      connections,
      password,
      'bench',
    )
    const spare = await login(batonMe.url, emails[0], password)
    const setupSeconds = (Date.now() - setupStart) / 1000
    log(` ${setupSeconds.toFixed(1)} s\n`)
    const accessTokens = signups.map((tokens) => tokens.accessToken)
    const refreshWarmup = logins
      .slice(0, connections)
      .map((tokens) => ({ token: tokens.refreshToken }))
    const refreshMeasured = logins
      .slice(connections)
      .map((tokens) => ({ token: tokens.refreshToken }))

    const bareGetOptions = () => ({ method: 'GET' })
    // Same size as a refresh request: a real (unused) refresh token in the same JSON shape.
    const bareBody = JSON.stringify({ refreshToken: spare.refreshToken })
    const barePostOptions = () => ({
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: bareBody,
    })

    const bareGet = await run('GET /bare (bare Fastify)', bareGetServer, '/bare', bareGetOptions)
    await stop(bareGetServer)
    const me = await run('GET /auth/me', batonMe, '/auth/me', () => meOptions(accessTokens))
    await stop(batonMe)

    const [barePostServer, batonRefresh] = await Promise.all([
      start(startBare, 'bare-post', barePort),
      start(startBaton, 'baton-refresh', batonPort),
    ])
    const barePost = await run(
      'POST /bare (bare Fastify)',
      barePostServer,
      '/bare',
      barePostOptions,
    )
    await stop(barePostServer)
    const warmupStats = newRotationStats()
    const measuredStats = newRotationStats()
    let round = 0
    const refresh = await run('POST /auth/refresh', batonRefresh, '/auth/refresh', () =>
      round++ === 0
        ? refreshOptions(refreshWarmup, warmupStats)
        : refreshOptions(refreshMeasured, measuredStats),
    )
    refresh.rotations = {
      ...measuredStats,
      warmupFailed: warmupStats.failed,
      warmupSample: warmupStats.sample,
    }
    await stop(batonRefresh)

    const profiles = []
    if (profileDir) {
      for (const label of ['bare-get', 'baton-me', 'bare-post', 'baton-refresh']) {
        const file = join(profileDir, `${label}.cpuprofile`)
        if (existsSync(file))
          profiles.push(formatProfileSummary(label, summarizeProfile(file), served[label]))
      }
    }
    return { connections, setupSeconds, bareGet, me, barePost, refresh, profiles }
  } finally {
    await Promise.allSettled(servers.map((server) => server.stop()))
    removeTempDir(dir)
    if (profileDir) removeTempDir(profileDir)
  }
}

// Standalone: node bench/http.js [--alg ...] [--duration s] [--quick] [--profile]
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const cleanup = () => {
    killAllChildren()
    removeAllTempDirs()
  }
  process.on('exit', cleanup)
  process.once('SIGINT', () => process.exit(130))
  process.once('SIGTERM', () => process.exit(143))
  const options = parseArgs()
  const result = await runHttpBench({ ...options, log: (text) => process.stdout.write(text) })
  console.log(JSON.stringify({ ...result, profiles: undefined }, null, 2))
  for (const text of result.profiles) console.log(text)
}
