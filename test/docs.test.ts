import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { describeDefault, settings } from '../packages/server/src/core/config/config.js'
import { batonErrorCodes } from '../packages/server/src/core/errors.js'
import { httpStatusOf } from '../packages/server/src/server/http-errors.js'

const docs = (name: string): string =>
  readFileSync(join(import.meta.dirname, '..', 'docs', name), 'utf8')

describe('docs stay in step with the code', () => {
  it('docs/errors.md lists every error code with the status the server sends, and nothing else', () => {
    const rows = [...docs('errors.md').matchAll(/^\|\s*`([a-z_]+)`\s*\|\s*(\d{3})\s*\|/gm)].map(
      (match) => [match[1], Number(match[2])],
    )
    const documented = new Map(
      rows.filter(([code]) => code !== 'server_error') as [string, number][],
    )
    expect([...documented.keys()].sort()).toEqual([...batonErrorCodes].sort())
    for (const code of batonErrorCodes) expect(documented.get(code), code).toBe(httpStatusOf[code])
  })

  it('docs/api.md lists every error code with the status the server sends, and nothing else', () => {
    const documented = new Map(
      [...docs('api.md').matchAll(/^\|\s*`([a-z_]+)`\s*\|\s*(\d{3})\s*\|/gm)].map(
        (match) => [match[1] ?? '', Number(match[2])] as const,
      ),
    )
    expect([...documented.keys()].sort()).toEqual([...batonErrorCodes, 'server_error'].sort())
    for (const code of batonErrorCodes) expect(documented.get(code), code).toBe(httpStatusOf[code])
    expect(documented.get('server_error')).toBe(500)
  })

  it('docs/configuration.md lists every variable with its default', () => {
    const page = docs('configuration.md')
    for (const setting of settings) {
      const name = setting.variable
      expect(page, name).toMatch(new RegExp(`^\\|\\s*\`${name}\`\\s*\\|`, 'm'))
      expect(page, name).toContain(describeDefault(setting))
    }
  })

  it('nothing in the repository points at files outside it', () => {
    const offenders = filesOfRepository()
      .filter((file) => file !== thisFile)
      .flatMap((file) =>
        outsideReferencesIn(readFileSync(join(root, file), 'utf8')).map(
          (line) => `${file}: ${line}`,
        ),
      )
    expect(offenders).toEqual([])
  })

  it('recognises the references it forbids', () => {
    for (const line of [
      'see shared/API.md',
      '(`shared/DESIGN.md`)',
      'import x from "../shared/x"',
      'as API.md says',
      "DESIGN's key layout",
      'STYLE.md',
      'a copy of the team contract',
      'read /work/shared/notes',
    ]) {
      expect(outsideReferencesIn(line), line).toHaveLength(1)
    }
    for (const line of [
      "import { x } from '@baton-auth/verify/shared'",
      'src/shared.ts',
      'docs/api.md, "Tokens"',
    ]) {
      expect(outsideReferencesIn(line), line).toEqual([])
    }
  })
})

const root = join(import.meta.dirname, '..')
const thisFile = 'test/docs.test.ts'

/** Tracked and new files, as git sees them (nothing ignored: no node_modules, no dist). */
function filesOfRepository(): string[] {
  const listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    encoding: 'utf8',
  })
  return listed
    .split('\n')
    .filter((file) => file !== '' && existsSync(join(root, file)))
    .filter((file) => !/\.(png|jpg|ico|db|gz|tgz)$/.test(file))
}

// The contract, design and style notes the project started from live outside the repository;
// the repository must stand alone, so it names its own docs instead.
const outsideReference = [
  /(^|[^\w@/.-])shared\//,
  /\.\.\/shared\b/,
  /\b(?:API|DESIGN|STYLE)\.md\b/,
  /\bDESIGN\b/,
  /\bteam(?:'s)? (?:contract|design)\b/i,
  /\/work\//,
]

function outsideReferencesIn(text: string): string[] {
  return text.split('\n').filter((line) => outsideReference.some((pattern) => pattern.test(line)))
}
