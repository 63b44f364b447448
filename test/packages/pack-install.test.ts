import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { freePort } from '../helpers/ports.js'
import { startNodeProcess } from '../helpers/processes.js'
import { describeWith } from '../helpers/services.js'

// What a user gets from the registry: each workspace package packed (`npm pack` runs its
// prepack build), installed from the tarball into an empty project, and used from there.

const root = join(import.meta.dirname, '..', '..')
const run = promisify(execFile)
const npm = (args: string[], cwd: string) =>
  run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, npm_config_update_notifier: 'false' },
  })

interface Packed {
  name: string
  filename: string
  unpackedSize: number
  files: { path: string }[]
}

/** An empty project with `specs` installed; what it took. */
async function installInto(
  name: string,
  specs: string[],
): Promise<{ dir: string; packages: number; seconds: number }> {
  const dir = join(work, name)
  mkdirSync(dir)
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }))
  const started = performance.now()
  await npm(['install', ...specs], dir)
  const seconds = (performance.now() - started) / 1000
  const lock = JSON.parse(
    readFileSync(join(dir, 'node_modules', '.package-lock.json'), 'utf8'),
  ) as { packages: Record<string, unknown> }
  return { dir, packages: Object.keys(lock.packages).length, seconds }
}

const nodeIn = (cwd: string, script: string, env: Record<string, string> = {}) =>
  run(process.execPath, ['--input-type=module', '-e', script], {
    cwd,
    env: { PATH: process.env['PATH'], ...env },
  })

let work: string
/** The project the server test installs `@baton-auth/server` into; the client test reuses it. */
let serverProject: string | undefined
const packed = new Map<string, Packed & { tarball: string }>()

