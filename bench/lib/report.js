// Turns the results into rows, a console table and the Markdown section (with targets met/missed).
import process from 'node:process'
import { cpus, platform, release } from 'node:os'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

export const targets = {
  signRatio: 0.85,
  verifyRatio: 0.85,
  meVsBare: 0.6,
  refreshRps: 1500,
  redisVsSqlite: 0.85,
  postgresVsSqlite: 0.6,
  redisBytesPerSession: 300,
}

const int = (n) =>
  n === null || n === undefined || Number.isNaN(n) ? '' : Math.round(n).toLocaleString('en-US')
const pct = (r) => (r === null || r === undefined ? '' : `${(r * 100).toFixed(1)}%`)
const ms = (n) => (n === null || n === undefined ? '' : String(n))
const verdict = (met) => (met ? 'met' : 'MISSED')
const usPerOp = (opsPerSec) => `${(1e6 / opsPerSec).toFixed(1)} µs/op`
const load = (share) =>
  share === null || share === undefined ? '' : `${(share * 100).toFixed(0)}%`

/** Every figure of one run as { name, value, unit, p50, p99, ratio, vs, target, result, note }. */
export function buildRows({ alg, crypto, inProcess, meInProcess, http }) {
  const rows = []
  const c = crypto.results
  const cryptoRow = (name, result, base, target, note = '') => {
    const ratio = base ? result.opsPerSec / base.opsPerSec : null
    rows.push({
      name,
      value: result.opsPerSec,
      unit: 'ops/s',
      ratio,
      vs: base === c.rawSign ? 'raw sign' : base === c.rawVerify ? 'raw verify' : '',
      target: target ? `≥ ${pct(target)} of raw` : '',
      result: target ? verdict(ratio >= target) : '',
      otherLoad: result.otherLoad,
      note,
    })
  }
  cryptoRow(
    `node:crypto sign ${alg} (raw ceiling)`,
    c.rawSign,
    null,
    null,
    `${crypto.signingInputBytes}-byte signing input`,
  )
  cryptoRow('ours: createJWSSigner().sign(at+jwt)', c.oursSign, c.rawSign, targets.signRatio)
  cryptoRow('ours: AccessTokens.issue (claims + jti + sign)', c.oursIssue, c.rawSign, null)
  cryptoRow('jose SignJWT (reference)', c.joseSign, c.rawSign, null)
  cryptoRow(
    `node:crypto verify ${alg} (raw ceiling)`,
    c.rawVerify,
    null,
    null,
    `${crypto.tokenBytes}-byte token`,
  )
  cryptoRow(
    'ours: AccessTokens.inspect (full path, no cache)',
    c.oursInspect,
    c.rawVerify,
    targets.verifyRatio,
  )
  cryptoRow('ours: JWS verifier key .verifySignature', c.oursVerifyKey, c.rawVerify, null)
  cryptoRow('jose jwtVerify (reference)', c.joseVerify, c.rawVerify, null)

  rows.push({
    name: `in-process baton.sessions.refresh (sqlite, ${inProcess.sessions} sessions)`,
    value: inProcess.opsPerSec,
    unit: 'ops/s',
    target: '0 failures',
    result: verdict(inProcess.failures === 0),
    otherLoad: inProcess.otherLoad,
    note: `${inProcess.failures} failures; ${usPerOp(inProcess.opsPerSec)}`,
  })
  const meRow = (name, r) =>
    rows.push({
      name,
      value: r.opsPerSec,
      unit: 'ops/s',
      otherLoad: r.otherLoad,
      note: [usPerOp(r.opsPerSec), r.failures ? `${r.failures} failures` : '']
        .filter(Boolean)
        .join('; '),
    })
  meRow('in-process /auth/me work: authenticate + accounts.me (sqlite)', meInProcess.me)
  meRow('in-process sessions.isDenied alone (sqlite)', meInProcess.isDenied)
  meRow('in-process database.findUserById alone (sqlite)', meInProcess.findUser)

  const httpRow = (name, r, base, vs, target, result, extra = '') => {
    const cpu =
      r.serverCpuPercent === null
        ? ''
        : `server CPU ${r.serverCpuPercent.toFixed(0)}% of a core, ${r.serverCpuUsPerRequest.toFixed(0)} µs/req (${(r.serverSystemShare * 100).toFixed(0)}% kernel); load generator ${r.loadGeneratorCpuPercent.toFixed(0)}%`
    const problems = []
    if (r.non2xx) problems.push(`${r.non2xx} non-2xx`)
    if (r.errors) problems.push(`${r.errors} errors`)
    rows.push({
      name,
      value: r.rps,
      unit: 'req/s',
      p50: r.p50,
      p99: r.p99,
      ratio: base ? r.rps / base.rps : null,
      vs,
      target,
      result,
      otherLoad: r.otherLoad,
      note: [`${int(r.responses)} responses in ${r.duration} s`, extra, ...problems, cpu]
        .filter(Boolean)
        .join('; '),
    })
  }
  const conns = `${http.connections} conns`
  httpRow(`HTTP GET /bare, bare Fastify (${conns})`, http.bareGet, null, '', '', '')
  const meRatio = http.me.rps / http.bareGet.rps
  httpRow(
    `HTTP GET /auth/me (${conns}, own token each)`,
    http.me,
    http.bareGet,
    'bare GET',
    `≥ ${pct(targets.meVsBare)} of bare GET`,
    verdict(meRatio >= targets.meVsBare && http.me.non2xx === 0),
  )
  httpRow(`HTTP POST /bare, bare Fastify (${conns})`, http.barePost, null, '', '', '')
  const rot = http.refresh.rotations
  const failedRotations = rot.failed + rot.warmupFailed
  const refreshTarget = alg === 'ES256'
  httpRow(
    `HTTP POST /auth/refresh (${conns}, own session each)`,
    http.refresh,
    http.barePost,
    'bare POST',
    refreshTarget
      ? `≥ ${int(targets.refreshRps)} req/s`
      : `(≥ ${int(targets.refreshRps)} req/s is the ES256 target)`,
    refreshTarget ? verdict(http.refresh.rps >= targets.refreshRps) : '',
    `${rot.rotated.toLocaleString('en-US')} rotations`,
  )
  rows.push({
    name: 'HTTP refresh: failed rotations (warm-up + measured)',
    value: failedRotations,
    unit: 'count',
    target: '0',
    result: verdict(failedRotations === 0),
    note: failedRotations
      ? `statuses ${JSON.stringify(rot.statuses)}; first: ${rot.sample ?? rot.warmupSample}`
      : '',
  })
  return rows
}

