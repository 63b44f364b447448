import { readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { ESLint } from 'eslint'
import { describe, expect, it } from 'vitest'
import { layers, storesEntry } from '../../eslint.layers.js'
import { architecturePath, render } from '../../scripts/layers-table.js'

// The layer rules live in eslint.layers.js; these tests prove they fire (a broken config cannot
// silently let a part import what it must not) and that docs/architecture.md draws them.
const root = join(import.meta.dirname, '..', '..')
const eslint = new ESLint({ cwd: root })

async function refusals(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, filePath) })
  return (result?.messages ?? [])
    .filter((message) => message.ruleId?.endsWith('no-restricted-imports'))
    .map((message) => message.message)
}

/** The specifier `from` would write to import `to` (both repository paths of .ts files). */
function specifier(from: string, to: string): string {
  const path = relative(dirname(from), to).replace(/\.ts$/, '.js')
  return path.startsWith('.') ? path : `./${path}`
}

const packageOf = (path: string): string => path.split('/')[1] ?? ''
const importing = (target: string) => `import { x } from '${target}'\nexport const y = x\n`

// Type-aware linting starts a TypeScript project service: seconds on a busy machine.
describe('layer boundaries (eslint.layers.js)', { timeout: 120_000 }, () => {
  const cases = layers.flatMap((layer) =>
    [...layers, storesEntry]
      .filter(
        (other) =>
          other.part !== layer.part &&
          packageOf(other.reach) === packageOf(layer.sample) &&
          // A part may import its own files, and stores' entry is part of stores.
          !(layer.part === 'stores' && other.part === storesEntry.part),
      )
      .map((other) => ({
        from: layer.part,
        to: other.part,
        file: layer.sample,
        target: specifier(layer.sample, other.reach),
        allowed: layer.mayImport.includes(other.part),
      })),
  )

  it.each(cases)('$from → $to ($target): allowed $allowed', async (entry) => {
    const messages = await refusals(entry.file, importing(entry.target))
    if (entry.allowed) expect(messages).toEqual([])
    else expect(messages.length).toBeGreaterThan(0)
  })

  it.each([
    ['packages/server/src/core/baton.ts', 'fastify'],
    ['packages/server/src/core/baton.ts', 'better-sqlite3'],
    ['packages/server/src/core/baton.ts', 'ioredis'],
    ['packages/server/src/core/baton.ts', 'pg'],
    ['packages/server/src/core/baton.ts', '@baton-auth/verify'],
    ['packages/server/src/core/baton.ts', '../../../verify/src/verifier.js'],
    ['packages/server/src/stores/sqlite/sqlite-store.ts', 'fastify'],
    ['packages/server/src/server/app.ts', 'pg'],
    ['packages/server/src/server/app.ts', '@baton-auth/verify/express'],
    ['packages/server/src/cli/serve.ts', 'fastify'],
    ['packages/verify/src/verifier.ts', 'node:crypto'],
    ['packages/verify/src/verifier.ts', 'jose'],
    ['packages/verify/src/verifier.ts', '@baton-auth/server'],
    ['packages/verify/src/middleware/hono.ts', 'hono'],
    ['packages/verify/src/middleware/express.ts', 'express'],
    ['packages/verify/src/revocation/subscriber.ts', 'ioredis'],
  ])('refuses in %s: %s', async (file, target) => {
    expect(await refusals(file, importing(target))).not.toEqual([])
  })

  it.each([
    ['packages/server/src/core/baton.ts', '@baton-auth/verify/shared'],
    ['packages/server/src/stores/sqlite/sqlite-store.ts', 'better-sqlite3'],
    ['packages/server/src/server/app.ts', 'fastify'],
  ] as const)('allows in %s: %s', async (file, target) => {
    expect(await refusals(file, importing(target))).toEqual([])
  })

  it.each([
    ['packages/verify/src/middleware/express.ts', 'express', 'type'],
    ['packages/verify/src/revocation/channel.ts', 'ioredis', 'type'],
  ])('allows types in %s: %s', async (file, target, kind) => {
    const code =
      kind === 'type'
        ? `import type { X } from '${target}'\nexport type Y = X\n`
        : importing(target)
    expect(await refusals(file, code)).toEqual([])
  })

  it('keeps Buffer and process out of edge-safe code', async () => {
    const [result] = await eslint.lintText('export const x = Buffer.from(process.argv[0])\n', {
      filePath: join(root, 'packages/verify/src/verifier.ts'),
    })
    const rules = (result?.messages ?? []).map((message) => message.ruleId)
    expect(rules.filter((rule) => rule === 'no-restricted-globals')).toHaveLength(2)
  })

  it('every part names a sample and a reach that exist', () => {
    for (const layer of layers) {
      expect(() => readFileSync(join(root, layer.sample)), layer.sample).not.toThrow()
      expect(() => readFileSync(join(root, layer.reach)), layer.reach).not.toThrow()
    }
  })

  it('docs/architecture.md shows what eslint.layers.js says (npm run docs:layers)', async () => {
    const document = readFileSync(architecturePath, 'utf8')
    expect(await render(document)).toBe(document)
  })
})
