import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, expect, it } from 'vitest'
import {
  createClient,
  memoryStorage,
  type ClientOptions,
  type TokenStorage,
} from '@baton-auth/client'
import { freePort } from '../helpers/ports.js'
import {
  createTestServer,
  strongPassword,
  uniqueEmail,
  type TestServer,
} from '../helpers/server.js'

// The client's tab coordination over Node's BroadcastChannel (the same API as a browser's,
// without Web Locks), and the edges a review found: messages landing mid-refresh, a closed
// client, a custom token header across redirects. Against a real Baton on 127.0.0.1.

let server: TestServer
let baseUrl: string
const cleanups: (() => void | Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup()
  await server?.close()
})

async function start(env: Record<string, string> = {}): Promise<void> {
  const port = await freePort()
  baseUrl = `http://127.0.0.1:${port}`
  server = await createTestServer({ env: { BATON_ISSUER: baseUrl, ...env } })
  await server.app.listen({ port, host: '127.0.0.1' })
}

let keys = 0
function tab(options: Partial<ClientOptions> = {}) {
  const client = createClient({
    baseUrl,
    delivery: 'body',
    crossTab: true,
    proactiveRefresh: false,
    now: () => server.clock.now(),
    ...options,
  })
  cleanups.push(() => client.close())
  return client
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const account = () => ({ email: uniqueEmail(), password: strongPassword })

it('keeps the refresh token of its own answer when another tab’s token lands mid-refresh (body)', async () => {
  await start()
  const storageKey = `k${keys++}`
  const shared = memoryStorage()
  let onStored: (() => void) | undefined
  const storage: TokenStorage = {
    get: (key) => shared.get(key),
    remove: (key) => shared.remove(key),
    set: (key, value) => {
      void shared.set(key, value)
      const hook = onStored
      onStored = undefined
      hook?.()
    },
  }
  const first = tab({ storage, storageKey })
  const second = tab({ storage, storageKey })
  await first.signup(account())
  await sleep(50)
  server.clock.advance(901)
  // The second tab asks for a token in the moment between the first storing its successor
  // and telling the others: it rotates that successor, and must keep what it gets back.
  let secondDone: Promise<string> | undefined
  onStored = () => {
    secondDone = second.getAccessToken()
  }
  await first.getAccessToken()
  await secondDone
  server.clock.advance(901 + 20) // past the grace window
  await expect(first.getAccessToken()).resolves.toMatch(/^eyJ/)
})

it('never waits on itself when a stale token of its session arrives during its refresh', async () => {
  await start()
  let release = (): void => {}
  const gate = new Promise<void>((resolve) => {
    release = resolve
  })
  const storageKey = `k${keys++}`
  const client = tab({
    storageKey,
    fetch: async (input, init) => {
      if ((input instanceof Request ? input.url : input.toString()).endsWith('/auth/refresh'))
        await gate
      return fetch(input, init)
    },
  })
  const signedIn = await client.signup(account())
  server.clock.advance(901)
  const pending = client.getAccessToken()
  // Another tab's word, queued while it was frozen: a later token of this session, near its end.
  const channel = new BroadcastChannel(`baton ${baseUrl} ${storageKey}`)
  cleanups.push(() => channel.close())
  channel.postMessage({
    type: 'token',
    token: 'late',
    expiresAt: server.clock.now() + 10_000,
    lifetime: 900_000,
    sessionId: signedIn.sessionId,
    user: signedIn.user,
  })
  await sleep(50)
  release()
  const outcome = await Promise.race([
    pending.then(
      () => 'settled',
      () => 'settled',
    ),
    sleep(3000).then(() => 'still pending'),
  ])
  expect(outcome).toBe('settled')
})

it('ignores word of an older session ending, and ends its own when told', async () => {
  await start()
  const storageKey = `k${keys++}`
  const client = tab({ storageKey })
  const signedIn = await client.signup(account())
  const channel = new BroadcastChannel(`baton ${baseUrl} ${storageKey}`)
  cleanups.push(() => channel.close())
  channel.postMessage({ type: 'ended', code: 'session_revoked', sessionId: 'an-older-session' })
  await sleep(50)
  await expect(client.getAccessToken()).resolves.toBe(signedIn.accessToken)
  channel.postMessage({ type: 'ended', code: 'session_revoked', sessionId: signedIn.sessionId })
  await sleep(50)
  await expect(client.getAccessToken()).rejects.toMatchObject({ code: 'login_required' })
})

it('stops refreshing once closed, and a refresh in flight at close still completes', async () => {
  await start({ BATON_ACCESS_TOKEN_TTL: '1s' })
  let refreshes = 0
  const client = tab({
    storageKey: `k${keys++}`,
    proactiveRefresh: true,
    fetch: async (input, init) => {
      if ((input instanceof Request ? input.url : input.toString()).endsWith('/auth/refresh'))
        refreshes++
      return fetch(input, init)
    },
  })
  await client.signup(account())
  server.clock.advance(901)
  const inFlight = client.getAccessToken()
  client.close()
  await expect(inFlight).resolves.toMatch(/^eyJ/)
  // Open, it would refresh this 1-second token again after about 0.8 s.
  await sleep(1500)
  expect(refreshes).toBe(1)
})

it('sends a custom token header across redirects to its own origin only', async () => {
  await start({ BATON_ACCESS_TOKEN_HEADER: 'X-AUTH-TOKEN' })
  const seen: { where: string; token: string | undefined }[] = []
  const listen = (handler: Parameters<typeof createServer>[1]) =>
    new Promise<Server>((resolve) => {
      const listening = createServer(handler).listen(0, '127.0.0.1', () => resolve(listening))
    })
  const foreign = await listen((request, response) => {
    seen.push({ where: 'foreign', token: request.headers['x-auth-token'] as string | undefined })
    response.end('{}')
  })
  const foreignUrl = `http://127.0.0.1:${(foreign.address() as AddressInfo).port}`
  const api = await listen((request, response) => {
    seen.push({
      where: request.url ?? '',
      token: request.headers['x-auth-token'] as string | undefined,
    })
    if (request.url === '/away') response.writeHead(302, { location: `${foreignUrl}/cdn` }).end()
    else if (request.url === '/here') response.writeHead(307, { location: '/final' }).end()
    else response.end('{}')
  })
  cleanups.push(
    () => new Promise((resolve) => foreign.close(() => resolve())),
    () => new Promise((resolve) => api.close(() => resolve())),
  )
  const apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`
  const client = tab({ accessTokenHeader: 'X-AUTH-TOKEN', crossTab: false })
  const { accessToken } = await client.signup(account())

  expect((await client.fetch(`${apiUrl}/here`)).status).toBe(200)
  expect((await client.fetch(`${apiUrl}/away`)).status).toBe(200)
  expect(seen).toEqual([
    { where: '/here', token: accessToken },
    { where: '/final', token: accessToken },
    { where: '/away', token: accessToken },
    { where: 'foreign', token: undefined },
  ])
})
