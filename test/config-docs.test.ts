import { execFile } from 'node:child_process'
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import * as source from '../packages/server/src/core/config/config.js'

// The generated settings docs (docs/configuration.md, docs/api.md, .env.example) are checked
// by the script that writes them, run the way `npm run docs:config` runs it.

const root = join(import.meta.dirname, '..')
const script = join(root, 'scripts', 'config-docs.mjs')
const built = join(root, 'packages/server/dist/core/config/config.js')
const generated = ['docs/configuration.md', 'docs/api.md', '.env.example']
const directories: string[] = []

beforeAll(() => {
  if (!existsSync(built))
    throw new Error('packages/server/dist/ is missing: run `npm test`, which builds first')
})

afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true })
})

async function runScript(args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [script, ...args])
    return { code: 0, output: stdout + stderr }
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string }
    return { code: failed.code, output: failed.stdout + failed.stderr }
  }
}

/** A copy of the generated files, to spoil without touching the repository. */
function copyOfGenerated(): string {
  const directory = mkdtempSync(join(tmpdir(), 'baton-config-docs-'))
  directories.push(directory)
  mkdirSync(join(directory, 'docs'))
  for (const name of generated) cpSync(join(root, name), join(directory, name))
  return directory
}

describe('generated configuration docs', () => {
  it('the build has the settings table of the sources (so the check below is not stale)', async () => {
    const build = (await import(built)) as typeof source
    const describe = (table: typeof source) =>
      table.settings.map((setting) => ({
        ...setting,
        default: table.describeDefault(setting),
        parse: undefined,
        check: undefined,
      }))
    expect(describe(build)).toEqual(describe(source))
  })

  it('docs/configuration.md, docs/api.md and .env.example are what `npm run docs:config` writes', async () => {
    const { code, output } = await runScript(['--check'])
    expect(output).toBe('')
    expect(code).toBe(0)
  })

  it('names each stale file and the command that regenerates it, which then makes it right', async () => {
    const directory = copyOfGenerated()
    const page = join(directory, 'docs/configuration.md')
    writeFileSync(page, readFileSync(page, 'utf8').replace(/^\| `BATON_PORT`.*\n/m, ''))
    rmSync(join(directory, '.env.example'))

    const check = await runScript(['--check', '--root', directory])
    expect(check.code).toBe(1)
    expect(check.output).toBe(
      [
        'docs/configuration.md is not what the settings table generates: run `npm run docs:config`',
        '.env.example is not what the settings table generates: run `npm run docs:config`',
        '',
      ].join('\n'),
    )
    expect(existsSync(join(directory, '.env.example'))).toBe(false)

    const write = await runScript(['--root', directory])
    expect(write.code).toBe(0)
    for (const name of generated) {
      expect(readFileSync(join(directory, name), 'utf8'), name).toBe(
        readFileSync(join(root, name), 'utf8'),
      )
    }
  })

  it('refuses a page that lost its markers instead of guessing where the table goes', async () => {
    const directory = copyOfGenerated()
    const contract = join(directory, 'docs/api.md')
    writeFileSync(contract, readFileSync(contract, 'utf8').replace('<!-- settings:end -->', ''))
    const { code, output } = await runScript(['--check', '--root', directory])
    expect(code).toBe(1)
    expect(output).toContain('docs/api.md has no settings markers')
  })
})

describe('.env.example', () => {
  const example = readFileSync(join(root, '.env.example'), 'utf8')

  it('lists every setting, commented out, with its default where it has a literal one', () => {
    for (const setting of source.settings) {
      const literal = typeof setting.default === 'string' ? setting.default : ''
      expect(example, setting.variable).toContain(`\n# ${setting.variable}=${literal}\n`)
      expect(example).toContain(`# Default: ${source.plainDefault(setting)}`)
    }
  })

  it('sets nothing when copied to .env as is, and every line uncommented is a valid configuration', () => {
    const assignments = example.split('\n').filter((line) => /^\s*[A-Za-z_]+=/.test(line))
    expect(assignments).toEqual([])
    const uncommented = Object.fromEntries(
      [...example.matchAll(/^# (BATON_[A-Z_]+)=(.*)$/gm)].map((match) => [
        String(match[1]),
        String(match[2]),
      ]),
    )
    expect(Object.keys(uncommented)).toHaveLength(source.settings.length)
    expect(source.loadConfig(uncommented)).toEqual(source.loadConfig({}))
  })
})
