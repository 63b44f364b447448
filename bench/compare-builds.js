// Two builds of Baton side by side: this checkout and another one (an older commit, say), each
// `baton serve` on SQLite, measured in alternating order on GET /auth/me and POST /auth/refresh
// with the same load as bench/http.js. Prints each run and the median ratio (this / baseline).
//
//   git worktree add /tmp/baseline <commit> && (cd /tmp/baseline && npm ci && npm run build)
//   npm run build && node bench/compare-builds.js --baseline /tmp/baseline [--rounds 3] [--duration 10]
import console from 'node:console'
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import process from 'node:process'
import { fileURLToPath, URL } from 'node:url'
import { connections, meOptions, newRotationStats, refreshOptions, startBaton } from './http.js'
import { benchSessions } from './lib/api.js'
import { freePort, killAllChildren } from './lib/children.js'
import { load } from './lib/load.js'
import { makeTempDir, removeAllTempDirs, removeTempDir } from './lib/temp.js'

const password = 'bench: correct horse battery staple'

function option(name, fallback) {
  const index = process.argv.indexOf(name)
  return index === -1 ? fallback : process.argv[index + 1]
}

/** The built CLI of a checkout: the workspace layout, or the single package before it. */
function cliOf(checkout) {
  for (const path of ['packages/server/dist/cli/main.js', 'dist/cli/main.js']) {
    if (existsSync(join(checkout, path))) return join(checkout, path)
  }
  throw new Error(`${checkout} has no built CLI: run npm run build there`)
}

const baselineDir = option('--baseline')
if (baselineDir === undefined) {
  console.error(
    'usage: node bench/compare-builds.js --baseline <checkout> [--rounds n] [--duration s]',
  )
  process.exit(2)
}
const rounds = Number(option('--rounds', '3'))
const seconds = Number(option('--duration', '10'))
const builds = [
  { label: 'this', cli: cliOf(fileURLToPath(new URL('..', import.meta.url))) },
  { label: 'baseline', cli: cliOf(resolve(baselineDir)) },
]

async function measure(build) {
  const dir = makeTempDir('compare')
  const server = await startBaton({
    port: await freePort(),
    dir,
    label: build.label,
    cli: build.cli,
  })
  try {
    const { signups, logins } = await benchSessions(server.url, connections, password, 'cmp')
    const run = (path, options, runSeconds) =>
      load({
        url: `${server.url}${path}`,
        seconds: runSeconds,
        connections,
        serverPid: server.pid,
        ...options,
      })
    const tokens = signups.map((tokens) => tokens.accessToken)
    await run('/auth/me', meOptions(tokens), 2)
    const me = await run('/auth/me', meOptions(tokens), seconds)
    const slots = (from) =>
      logins.slice(from, from + connections).map((t) => ({ token: t.refreshToken }))
    await run('/auth/refresh', refreshOptions(slots(0), newRotationStats()), 2)
    const stats = newRotationStats()
    const refresh = await run('/auth/refresh', refreshOptions(slots(connections), stats), seconds)
    if (stats.failed > 0)
      throw new Error(`${build.label}: ${stats.failed} refreshes failed: ${stats.sample}`)
    return { me: me.rps, refresh: refresh.rps }
  } finally {
    await server.stop()
    removeTempDir(dir)
  }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

process.on('exit', () => {
  killAllChildren()
  removeAllTempDirs()
})
const results = { this: [], baseline: [] }
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? builds : [...builds].reverse()
  for (const build of order) {
    const result = await measure(build)
    results[build.label].push(result)
    console.log(
      `round ${round + 1} ${build.label.padEnd(8)} /auth/me ${Math.round(result.me)} req/s, /auth/refresh ${Math.round(result.refresh)} req/s`,
    )
  }
}
for (const route of ['me', 'refresh']) {
  const ratios = results.this.map((result, i) => result[route] / results.baseline[i][route])
  console.log(
    `${route === 'me' ? 'GET /auth/me' : 'POST /auth/refresh'}: this ${Math.round(median(results.this.map((r) => r[route])))} req/s, baseline ${Math.round(median(results.baseline.map((r) => r[route])))} req/s, ratio per round ${ratios.map((r) => r.toFixed(2)).join(' ')} (median ${median(ratios).toFixed(2)})`,
  )
}
