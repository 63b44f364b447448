// Summarises a V8 .cpuprofile (from node --cpu-prof): self time by function and by package.
import { readFileSync } from 'node:fs'

function categoryOf(url, functionName) {
  if (url === '')
    return functionName.startsWith('(') ? functionName : `native ${functionName || '(anonymous)'}`
  if (url.startsWith('node:'))
    return url
      .replace(/^node:(internal\/)?/, 'node:')
      .split('/')
      .slice(0, 2)
      .join('/')
  const modules = url.lastIndexOf('/node_modules/')
  if (modules !== -1) {
    const parts = url.slice(modules + '/node_modules/'.length).split('/')
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]
  }
  const dist = url.indexOf('/dist/')
  if (dist !== -1) return `baton ${url.slice(dist + 1)}`
  return url
}

/**
 * Returns { totalMs, busyMs, byCategory: [{ name, ms, percent }], byFunction: [{ name, where, ms, percent }] }.
 * Percentages are of busy time (everything but "(idle)").
 */
export function summarizeProfile(path, top = 20) {
  const profile = JSON.parse(readFileSync(path, 'utf8'))
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]))
  const selfUs = new Map()
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  }
  const byFunction = new Map()
  const byCategory = new Map()
  let totalUs = 0
  let idleUs = 0
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = nodes.get(id).callFrame
    totalUs += us
    if (functionName === '(idle)') {
      idleUs += us
      continue
    }
    const where =
      url === '' ? '' : `${url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${lineNumber + 1}`
    const key = `${functionName}\u0000${where}`
    const entry = byFunction.get(key) ?? { name: functionName || '(anonymous)', where, us: 0 }
    entry.us += us
    byFunction.set(key, entry)
    const category = categoryOf(url, functionName)
    byCategory.set(category, (byCategory.get(category) ?? 0) + us)
  }
  const busyUs = totalUs - idleUs
  const percent = (us) => (busyUs > 0 ? (us / busyUs) * 100 : 0)
  return {
    totalMs: totalUs / 1000,
    busyMs: busyUs / 1000,
    byCategory: [...byCategory]
      .map(([name, us]) => ({ name, ms: us / 1000, percent: percent(us) }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top),
    byFunction: [...byFunction.values()]
      .map((entry) => ({
        name: entry.name,
        where: entry.where,
        ms: entry.us / 1000,
        percent: percent(entry.us),
      }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top),
  }
}

/** Text summary; with `requests` (how many the process answered) also µs per request. */
export function formatProfileSummary(title, summary, requests) {
  const perRequest = (ms) =>
    requests ? `${((ms * 1000) / requests).toFixed(1).padStart(6)} µs/req  ` : ''
  const lines = [
    `${title}: main thread busy ${summary.busyMs.toFixed(0)} ms of ${summary.totalMs.toFixed(0)} ms sampled` +
      (requests
        ? `, ${requests} requests (warm-up + measured), ${((summary.busyMs * 1000) / requests).toFixed(1)} µs/req`
        : ''),
  ]
  lines.push('  self time by package/category:')
  for (const c of summary.byCategory) {
    lines.push(
      `    ${c.percent.toFixed(1).padStart(5)}%  ${c.ms.toFixed(0).padStart(6)} ms  ${perRequest(c.ms)}${c.name}`,
    )
  }
  lines.push('  self time by function:')
  for (const f of summary.byFunction) {
    lines.push(
      `    ${f.percent.toFixed(1).padStart(5)}%  ${f.ms.toFixed(0).padStart(6)} ms  ${perRequest(f.ms)}${f.name} ${f.where}`,
    )
  }
  return lines.join('\n')
}
