// Writes the layer diagram and table of docs/architecture.md from eslint.layers.js, the table
// the lint rules are built from: `npm run docs:layers`. test/core/layering.test.ts fails when
// the document differs from what this would write.
import { readFileSync, writeFileSync } from 'node:fs'
import process from 'node:process'
import { URL, fileURLToPath } from 'node:url'
import { format, resolveConfig } from 'prettier'
import { layers, storesEntry } from '../eslint.layers.js'

const start = '<!-- layers:start (generated from eslint.layers.js by `npm run docs:layers`) -->'
const end = '<!-- layers:end -->'
export const architecturePath = fileURLToPath(new URL('../docs/architecture.md', import.meta.url))

const code = (text) => `\`${text}\``
const nodeId = (part) => part.replace(/[^a-z]+/gi, '_')

/** A Mermaid graph with one arrow per `mayImport` entry: every import the rules let through. */
function diagram() {
  const packageOf = (layer) => layer.files[0]?.split('/')[1]
  const server = layers.filter((layer) => packageOf(layer) === 'server')
  const label = (part) => (part === storesEntry.part ? 'stores (from-url.ts only)' : part)
  const target = (part) => (part === storesEntry.part ? 'stores' : part)
  const lines = ['```mermaid', 'flowchart LR']
  for (const name of new Set(layers.map(packageOf))) {
    const group = layers.filter((layer) => packageOf(layer) === name)
    lines.push(`  subgraph ${nodeId(name)}["@baton-auth/${name}"]`)
    for (const layer of group) lines.push(`    ${nodeId(layer.part)}["${layer.part}"]`)
    lines.push('  end')
  }
  for (const layer of layers) {
    for (const part of layer.mayImport) {
      const arrow = part === storesEntry.part ? `-- ${label(part)} -->` : '-->'
      lines.push(`  ${nodeId(layer.part)} ${arrow} ${nodeId(target(part))}`)
    }
  }
  for (const layer of server) {
    for (const part of layer.otherPackages ?? ['verify/shared']) {
      lines.push(`  ${nodeId(layer.part)} -.-> ${nodeId(part)}`)
    }
  }
  lines.push('```')
  return lines.join('\n')
}

function table() {
  const rows = layers.map((layer) => {
    const files = layer.files.map(code).join(', ')
    const except = layer.ignores ? ` except ${layer.ignores.map(code).join(', ')}` : ''
    const may = layer.mayImport.length > 0 ? layer.mayImport.join(', ') : 'none'
    const edge = layer.edgeSafe ? '; no `Buffer` or `process` global' : ''
    const forbidden = layer.forbidden.map((entry) => entry.label).join('; ')
    return `| ${layer.part} | ${files}${except} | ${layer.role} | ${may} | ${forbidden}${edge} |`
  })
  return [
    '| part | files | what it is | may import (parts) | may not import |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n')
}

/** `document` with its generated section rewritten, formatted as `npm run format` would. */
export async function render(document) {
  const from = document.indexOf(start)
  const to = document.indexOf(end)
  if (from === -1 || to === -1) throw new Error('docs/architecture.md has no layers markers')
  const section = [
    start,
    '',
    diagram(),
    '',
    'Solid arrows: imports inside a package. Dotted: imports of another package:',
    '`@baton-auth/verify/shared`, the only part of the verifier the server may import, and',
    "`@baton-auth/client`, which the account pages' script is bundled with. Anything not drawn is",
    'refused by `npm run lint`.',
    '',
    table(),
    '',
    end,
  ].join('\n')
  const next = document.slice(0, from) + section + document.slice(to + end.length)
  const options = (await resolveConfig(architecturePath)) ?? {}
  return format(next, { ...options, parser: 'markdown' })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(architecturePath, await render(readFileSync(architecturePath, 'utf8')))
}
