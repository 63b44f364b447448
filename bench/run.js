// `npm run bench`: token crypto, in-process refresh and /auth/me work, and HTTP, in one run; prints a table and a
// Markdown section, and writes the Markdown to bench/results/latest.md.
import process from 'node:process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { fileURLToPath, URL } from 'node:url'
import { runCryptoBench } from './crypto.js'
import { runHttpBench } from './http.js'
import { parseArgs } from './lib/args.js'
import { killAllChildren } from './lib/children.js'
import {
  buildRows,
  buildStoreRows,
  commandLine,
  machineInfo,
  toConsoleTable,
  toMarkdown,
} from './lib/report.js'
import { removeAllTempDirs } from './lib/temp.js'
import { runInProcessMeBench } from './me-inprocess.js'
import { runMiddlewareBench } from './middleware.js'
import { runInProcessRefreshBench } from './refresh-inprocess.js'
import { measurePgDrivers } from './pg-drivers.js'
import { LONG_USER_AGENT, measureRedisMemory } from './redis-memory.js'
import { availableServices, postgresUrl, redisUrl, runStoreBench } from './stores.js'
import { runVerifierBench } from './verifier.js'

// Whatever happens (error, Ctrl-C), the server children die and the temp databases go.
process.on('exit', () => {
  killAllChildren()
  removeAllTempDirs()
})
process.once('SIGINT', () => process.exit(130))
process.once('SIGTERM', () => process.exit(143))

const options = parseArgs()
const log = (text) => process.stdout.write(text)
const started = Date.now()
const date = new Date()
const machine = machineInfo()
log(
  `Baton benchmark: ${options.alg}, ${machine.cpu} x ${machine.cores}, Node ${machine.node}${options.quick ? ' (quick)' : ''}\n`,
)

log(
  `\n[1/9] token crypto (${options.microWarmupSeconds} s warm-up + ${options.microSeconds} s each)\n`,
)
const crypto = await runCryptoBench({ ...options, log })

log(
  `\n[2/9] in-process refresh (${options.microWarmupSeconds} s warm-up + ${options.microSeconds} s)\n`,
)
const inProcess = await runInProcessRefreshBench({ ...options, log })
if (inProcess.firstError)
  log(`  first failure: ${inProcess.firstError?.stack ?? inProcess.firstError}\n`)

log(
  `\n[3/9] in-process /auth/me work (${options.microWarmupSeconds} s warm-up + ${options.microSeconds} s each)\n`,
)
const meInProcess = await runInProcessMeBench({ ...options, log })

log(
  `\n[4/9] HTTP (autocannon, ${options.httpWarmupSeconds} s warm-up + ${options.httpSeconds} s each)\n`,
)
const http = await runHttpBench({ ...options, log })

log(
  `\n[5/9] HTTP refresh per session store (${options.httpWarmupSeconds} s warm-up + ${options.httpSeconds} s each, 2 rounds)\n`,
)
const stores = await runStoreBench({ ...options, log })

const services = await availableServices()
log('\n[6/9] Redis memory per session (MEMORY USAGE over 10,000 sessions)\n')
const memory = services.redis ? { skipped: services.redis } : { results: [] }
for (const sessionsPerUser of memory.skipped ? [] : [1, 2]) {
  const result = await measureRedisMemory({ url: redisUrl, sessionsPerUser, rotated: true })
  memory.results.push({ ...result, sessionsPerUser, userAgentLength: LONG_USER_AGENT.length })
  log(`  ${sessionsPerUser} per user: ${Math.round(result.bytesPerSession)} bytes\n`)
}

log('\n[7/9] PostgreSQL rotation statement, pg vs postgres.js\n')
const drivers = services.postgres
  ? { skipped: services.postgres }
  : await measurePgDrivers({
      url: postgresUrl,
      seconds: options.quick ? 1 : 3,
      rounds: options.quick ? 1 : 3,
      log,
    })

log('\n[8/9] verifier: @baton-auth/verify vs raw node:crypto and jose\n')
const verifier = await runVerifierBench({ ...options, log })

log(
  `\n[9/9] middleware: protected vs unprotected routes (${options.httpWarmupSeconds} s warm-up + ${options.httpSeconds} s each, 2 rounds)\n`,
)
const middleware = await runMiddlewareBench({ ...options, log })

const rows = [
  ...buildRows({ alg: options.alg, crypto, inProcess, meInProcess, http }),
  ...buildStoreRows({ stores, memory, drivers }),
]
const settings = [
  `alg ${options.alg}`,
  `micro-benchmarks ${options.microWarmupSeconds} s warm-up + ${options.microSeconds} s`,
  `HTTP ${http.connections} connections, pipelining 1, ${options.httpWarmupSeconds} s warm-up + ${options.httpSeconds} s`,
  'servers in child processes on 127.0.0.1, load generator in the bench process',
  'SQLite store in a temp dir unless a row names another; PostgreSQL and Redis are the local servers (fresh schema and key prefix per run)',
].join('; ')
const markdown = toMarkdown({
  rows,
  machine,
  date,
  command: commandLine(options.argv),
  settings,
  elapsedSeconds: (Date.now() - started) / 1000,
  profiles: http.profiles,
})

const report = `${markdown}\n${verifier.markdown}\n${middleware.markdown}`

// Formatted as the repository's Prettier would, so `npm run format:check` stays clean.
const markdownFile = fileURLToPath(new URL('./results/latest.md', import.meta.url))
const formatted = await formatMarkdown(report, markdownFile)

log(`\n${toConsoleTable(rows)}\n`)
for (const text of http.profiles) log(`\n${text}\n`)
log(`\n${formatted}`)
mkdirSync(dirname(markdownFile), { recursive: true })
writeFileSync(markdownFile, formatted)
log(`\nwritten to bench/results/latest.md\n`)

async function formatMarkdown(text, filepath) {
  try {
    const prettier = await import('prettier')
    const config = (await prettier.resolveConfig(filepath)) ?? {}
    return await prettier.format(text, { ...config, filepath, parser: 'markdown' })
  } catch {
    return text // Prettier is a devDependency: without it the table is merely unaligned.
  }
}
