import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createVerifier, VerifyError } from '../../packages/verify/src/index.js'
import { startServerProcess, type ServerProcess } from '../helpers/processes.js'
import { decodeJWT, strongPassword, uniqueEmail, type TokenBody } from '../helpers/server.js'

// `baton keys rotate` against a running server, twice, while a verifier (as another service
// would run it) verifies every still-valid token it has seen, continuously: not one may fail.
// Short lifetimes stand in for the defaults: access 3 s, refresh 4 s, so a retired key stays
// published 7 s; the new key is published 2 s before it signs, the verifier caches the JWKS 1 s.

const run = promisify(execFile)
const cli = join(import.meta.dirname, '../../packages/server/dist/cli/main.js')
const issuer = 'http://baton.test'
const audience = 'orders-api'
type Tokens = TokenBody & { refreshToken: string }

describe('key rotation under continuous verification', () => {
  const directory = mkdtempSync(join(tmpdir(), 'baton-keys-'))
  const env = {
    BATON_DATABASE_URL: `sqlite:${join(directory, 'baton.db')}`,
    BATON_ISSUER: issuer,
    BATON_AUDIENCE: audience,
    BATON_ACCESS_TOKEN_TTL: '3s',
    BATON_REFRESH_TOKEN_TTL: '4s',
    BATON_KEY_RELOAD_INTERVAL: '1s',
  }
  let server: ServerProcess

  beforeAll(async () => {
    server = await startServerProcess(env)
  })
  afterAll(async () => {
    await server?.stop()
    rmSync(directory, { recursive: true, force: true })
  })

  const keys = async (...args: string[]): Promise<string> =>
    (
      await run(process.execPath, [cli, 'keys', ...args], {
        env: { PATH: process.env['PATH'], ...env },
      })
    ).stdout
  const listedAll = async (): Promise<{ kid: string; state: string; use: string }[]> =>
    (await keys('list', '--json'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { kid: string; state: string; use: string })
  const listed = async (use = 'access'): Promise<{ kid: string; state: string }[]> =>
    (await listedAll()).filter((key) => key.use === use)
  const jwks = async (): Promise<{ kids: string[]; cacheControl: string | null }> => {
    const response = await fetch(`${server.url}/.well-known/jwks.json`)
    const body = (await response.json()) as { keys: { kid: string }[] }
    return {
      kids: body.keys.map((key) => key.kid),
      cacheControl: response.headers.get('cache-control'),
    }
  }

  const signUp = async (): Promise<Tokens> => {
    const response = await fetch(`${server.url}/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: uniqueEmail(), password: strongPassword }),
    })
    return (await response.json()) as Tokens
  }
  /** A client refreshing its chain every `intervalMs` until `stopped()`; a non-200 is a failure. */
  const refreshEvery = async (
    intervalMs: number,
    first: Tokens,
    stopped: () => boolean,
    failures: string[],
    received: (tokens: Tokens) => void,
  ): Promise<void> => {
    let tokens = first
    while (!stopped()) {
      await new Promise((resolve) => setTimeout(resolve, intervalMs))
      const response = await fetch(`${server.url}/auth/refresh`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refreshToken: tokens.refreshToken }),
      })
      if (response.status !== 200) {
        failures.push(`refresh answered ${response.status}: ${await response.text()}`)
        continue
      }
      tokens = (await response.json()) as Tokens
      received(tokens)
    }
  }

  it('rotates twice with zero failures for valid tokens, and unpublishes the retired key', async () => {
    const verifier = createVerifier({
      issuer,
      audience,
      jwksUrl: `${server.url}/.well-known/jwks.json`,
      jwksMaxAge: 1,
      cacheSize: 0,
    })
    let tokens = await signUp()
    const [first] = await listed()
    expect(first).toMatchObject({ state: 'current' })
    const firstKid = first?.kid ?? ''
    expect(await jwks()).toEqual({ kids: [firstKid], cacheControl: 'public, max-age=300' })

    const seen: { token: string; exp: number; kid: string }[] = []
    const failures: string[] = []
    let verifications = 0
    let stop = false
    const remember = (accessToken: string): void => {
      const { header, payload } = decodeJWT(accessToken)
      seen.push({ token: accessToken, exp: Number(payload['exp']), kid: String(header['kid']) })
    }
    remember(tokens.accessToken)

    // A client refreshing every 250 ms, and a service verifying every valid token every 50 ms.
    const client = refreshEvery(
      250,
      tokens,
      () => stop,
      failures,
      (next) => {
        tokens = next
        remember(next.accessToken)
      },
    )
    const service = (async () => {
      while (!stop) {
        const now = Date.now() / 1000
        // A margin under exp: a token expiring mid-check is not a rotation failure.
        for (const entry of seen.filter((candidate) => candidate.exp > now + 0.5)) {
          verifications++
          await verifier.verify(entry.token).catch((error: unknown) => {
            failures.push(
              `${entry.kid}: ${error instanceof VerifyError ? (error.detail ?? error.code) : String(error)}`,
            )
          })
        }
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    })()

    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
    await sleep(1000)
    // 4 s of notice: each `baton keys` run below is a process start (over 1.5 s on a loaded
    // machine), and the checks before activation must land before it.
    expect(await keys('rotate', '--activate-in', '4s')).toMatch(/as next; it signs from/)
    const afterFirst = await listed()
    const second = afterFirst.find((key) => key.state === 'next')?.kid ?? ''
    expect(afterFirst.map((key) => key.state).sort()).toEqual(['current', 'next'])
    // Published before it signs (within the server's 1 s reload).
    await sleep(1200)
    expect((await jwks()).kids.sort()).toEqual([firstKid, second].sort())
    expect(decodeJWT(tokens.accessToken).header['kid']).toBe(firstKid)
    await sleep(4500)
    expect(decodeJWT(tokens.accessToken).header['kid']).toBe(second)

    expect(await keys('rotate', '--activate-in', '4s')).toMatch(/as next/)
    const third = (await listed()).find((key) => key.state === 'next')?.kid ?? ''
    await sleep(5500)
    expect(decodeJWT(tokens.accessToken).header['kid']).toBe(third)
    const states = Object.fromEntries((await listed()).map((key) => [key.kid, key.state]))
    expect(states).toMatchObject({ [third]: 'current', [second]: 'retired' })

    // The first key retired when the second began signing and stays published 7 s after
    // (refresh 4 s + access 3 s): by now it has gone.
    await sleep(5000)
    stop = true
    await Promise.all([client, service])
    expect((await jwks()).kids).not.toContain(firstKid)
    expect((await jwks()).kids).toContain(third)
    expect(failures).toEqual([])
    expect(new Set(seen.map((entry) => entry.kid))).toEqual(new Set([firstKid, second, third]))
    expect(verifications).toBeGreaterThan(200)
  }, 60_000)

  it('rotates the refresh-token secret under a refreshing client without a failed refresh', async () => {
    let tokens = await signUp()
    const secrets = await listed('refresh')
    expect(secrets.filter((key) => key.state === 'current')).toHaveLength(1)
    const oldKid = secrets.find((key) => key.state === 'current')?.kid ?? ''
    // The keys that sign or will: a key the previous test retired may expire meanwhile.
    const signing = async () =>
      (await listed())
        .filter((key) => key.state !== 'retired')
        .map((key) => `${key.kid}:${key.state}`)
        .sort()
    const signingBefore = await signing()
    const kidsBefore = new Set((await listed()).map((key) => key.kid))
    expect(decodeJWT(tokens.refreshToken).header).toMatchObject({ alg: 'HS256', kid: oldKid })

    const failures: string[] = []
    const kids = new Set<string>()
    let stop = false
    const client = refreshEvery(
      100,
      tokens,
      () => stop,
      failures,
      (next) => {
        tokens = next
        kids.add(String(decodeJWT(next.refreshToken).header['kid']))
      },
    )
    const rotated = await keys('rotate', '--refresh', '--activate-in', '3s')
    expect(rotated).toMatch(/added refresh-token secret \S+ as next; it signs from/)
    const newKid = (await listed('refresh')).find((key) => key.state === 'next')?.kid ?? ''
    expect(newKid).not.toBe('')
    await new Promise((resolve) => setTimeout(resolve, 4500))
    stop = true
    await client
    expect(failures).toEqual([])
    expect(decodeJWT(tokens.refreshToken).header['kid']).toBe(newKid)
    expect([...kids]).toContain(oldKid)
    const states = Object.fromEntries((await listed('refresh')).map((key) => [key.kid, key.state]))
    expect(states).toMatchObject({ [newKid]: 'current', [oldKid]: 'retired' })
    // The signing keys were not touched, and the secret was never published.
    expect(await signing()).toEqual(signingBefore)
    expect((await listed()).filter((key) => !kidsBefore.has(key.kid))).toEqual([])
    expect((await jwks()).kids).not.toContain(newKid)
  }, 30_000)
})