/**
 * Rows for the session stores: HTTP refresh on each (ratio to SQLite in the same run), Redis
 * memory per session, and the PostgreSQL driver comparison behind the store's choice of `pg`.
 */
export function buildStoreRows({ stores, memory, drivers }) {
  const rows = []
  const sqlite = stores.results.find((result) => result.label === 'SQLite')
  const storeTargets = { Redis: targets.redisVsSqlite, PostgreSQL: targets.postgresVsSqlite }
  for (const result of stores.results) {
    const name = `HTTP POST /auth/refresh, sessions on ${result.label} (${stores.connections} conns)`
    if (result.skipped) {
      rows.push({ name, unit: 'req/s', note: `skipped: ${result.skipped}` })
      continue
    }
    const target = storeTargets[result.label]
    const ratio = result === sqlite || !sqlite?.rps ? null : result.rps / sqlite.rps
    rows.push({
      name,
      value: result.rps,
      unit: 'req/s',
      p50: result.p50,
      p99: result.p99,
      ratio,
      vs: ratio === null ? '' : 'SQLite',
      target: target ? `≥ ${pct(target)} of SQLite` : '',
      result:
        target && ratio !== null ? verdict(ratio >= target && result.failedRotations === 0) : '',
      otherLoad: Math.max(...result.rounds.map((round) => round.otherLoad ?? 0)),
      note: [
        `mean of ${result.rounds.length} rounds: ${result.rounds.map((round) => int(round.rps)).join(' / ')} req/s; p50/p99 the worst round's`,
        `${result.failedRotations} failed rotations`,
        result.label === 'Redis' ? 'database on PostgreSQL' : '',
      ]
        .filter(Boolean)
        .join('; '),
    })
  }
  if (memory.skipped) {
    rows.push({
      name: 'Redis memory per session',
      unit: 'bytes',
      note: `skipped: ${memory.skipped}`,
    })
  } else {
    for (const entry of memory.results) {
      rows.push({
        name: `Redis memory per session: ${entry.sessionsPerUser} session${entry.sessionsPerUser > 1 ? 's' : ''} per user, rotated once`,
        value: entry.bytesPerSession,
        unit: 'bytes',
        target: `≤ ${targets.redisBytesPerSession}`,
        result: verdict(entry.bytesPerSession <= targets.redisBytesPerSession),
        note: `MEMORY USAGE over ${int(entry.sessions)} sessions: record ${int(entry.recordBytesPerSession)} + user index ${int(entry.indexBytesPerSession)}; ${entry.userAgentLength}-char user agent`,
      })
    }
  }
  if (drivers.skipped) {
    rows.push({
      name: 'PostgreSQL rotation statement',
      unit: 'ops/s',
      note: `skipped: ${drivers.skipped}`,
    })
  } else {
    for (const concurrency of new Set(drivers.rows.map((row) => row.concurrency))) {
      const pg = drivers.rows.find((row) => row.concurrency === concurrency && row.driver === 'pg')
      for (const row of drivers.rows.filter((entry) => entry.concurrency === concurrency)) {
        const ratio = row === pg || !pg ? null : row.opsPerSec / pg.opsPerSec
        rows.push({
          name: `PostgreSQL rotation statement, ${row.driver}, ${concurrency} in flight`,
          value: row.opsPerSec,
          unit: 'ops/s',
          p50: row.p50Ms?.toFixed(2),
          p99: row.p99Ms?.toFixed(2),
          ratio,
          vs: ratio === null ? '' : 'pg',
          otherLoad: row.otherLoad,
          note: `${drivers.rounds} rounds × ${drivers.seconds} s: ${row.perRound.map(int).join(' / ')}`,
        })
      }
    }
  }
  return rows
}

