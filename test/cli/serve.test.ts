import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { plainDefault, settings } from '../../packages/server/src/core/config/config.js'

const cli = join(import.meta.dirname, '../../packages/server/dist/cli/main.js')
const children: ChildProcess[] = []
const directories: string[] = []

beforeAll(() => {
  if (!existsSync(cli))
    throw new Error('packages/server/dist/ is missing: run `npm test`, which builds first')
})

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL')
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true })
})

function tempDir(): string {
  const directory = mkdtempSync(join(tmpdir(), 'baton-cli-'))
  directories.push(directory)
  return directory
}

interface Run {
  child: ChildProcess
  output: () => string
  exited: Promise<number | null>
}

function run(args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, [cli, ...args], {
    env: { PATH: process.env.PATH, BATON_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, output: () => output, exited }
}

async function listeningUrl(started: Run): Promise<string> {
  for (let waited = 0; waited < 20_000; waited += 50) {
    const match = /baton listening on (http:\/\/[\d.:]+)/.exec(started.output())
    if (match?.[1]) return match[1]
    if (started.child.exitCode !== null) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`server did not start:\n${started.output()}`)
}

describe('baton serve', () => {
  it('starts on SQLite from flags, serves the contract and stops on SIGTERM', async () => {
    const directory = tempDir()
    const started = run([
      'serve',
      '--port',
      '0',
      '--database-url',
      `sqlite:${join(directory, 'nested', 'baton.db')}`,
    ])
    const url = await listeningUrl(started)
    expect((await fetch(`${url}/healthz`)).status).toBe(200)
    const signup = await fetch(`${url}/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'cli@example.com', password: 'correct horse battery staple' }),
    })
    expect(signup.status).toBe(201)
    const { accessToken } = (await signup.json()) as { accessToken: string }
    const me = await fetch(`${url}/auth/me`, {
      headers: { authorization: `Bearer ${accessToken}` },
    })
    expect(me.status).toBe(200)
    expect(existsSync(join(directory, 'nested', 'baton.db'))).toBe(true)
    started.child.kill('SIGTERM')
    expect(await started.exited).toBe(0)
    // A library's deprecation notice at every start reads like a fault to whoever runs us.
    expect(started.output()).not.toMatch(/Deprecation|Warning:/)
  })

  it('honours BATON_* variables, and flags override them', async () => {
    const directory = tempDir()
    const started = run(['serve', '--port', '0', '--access-token-ttl', '2m'], {
      BATON_DATABASE_URL: `sqlite:${join(directory, 'baton.db')}`,
      BATON_ACCESS_TOKEN_TTL: '10m',
      BATON_SIGNING_ALG: 'EdDSA',
    })
    const url = await listeningUrl(started)
    const signup = await fetch(`${url}/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'env@example.com', password: 'correct horse battery staple' }),
    })
    expect(((await signup.json()) as { expiresIn: number }).expiresIn).toBe(120)
    const jwks = (await (await fetch(`${url}/.well-known/jwks.json`)).json()) as {
      keys: { alg: string }[]
    }
    expect(jwks.keys.map((key) => key.alg)).toEqual(['EdDSA'])
  })

  it.each([
    [{ BATON_ACCESS_TOKEN_TTL: 'soon' }, /BATON_ACCESS_TOKEN_TTL/],
    [{ BATON_SIGNING_ALG: 'HS256' }, /BATON_SIGNING_ALG/],
    [{ BATON_DATABASE_URL: 'mysql://localhost/baton' }, /BATON_DATABASE_URL/],
  ])('stops with a message naming the variable for %o', async (env, message) => {
    const started = run(['serve', '--port', '0'], env)
    expect(await started.exited).toBe(1)
    expect(started.output()).toMatch(message)
    expect(started.output()).toMatch(/configuration error/)
  })

  it('stops on a misspelt BATON_ variable, naming the setting it was probably meant to be', async () => {
    const directory = tempDir()
    const database = join(directory, 'baton.db')
    const started = run(['serve', '--port', '0', '--database-url', `sqlite:${database}`], {
      BATON_ACESS_TOKEN_TTL: '1m',
    })
    expect(await started.exited).toBe(1)
    expect(started.output()).toBe(
      'baton: configuration error: BATON_ACESS_TOKEN_TTL: not a Baton setting; did you mean BATON_ACCESS_TOKEN_TTL?\n',
    )
    expect(existsSync(database)).toBe(false)
  })

  it('stops on a BATON_ variable near no setting, saying where the settings are listed', async () => {
    const started = run(['serve', '--port', '0', '--database-url', 'memory:'], {
      BATON_SECRET_KEY: 'x',
    })
    expect(await started.exited).toBe(1)
    expect(started.output()).toContain(
      'BATON_SECRET_KEY: not a Baton setting; the settings are listed in docs/configuration.md and by `baton serve --help`',
    )
  })

  it('offers a flag for each setting of the table, with its variable and default', async () => {
    const help = run(['serve', '--help'])
    expect(await help.exited).toBe(0)
    const text = help.output().replace(/\s+/g, ' ')
    for (const setting of settings) {
      if (setting.flag === null) continue
      expect(text).toContain(`${setting.flag} <value>`)
      expect(text).toContain(`(${setting.variable}, default ${plainDefault(setting)})`)
    }
  })

  it('stops with a message naming an unwritable database path', async () => {
    const directory = tempDir()
    const file = join(directory, 'a-file')
    writeFileSync(file, 'not a directory')
    const path = join(file, 'baton.db')
    const started = run(['serve', '--port', '0', '--database-url', `sqlite:${path}`])
    expect(await started.exited).toBe(1)
    expect(started.output()).toContain(path)
    expect(started.output()).toMatch(/BATON_DATABASE_URL/)
  })
})
