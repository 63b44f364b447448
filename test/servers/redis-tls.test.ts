import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { freePort } from '../helpers/ports.js'
import { startServerProcess } from '../helpers/processes.js'
import { strongPassword, uniqueEmail, type TokenBody } from '../helpers/server.js'
import { describeWith } from '../helpers/services.js'

// rediss:// as operators use it: `baton serve` against a Redis that only speaks TLS, with a
// certificate from a private CA the process is told to trust (NODE_EXTRA_CA_CERTS).
await describeWith(['redis-binaries', 'openssl'], 'sessions on Redis over TLS (rediss://)', () => {
  const directory = mkdtempSync(join(tmpdir(), 'baton-redis-tls-'))
  const prefix = `baton-test-${randomBytes(6).toString('hex')}:`
  let redis: ChildProcess | undefined
  let port = 0

  beforeAll(async () => {
    makeCertificates(directory)
    port = await freePort()
    redis = spawn(
      'redis-server',
      [
        '--port',
        '0',
        '--tls-port',
        String(port),
        '--tls-cert-file',
        join(directory, 'server.pem'),
        '--tls-key-file',
        join(directory, 'server.key'),
        '--tls-ca-cert-file',
        join(directory, 'ca.pem'),
        '--tls-auth-clients',
        'no',
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        directory,
      ],
      { stdio: 'ignore' },
    )
    await waitForPort(port)
  })

  afterAll(() => {
    redis?.kill('SIGKILL')
    rmSync(directory, { recursive: true, force: true })
  })

  const env = (): Record<string, string> => ({
    BATON_DATABASE_URL: `sqlite:${join(directory, 'baton.db')}`,
    BATON_SESSION_STORE_URL: `rediss://127.0.0.1:${port}?prefix=${prefix}`,
  })

  it('signs up, refreshes and authenticates with sessions over TLS', async () => {
    const server = await startServerProcess({
      ...env(),
      NODE_EXTRA_CA_CERTS: join(directory, 'ca.pem'),
    })
    try {
      const post = (path: string, body: unknown): Promise<Response> =>
        fetch(`${server.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
      const signup = await post('/auth/signup', { email: uniqueEmail(), password: strongPassword })
      expect(signup.status).toBe(201)
      const tokens = (await signup.json()) as TokenBody & { refreshToken: string }
      const refreshed = await post('/auth/refresh', { refreshToken: tokens.refreshToken })
      expect(refreshed.status).toBe(200)
      const { accessToken } = (await refreshed.json()) as TokenBody
      const me = await fetch(`${server.url}/auth/me`, {
        headers: { authorization: `Bearer ${accessToken}` },
      })
      expect(me.status).toBe(200)
      const keys = execFileSync(
        'redis-cli',
        ['--tls', '--cacert', join(directory, 'ca.pem'), '-p', String(port), '--scan'],
        { encoding: 'utf8', env: { PATH: process.env['PATH'] } },
      )
      expect(keys).toContain(`${prefix}{${tokens.user.id}}:session:${tokens.sessionId}`)
    } finally {
      await server.stop()
    }
  })

  it('refuses to start when the certificate is not trusted, naming the variable', async () => {
    await expect(startServerProcess(env())).rejects.toThrow(/BATON_SESSION_STORE_URL/)
  })
})

function makeCertificates(directory: string): void {
  const openssl = (args: string[]): void => {
    execFileSync('openssl', args, { cwd: directory, stdio: 'ignore' })
  }
  writeFileSync(join(directory, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
  const key = ['-newkey', 'rsa:2048', '-nodes']
  openssl([
    'req',
    '-x509',
    ...key,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '1',
    '-subj',
    '/CN=baton-test-ca',
  ])
  openssl(['req', ...key, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'])
  openssl([
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.pem',
    '-days',
    '1',
    '-extfile',
    'ext.cnf',
  ])
}

async function waitForPort(port: number): Promise<void> {
  for (let waited = 0; waited < 10_000; waited += 50) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = createServer()
      socket.once('error', () => resolve(true))
      socket.listen(port, '127.0.0.1', () => socket.close(() => resolve(false)))
    })
    if (open) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`redis-server did not listen on ${port}`)
}
