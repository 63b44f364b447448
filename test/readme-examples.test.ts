import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import ts from 'typescript'
import { afterAll, describe, expect, it } from 'vitest'

// The README's "protect your own API" examples compile against the built package, as a user's
// code would import it (`@baton-auth/verify/...` through package.json exports).
const root = join(import.meta.dirname, '..')
const readme = readFileSync(join(root, 'README.md'), 'utf8')
const section = readme.slice(
  readme.indexOf('## Protect your own API'),
  readme.indexOf('\n## ', readme.indexOf('## Protect your own API') + 3),
)
const examples = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] ?? '')
const directory = mkdtempSync(join(root, '.readme-examples-'))

afterAll(() => rmSync(directory, { recursive: true, force: true }))

describe('README examples', () => {
  it('has one per framework', () => {
    expect(examples).toHaveLength(3)
    for (const framework of ['express', 'fastify', 'hono']) {
      expect(examples.some((code) => code.includes(`'@baton-auth/verify/${framework}'`))).toBe(true)
    }
  })

  it('type-check against the built package', () => {
    const files = examples.map((code, index) => {
      const file = join(directory, `example${index}.ts`)
      writeFileSync(file, code)
      return file
    })
    const program = ts.createProgram(files, {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      strict: true,
      noUnusedLocals: true,
      noUnusedParameters: true,
      skipLibCheck: true,
      noEmit: true,
      types: ['node'],
    })
    const problems = ts
      .getPreEmitDiagnostics(program)
      .map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'))
    expect(problems).toEqual([])
  }, 60_000)
})
