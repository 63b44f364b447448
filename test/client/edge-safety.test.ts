import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { expect, it } from 'vitest'

/**
 * What ships of @baton-auth/client (`npm test` builds first) imports nothing but its own files:
 * no `node:*`, no package. The ESLint rule and the build's DOM-only types guard the sources.
 */
const dist = join(import.meta.dirname, '..', '..', 'packages', 'client', 'dist')
const importPattern =
  /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g

it('the built client imports only its own files and uses no Node global', () => {
  const files = readdirSync(dist).filter((file) => file.endsWith('.js'))
  expect(files).toContain('index.js')
  const foreign: string[] = []
  for (const file of files) {
    const source = readFileSync(join(dist, file), 'utf8')
    for (const match of source.matchAll(importPattern)) {
      const specifier = match[1] ?? match[2] ?? ''
      if (!specifier.startsWith('./')) foreign.push(`${file} imports ${specifier}`)
    }
    if (/\b(process|Buffer)\.|\brequire\(/.test(source)) foreign.push(`${file} uses a Node global`)
  }
  expect(foreign).toEqual([])
})