await describeWith(['npm-registry'], 'packed packages installed into an empty project', () => {
  // Each package's prepack runs its build: three tsc runs, slow on a loaded machine.
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'baton-pack-'))
    const { stdout } = await npm(
      [
        'pack',
        '--json',
        '-w',
        'packages/verify',
        '-w',
        'packages/client',
        '-w',
        'packages/server',
        '--pack-destination',
        work,
      ],
      root,
    )
    for (const entry of JSON.parse(stdout) as Packed[]) {
      packed.set(entry.name, { ...entry, tarball: join(work, entry.filename) })
    }
  }, 600_000)

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true })
  })

  const tarball = (name: string): string => {
    const entry = packed.get(name)
    if (entry === undefined) throw new Error(`${name} was not packed`)
    return entry.tarball
  }

  it('ships the build, the types, README and LICENSE, and no sources or tests', () => {
    for (const [name, entry] of packed) {
      const paths = entry.files.map((file) => file.path)
      expect(paths, name).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json']))
      expect(
        paths.some((path) => path.startsWith('dist/') && path.endsWith('.d.ts')),
        name,
      ).toBe(true)
      expect(
        paths.filter((path) => /^(src|test)\/|\.map$|\.ts$/.test(path) && !path.endsWith('.d.ts')),
        name,
      ).toEqual([])
    }
    expect(packed.get('@baton-auth/server')?.files.map((file) => file.path)).toEqual(
      expect.arrayContaining(['assets/common-passwords.txt', 'dist/cli/main.js']),
    )
  })

  it('@baton-auth/verify has no runtime dependency and stays small', () => {
    const manifest = JSON.parse(
      readFileSync(join(root, 'packages', 'verify', 'package.json'), 'utf8'),
    ) as { dependencies?: Record<string, string> }
    expect(manifest.dependencies ?? {}).toEqual({})
    expect(packed.get('@baton-auth/verify')?.unpackedSize).toBeLessThanOrEqual(100 * 1024)
  })

  it('@baton-auth/verify with Express: installs alone and protects a route', async () => {
    const project = await installInto('verify-express', [
      tarball('@baton-auth/verify'),
      'express@5',
    ])
    console.info(
      `@baton-auth/verify + express: ${project.packages} packages, ${project.seconds.toFixed(1)} s`,
    )
    const installed = readdirSync(join(project.dir, 'node_modules'))
    for (const heavy of ['better-sqlite3', 'fastify', 'ioredis', 'pg', '@node-rs']) {
      expect(installed, heavy).not.toContain(heavy)
    }
    const { stdout } = await nodeIn(
      project.dir,
      `
      import { generateKeyPairSync, sign } from 'node:crypto'
      import express from 'express'
      import { batonAuth, requireScope } from '@baton-auth/verify/express'

      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256', use: 'sig' }
      const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url')
      const now = Math.floor(Date.now() / 1000)
      const input = part({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' }) + '.' + part({
        iss: 'https://auth.example.com', aud: 'orders-api', sub: 'u1', sid: 's1', jti: 'j1',
        scope: 'orders:read', roles: [], iat: now, exp: now + 60,
      })
      const signature = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' })
      const token = input + '.' + signature.toString('base64url')

      const app = express()
      const auth = batonAuth({ issuer: 'https://auth.example.com', audience: 'orders-api', jwks: { keys: [jwk] } })
      app.get('/orders', auth, requireScope('orders:read'), (req, res) => res.json({ user: req.auth.sub }))
      app.get('/admin', auth, requireScope('admin'), (req, res) => res.json({}))
      const server = app.listen(0, '127.0.0.1', async () => {
        const base = 'http://127.0.0.1:' + server.address().port
        const bearer = { authorization: 'Bearer ' + token }
        const answers = [
          await fetch(base + '/orders', { headers: bearer }),
          await fetch(base + '/orders'),
          await fetch(base + '/admin', { headers: bearer }),
        ]
        console.log(JSON.stringify({
          statuses: answers.map((answer) => answer.status),
          body: await answers[0].json(),
          challenge: answers[1].headers.get('www-authenticate'),
        }))
        server.close()
      })`,
    )
    expect(JSON.parse(stdout)).toEqual({
      statuses: [200, 401, 403],
      body: { user: 'u1' },
      challenge: 'Bearer',
    })
  }, 300_000)

  it('@baton-auth/server: `baton serve` runs on SQLite and its tokens verify with @baton-auth/verify', async () => {
    const project = await installInto('server', [
      tarball('@baton-auth/server'),
      tarball('@baton-auth/verify'),
    ])
    console.info(
      `@baton-auth/server: ${project.packages} packages, ${project.seconds.toFixed(1)} s`,
    )
    serverProject = project.dir
    const port = await freePort()
    const server = await startNodeProcess({
      name: 'baton serve (installed)',
      args: [join(project.dir, 'node_modules', '.bin', 'baton'), 'serve', '--port', String(port)],
      env: {
        BATON_DATABASE_URL: `sqlite:${join(project.dir, 'data', 'baton.db')}`,
        BATON_LOG_LEVEL: 'info',
      },
      listening: /baton listening on (http:\/\/[\d.:]+)/,
    })
    try {
      const signup = await fetch(`${server.url}/auth/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          email: 'ada@example.com',
          password: 'correct horse battery staple',
        }),
      })
      expect(signup.status).toBe(201)
      const { accessToken } = (await signup.json()) as { accessToken: string }
      // The issuer Baton announces, as a resource server would configure it.
      const metadata = await fetch(`${server.url}/.well-known/oauth-authorization-server`)
      const { issuer, jwks_uri: jwksUri } = (await metadata.json()) as Record<string, string>
      expect(issuer).toBe(`http://127.0.0.1:${port}`)
      const { stdout } = await nodeIn(
        project.dir,
        `
        import { createVerifier } from '@baton-auth/verify'
        const verifier = createVerifier({
          issuer: process.env.ISSUER,
          audience: 'baton',
          jwksUrl: process.env.JWKS_URL,
        })
        const claims = await verifier.verify(process.env.TOKEN)
        const engine = await import('@baton-auth/server')
        console.log(JSON.stringify({ sub: typeof claims.sub, createBaton: typeof engine.createBaton }))`,
        { ISSUER: issuer ?? '', JWKS_URL: jwksUri ?? '', TOKEN: accessToken },
      )
      expect(JSON.parse(stdout)).toEqual({ sub: 'string', createBaton: 'function' })
    } finally {
      await server.stop()
    }
  }, 600_000)

  it('@baton-auth/client has no dependency and stays small', () => {
    const manifest = JSON.parse(
      readFileSync(join(root, 'packages', 'client', 'package.json'), 'utf8'),
    ) as { dependencies?: Record<string, string>; peerDependencies?: Record<string, string> }
    expect(manifest.dependencies ?? {}).toEqual({})
    expect(manifest.peerDependencies ?? {}).toEqual({})
    const entry = packed.get('@baton-auth/client')
    console.info(`@baton-auth/client: unpacked ${entry?.unpackedSize} bytes`)
    // Mostly types and their comments; what an app ships is the bundle, held to 5 KB
    // minified and gzipped by scripts/client-size.mjs at every build.
    expect(entry?.unpackedSize).toBeLessThanOrEqual(56 * 1024)
  })

  it('@baton-auth/client: installs alone and signs in against `baton serve`', async () => {
    if (serverProject === undefined) throw new Error('the @baton-auth/server test did not run')
    const project = await installInto('client', [tarball('@baton-auth/client')])
    // Nothing but the client itself is installed.
    const installed = readdirSync(join(project.dir, 'node_modules')).filter(
      (name) => !name.startsWith('.'),
    )
    expect(installed).toEqual(['@baton-auth'])
    expect(readdirSync(join(project.dir, 'node_modules', '@baton-auth'))).toEqual(['client'])
    const port = await freePort()
    const server = await startNodeProcess({
      name: 'baton serve (installed, for the client)',
      args: [join(serverProject, 'node_modules', '.bin', 'baton'), 'serve', '--port', String(port)],
      env: {
        BATON_DATABASE_URL: `sqlite:${join(project.dir, 'baton.db')}`,
        BATON_LOG_LEVEL: 'info',
      },
      listening: /baton listening on (http:\/\/[\d.:]+)/,
    })
    try {
      const { stdout } = await nodeIn(
        project.dir,
        `
        import { BatonClientError, createClient } from '@baton-auth/client'
        const client = createClient({ baseUrl: process.env.BATON_URL, delivery: 'body' })
        const credentials = { email: 'ada@example.com', password: 'correct horse battery staple' }
        const { user } = await client.signup(credentials)
        const me = await client.me()
        const sessions = await client.sessions()
        const answer = await client.fetch(process.env.BATON_URL + '/auth/me')
        await client.logout()
        const after = await client.getAccessToken().catch((error) => error)
        const taken = await client.signup(credentials).catch((error) => error)
        console.log(JSON.stringify({
          same: me.id === user.id,
          sessions: sessions.length,
          fetched: answer.status,
          after: [after instanceof BatonClientError, after.code],
          taken: [taken.code, taken.status],
        }))`,
        { BATON_URL: server.url },
      )
      expect(JSON.parse(stdout)).toEqual({
        same: true,
        sessions: 1,
        fetched: 200,
        after: [true, 'login_required'],
        taken: ['email_taken', 409],
      })
    } finally {
      await server.stop()
    }
  }, 300_000)

  it('publint and are-the-types-wrong find nothing to fix', async () => {
    for (const name of packed.keys()) {
      const directory = join(root, 'packages', name.slice('@baton-auth/'.length))
      const publint = await run(
        process.execPath,
        [join(root, 'node_modules', 'publint', 'src', 'cli.js'), '--strict', directory],
        { cwd: root },
      )
      expect(publint.stdout, name).toMatch(/All good!/)
      // ESM-only packages for Node >= 20: the node10 and CommonJS-require rows do not apply.
      const attw = await run(
        process.execPath,
        [
          join(root, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js'),
          tarball(name),
          '--profile',
          'esm-only',
          '--format',
          'json',
        ],
        { cwd: root },
      )
      const report = JSON.parse(attw.stdout) as {
        analysis: { problems: { resolutionKind?: string }[] }
      }
      const ignoredByProfile = ['node10', 'node16-cjs']
      const problems = report.analysis.problems.filter(
        (problem) => !ignoredByProfile.includes(problem.resolutionKind ?? ''),
      )
      expect(problems, name).toEqual([])
    }
  }, 300_000)
})
