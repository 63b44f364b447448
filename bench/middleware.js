// Express, Fastify and Hono: the same route behind Baton's middleware vs unprotected, same run,
// one token repeated (a client reuses its access token for its whole life).
import console from 'node:console'
import { join } from 'node:path'
import process from 'node:process'
import { fileURLToPath, pathToFileURL, URL } from 'node:url'
import { createJWSSigner } from '../packages/server/dist/core/tokens/jws.js'
import { parseArgs } from './lib/args.js'
import { freePort, killAllChildren, startChild } from './lib/children.js'
import { accessTokenClaims, audience, benchKey, issuer } from './lib/fixtures.js'
import { load } from './lib/load.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const frameworks = ['express', 'fastify', 'hono']
const connections = 32

export async function runMiddlewareBench({
  alg = 'ES256',
  httpSeconds,
  httpWarmupSeconds,
  log = () => {},
}) {
  const key = await benchKey(alg)
  const token = createJWSSigner(alg, key.kid, key.privateKey).sign('at+jwt', accessTokenClaims())
  const jwks = JSON.stringify({ keys: [JSON.parse(key.stored.publicJwk)] })
  const results = []
  for (const framework of frameworks) {
    const port = await freePort()
    const app = await startChild({
      name: `${framework} app`,
      args: [join(root, 'bench/middleware-server.js')],
      env: {
        MW_FRAMEWORK: framework,
        MW_PORT: String(port),
        MW_JWKS: jwks,
        MW_ISSUER: issuer,
        MW_AUDIENCE: audience,
      },
      port,
      healthPath: '/healthz',
    })
    try {
      const run = (path, seconds) =>
        load({
          url: `${app.url}${path}`,
          seconds,
          connections,
          serverPid: app.pid,
          headers: { authorization: `Bearer ${token}` },
        })
      await run('/open', httpWarmupSeconds)
      await run('/protected', httpWarmupSeconds)
      // Two rounds in alternating order, so drift on a shared machine falls on both routes.
      const open = []
      const protectedRuns = []
      for (const order of [
        ['open', 'protected'],
        ['protected', 'open'],
      ]) {
        for (const route of order) {
          const result = await run(`/${route}`, httpSeconds)
          if (result.non2xx > 0 || result.errors > 0) {
            throw new Error(
              `${framework} /${route}: ${result.non2xx} non-2xx, ${result.errors} errors`,
            )
          }
          ;(route === 'open' ? open : protectedRuns).push(result)
        }
      }
      const mean = (runs, field) => runs.reduce((sum, r) => sum + r[field], 0) / runs.length
      const row = {
        framework,
        openRps: mean(open, 'rps'),
        protectedRps: mean(protectedRuns, 'rps'),
        openP99: Math.max(...open.map((r) => r.p99)),
        protectedP99: Math.max(...protectedRuns.map((r) => r.p99)),
      }
      row.ratio = row.protectedRps / row.openRps
      results.push(row)
      log(
        `  ${framework}: open ${Math.round(row.openRps)} req/s, protected ${Math.round(row.protectedRps)} req/s (${(row.ratio * 100).toFixed(1)} %)\n`,
      )
    } finally {
      await app.stop()
    }
  }
  return { results, markdown: middlewareMarkdown(results, { alg, httpSeconds }) }
}

const fmt = (value) => Math.round(value).toLocaleString('en-US')

export function middlewareMarkdown(results, { alg, httpSeconds }) {
  return [
    `### Middleware (${alg}, one token repeated, ${connections} connections, ${httpSeconds} s per run, 2 rounds in alternating order)`,
    '',
    '| framework | unprotected req/s | protected req/s | protected / unprotected | p99 unprotected | p99 protected | target ≥ 70 % |',
    '| --- | ---: | ---: | ---: | ---: | ---: | --- |',
    ...results.map(
      (r) =>
        `| ${r.framework} | ${fmt(r.openRps)} | ${fmt(r.protectedRps)} | ${(r.ratio * 100).toFixed(1)} % | ${r.openP99} ms | ${r.protectedP99} ms | ${r.ratio >= 0.7 ? 'met' : 'missed'} |`,
    ),
    '',
  ].join('\n')
}

// Standalone: node bench/middleware.js [--alg ...] [--duration s] [--quick]
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.on('exit', killAllChildren)
  const options = parseArgs()
  const result = await runMiddlewareBench({ ...options, log: (text) => process.stdout.write(text) })
  console.log(`\n${result.markdown}`)
}
