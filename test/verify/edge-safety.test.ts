import { readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

/**
 * `@baton-auth/verify` and its Hono middleware must run on edge runtimes: walk the import graph of
 * the built files (`npm test` builds first) and require that every import is a relative file of
 * the package, never `node:*` and never another package. The ESLint rule guards the sources;
 * this guards what ships.
 */
const dist = join(import.meta.dirname, '..', '..', 'packages', 'verify', 'dist')
const importPattern =
  /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g

function importGraph(entry: string): { files: string[]; foreign: string[] } {
  const files = new Set<string>()
  const foreign: string[] = []
  const visit = (file: string): void => {
    if (files.has(file)) return
    files.add(file)
    const source = readFileSync(file, 'utf8')
    for (const match of source.matchAll(importPattern)) {
      const specifier = match[1] ?? match[2] ?? ''
      if (specifier.startsWith('./') || specifier.startsWith('../')) {
        visit(resolve(dirname(file), specifier))
      } else {
        foreign.push(`${relative(dist, file)} imports ${specifier}`)
      }
    }
  }
  visit(join(dist, entry))
  return { files: [...files].map((file) => relative(dist, file)), foreign }
}

describe('edge-safe entry points', () => {
  it.each(['index.js', 'middleware/hono.js'])('%s imports nothing but its own files', (entry) => {
    const { files, foreign } = importGraph(entry)
    expect(foreign).toEqual([])
    expect(files.every((file) => !file.startsWith('..'))).toBe(true)
  })

  it('the walk does see foreign imports (it would catch one)', () => {
    const { foreign } = importGraph('middleware/express.js')
    expect(foreign.some((line) => line.endsWith('imports ioredis'))).toBe(true)
  })
})
