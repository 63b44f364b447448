import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import ts from 'typescript'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from './helpers/ports.js'
import { createTestServer, strongPassword, uniqueEmail, type TestServer } from './helpers/server.js'

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

/**
 * The same examples run as written against a real Baton, started as the README tells: only the
 * server's URL (`https://auth.example.com`) and the port (`8080`) are replaced with free local
 * ones. A token asked for with the scope passes `requireScope`; one without gets 403.
 */
describe('README examples against a real server', () => {
  let baton: TestServer
  let issuer: string
  let scoped: string
  let unscoped: string
  const children: ChildProcess[] = []

  beforeAll(async () => {
    const port = await freePort()
    issuer = `http://127.0.0.1:${port}`
    // What the section says to start Baton with, besides the issuer of this test's own port.
    const start = /^((?:BATON_[A-Z_]+=\S+ )+)npm start$/m.exec(section)?.[1]
    expect(start, 'the section shows how to start Baton').toBeDefined()
    const settings = Object.fromEntries(
      (start ?? '')
        .trim()
        .split(' ')
        .map((pair) => pair.split('=') as [string, string]),
    )
    expect(settings).toMatchObject({ BATON_AUDIENCE: 'orders-api' })
    baton = await createTestServer({ env: { ...settings, BATON_ISSUER: issuer } })
    await baton.app.listen({ port, host: '127.0.0.1' })
    const email = uniqueEmail()
    const signup = await post('/auth/signup', { email, password: strongPassword })
    expect(signup.status).toBe(201)
    unscoped = ((await signup.json()) as { accessToken: string }).accessToken
    // The cookie flow: a page of Baton's own origin signs in asking for the scope; the refresh
    // token goes into the cookie, the access token into the body.
    const login = await post(
      '/auth/login',
      { email, password: strongPassword, scope: 'orders:read' },
      { origin: issuer },
    )
    expect(login.status).toBe(200)
    expect(login.headers.get('set-cookie')).toMatch(/HttpOnly/)
    scoped = ((await login.json()) as { accessToken: string }).accessToken
  })
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL')
    await baton?.close()
  })

  function post(path: string, body: object, headers: Record<string, string> = {}) {
    return fetch(`${issuer}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    })
  }

  /** The example as a user's ES module, in the repository so `@baton-auth/verify` resolves. */
  function moduleOf(framework: string, port?: number): string {
    const code = examples.find((example) => example.includes(`/${framework}'`))
    if (code === undefined) throw new Error(`no ${framework} example`)
    expect(code).toContain("'https://auth.example.com'")
    let source = code.replaceAll('https://auth.example.com', issuer)
    if (port !== undefined) {
      expect(source).toMatch(/\b8080\b/)
      source = source.replace(/\b8080\b/, String(port))
    }
    const file = join(directory, `run-${framework}.mjs`)
    const output = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    })
    writeFileSync(file, output.outputText)
    return file
  }

  /** Runs an example that listens on its own, until it answers. */
  async function startExample(framework: string): Promise<string> {
    const port = await freePort()
    const child = spawn(process.execPath, [moduleOf(framework, port)], {
      env: { PATH: process.env['PATH'] },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    children.push(child)
    let output = ''
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const url = `http://127.0.0.1:${port}`
    for (let tries = 0; tries < 200; tries++) {
      if (child.exitCode !== null) throw new Error(`the ${framework} example exited:\n${output}`)
      try {
        await fetch(url)
        return url
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
    throw new Error(`the ${framework} example never listened:\n${output}`)
  }

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

  async function expectGuarded(get: (headers: Record<string, string>) => Promise<Response>) {
    const allowed = await get(bearer(scoped))
    expect(allowed.status).toBe(200)
    const [, payload] = scoped.split('.')
    const sub = (JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as { sub: string })
      .sub
    expect(await allowed.json()).toEqual({ user: sub })

    const withoutScope = await get(bearer(unscoped))
    expect(withoutScope.status).toBe(403)
    expect(await withoutScope.json()).toMatchObject({ error: 'insufficient_scope' })

    const withoutToken = await get({})
    expect(withoutToken.status).toBe(401)
  }

  it.each(['express', 'fastify'])('%s: 200 with the scope, 403 without', async (framework) => {
    const url = await startExample(framework)
    await expectGuarded((headers) => fetch(`${url}/orders`, { headers }))
  })

  it('express: requireRole refuses a user without the role', async () => {
    const url = await startExample('express')
    const response = await fetch(`${url}/orders/1`, { method: 'DELETE', headers: bearer(scoped) })
    expect(response.status).toBe(403)
    expect(await response.json()).toMatchObject({ error: 'forbidden' })
  })

  it('hono: 200 with the scope, 403 without', async () => {
    const { default: app } = (await import(pathToFileURL(moduleOf('hono')).href)) as {
      default: { fetch(request: Request): Promise<Response> }
    }
    await expectGuarded((headers) =>
      app.fetch(new Request('http://orders.example/api/orders', { headers })),
    )
  })
})

/**
 * The README's OAuth walk-through with curl, run by a shell as written (after the /auth
 * walk-through that signs Ada up), on a real server at a free port instead of 3000.
 */
describe('README curl walk-throughs', () => {
  const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1] ?? '')
  const walkThrough = blocks.find((block) => block.includes('/auth/signup'))
  const oauth = blocks.find((block) => block.includes('grant_type=refresh_token'))

  it('signs up, then uses the password and refresh grants of /oauth/token', async () => {
    expect(walkThrough).toBeDefined()
    expect(oauth).toBeDefined()
    const port = await freePort()
    const url = `http://127.0.0.1:${port}`
    const baton = await createTestServer({ env: { BATON_ISSUER: url } })
    try {
      await baton.app.listen({ port, host: '127.0.0.1' })
      const script = `${walkThrough}\n${oauth}`.replaceAll('http://127.0.0.1:3000', url)
      const workDirectory = mkdtempSync(join(directory, 'curl-'))
      const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
        const child = spawn('bash', ['-euo', 'pipefail', '-c', script], {
          cwd: workDirectory,
          env: { PATH: process.env['PATH'] },
          // Not a socket: bash would take itself for a remote shell and read bash.bashrc.
          stdio: ['ignore', 'pipe', 'pipe'],
        })
        let output = ''
        child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
        child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
        child.on('close', (code) => resolve({ code, output }))
      })
      expect(result.code, result.output).toBe(0)
      // The last answer is the refresh grant's: new tokens, not invalid_grant. (curl ends no
      // answer with a newline, so they run together.)
      const lastAnswer = result.output.slice(result.output.lastIndexOf('{"'))
      const last = JSON.parse(lastAnswer) as Record<string, unknown>
      expect(last, result.output).toMatchObject({ token_type: 'Bearer', scope: '' })
      expect(typeof last['refresh_token']).toBe('string')
    } finally {
      await baton.close()
    }
  }, 60_000)
})