export function machineInfo() {
  const list = cpus()
  return {
    cpu: list[0]?.model?.trim() ?? 'unknown CPU',
    cores: list.length,
    node: process.version,
    os: `${platform()} ${release()}`,
    autocannon: require('autocannon/package.json').version,
  }
}

export function commandLine(argv) {
  const args = argv
    .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`))
    .join(' ')
  if (process.env.npm_lifecycle_event === 'bench')
    return `npm run bench${args ? ` -- ${args}` : ''}`
  return `node bench/run.js${args ? ` ${args}` : ''}`
}

export function toMarkdown({
  rows,
  machine,
  date,
  command,
  settings,
  elapsedSeconds,
  profiles = [],
}) {
  const lines = [
    `## Baton benchmark, ${date.toISOString()}`,
    '',
    `- Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.os}`,
    `- Node ${machine.node}, autocannon ${machine.autocannon}`,
    `- Command: \`${command}\``,
    `- Settings: ${settings}`,
    `- Whole run: ${elapsedSeconds.toFixed(0)} s`,
    '',
    '| measurement | value | unit | p50 ms | p99 ms | ratio | target | result | other load | notes |',
    '| --- | ---: | --- | ---: | ---: | --- | --- | --- | ---: | --- |',
  ]
  for (const r of rows) {
    const ratio = r.ratio === null || r.ratio === undefined ? '' : `${pct(r.ratio)} of ${r.vs}`
    const cells = [
      r.name,
      int(r.value),
      r.unit,
      ms(r.p50),
      ms(r.p99),
      ratio,
      r.target ?? '',
      r.result ? `**${r.result}**` : '',
      load(r.otherLoad),
      r.note ?? '',
    ]
    lines.push(`| ${cells.map((cell) => String(cell).replaceAll('|', '\\|')).join(' | ')} |`)
  }
  const scored = rows.filter((r) => r.result)
  const missed = scored.filter((r) => r.result !== 'met')
  lines.push(
    '',
    `Targets: ${scored.length - missed.length} of ${scored.length} met${missed.length ? ` (missed: ${missed.map((r) => r.name).join('; ')})` : ''}.`,
    '',
    '"other load": share of the whole machine (all cores) used by processes other than the bench and its server during that measurement; high values mean the figure is depressed by noise.',
  )
  if (profiles.length) {
    lines.push('', '### Server CPU profiles (--profile)', '', '```text', ...profiles, '```')
  }
  return `${lines.join('\n')}\n`
}

/** A plain-text table for the terminal. */
export function toConsoleTable(rows) {
  const header = [
    'measurement',
    'value',
    'unit',
    'p50',
    'p99',
    'ratio',
    'target',
    'result',
    'other load',
  ]
  const body = rows.map((r) => [
    r.name,
    int(r.value),
    r.unit,
    ms(r.p50),
    ms(r.p99),
    r.ratio === null || r.ratio === undefined ? '' : pct(r.ratio),
    r.target ?? '',
    r.result ?? '',
    load(r.otherLoad),
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)))
  const numeric = new Set([1, 3, 4, 5, 8])
  const line = (row) =>
    row
      .map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n')
}
