import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type * as ClientModule from '@baton-auth/client'
import type { BatonClient, SessionEvent } from '@baton-auth/client'
import { build } from 'esbuild'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest'
import { freePort } from '../helpers/ports.js'
import {
  createTestServer,
  strongPassword,
  uniqueEmail,
  type TestServer,
} from '../helpers/server.js'
import { chromiumPath } from '../helpers/service-probes.js'
import { describeWith } from '../helpers/services.js'

// @baton-auth/client as built, bundled for the browser and loaded by a page of Baton's own
// origin in headless Chromium, in cookie delivery: the refresh races of real tabs, against a
// real server whose clock the test moves. The server counts the refresh requests it answers.

const clientEntry = join(import.meta.dirname, '../../packages/client/dist/index.js')

/** What the test page's globals hold (the test is typed without the DOM's types). */
interface PageWindow {
  Baton: typeof ClientModule
  client: BatonClient
  events: SessionEvent[]
  location: { origin: string }
  document: { cookie: string }
}

await describeWith(['chromium'], '@baton-auth/client in headless Chromium', () => {
  let browser: Browser
  let server: TestServer
  let origin: string
  let refreshes = 0
  let refreshDelay = 0
  let stallNextRefresh = 0

  beforeAll(async () => {
    const bundle = await build({
      entryPoints: [clientEntry],
      bundle: true,
      format: 'iife',
      globalName: 'Baton',
      write: false,
    })
    const script = bundle.outputFiles[0]?.text ?? ''
    const port = await freePort()
    origin = `http://127.0.0.1:${port}`
    server = await createTestServer({ env: { BATON_ISSUER: origin } })
    // The page and the bundle come from Baton's origin, as an app served beside it would.
    server.app.get('/test/client.js', { config: { accountPage: true } }, (_request, reply) =>
      reply.type('text/javascript').send(script),
    )
    server.app.get('/test/page', { config: { accountPage: true } }, (_request, reply) =>
      reply
        .type('text/html')
        .send('<!doctype html><title>app</title><script src="/test/client.js"></script>'),
    )
    server.app.addHook('onResponse', async (request) => {
      if (request.url === '/auth/refresh') refreshes++
    })
    // A slow refresh, so that tabs' refreshes overlap for certain; the first of them may stall.
    server.app.addHook('preHandler', async (request) => {
      if (request.url !== '/auth/refresh') return
      const stall = stallNextRefresh
      stallNextRefresh = 0
      await new Promise((resolve) => setTimeout(resolve, stall || refreshDelay))
    })
    await server.app.listen({ port, host: '127.0.0.1' })
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    })
  })

  afterAll(async () => {
    await browser?.close()
    await server?.close()
  })

  beforeEach(() => {
    refreshes = 0
    refreshDelay = 0
    stallNextRefresh = 0
  })

  /** A tab of the app with a client in cookie delivery, recording its session events. */
  async function openTab(context: BrowserContext, lockTimeout = 5000): Promise<Page> {
    const page = await context.newPage()
    await page.goto(`${origin}/test/page`)
    await page.evaluate((lockTimeout) => {
      const w = globalThis as unknown as PageWindow
      w.client = w.Baton.createClient({
        baseUrl: w.location.origin,
        delivery: 'cookie',
        lockTimeout,
      })
      w.events = []
      w.client.onSessionChange((event) => w.events.push(event))
    }, lockTimeout)
    return page
  }

  const signUp = (page: Page, email = uniqueEmail()) =>
    page.evaluate(
      ([email, password]) =>
        (globalThis as unknown as PageWindow).client.signup({ email, password }),
      [email, strongPassword] as const,
    )

  const fetchMe = (page: Page, times = 1) =>
    page.evaluate(async (times) => {
      const { client } = globalThis as unknown as PageWindow
      const answers = await Promise.all(
        Array.from({ length: times }, () => client.fetch('/auth/me')),
      )
      return answers.map((answer) => answer.status)
    }, times)

  const events = (page: Page) => page.evaluate(() => (globalThis as unknown as PageWindow).events)

  it("runs the README's browser client example as written", async () => {
    const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8')
    const section = readme.slice(readme.indexOf('## Account pages and the browser client'))
    const example = /```ts\n([\s\S]*?)```/.exec(section)?.[1] ?? ''
    expect(example).toContain("import { createClient } from '@baton-auth/client'")
    const email = uniqueEmail()
    const code = example
      .replace(
        "import { createClient } from '@baton-auth/client'",
        'const { createClient } = Baton',
      )
      .replaceAll('http://127.0.0.1:3000', origin)
      .replace('ada@example.com', email)
    const context = await browser.newContext()
    const page = await context.newPage()
    const logged: string[] = []
    page.on('console', (message) => {
      if (message.type() === 'log') logged.push(message.text())
    })
    await page.goto(`${origin}/test/page`)
    await page.evaluate(`(async () => {\n${code}\n})()`)
    expect(logged).toEqual([`${email}: 200`, 'signed out: signed_out'])
    await context.close()
  })

  it('sends 20 parallel fetches on an expired access token with exactly one refresh', async () => {
    const context = await browser.newContext()
    const page = await openTab(context)
    await signUp(page)
    server.clock.advance(901)
    refreshes = 0
    expect(await fetchMe(page, 20)).toEqual(Array(20).fill(200))
    expect(refreshes).toBe(1)
    // The page cannot read the refresh cookie; the client never had it either.
    expect(await page.evaluate(() => (globalThis as unknown as PageWindow).document.cookie)).toBe(
      '',
    )
    await context.close()
  })

  it('keeps two tabs signed in through one refresh when their tokens expire together', async () => {
    const context = await browser.newContext()
    const first = await openTab(context)
    const second = await openTab(context)
    const signedIn = await signUp(first)
    // The sign-in reached the other tab: same session, no request of its own.
    await expect
      .poll(() => events(second))
      .toEqual([{ type: 'changed', sessionId: signedIn.sessionId, user: signedIn.user }])
    const ref = { userId: signedIn.user.id, sessionId: signedIn.sessionId }
    const before = await server.sessions.get(ref, server.clock.now())

    server.clock.advance(901)
    refreshes = 0
    refreshDelay = 300
    const [one, two] = await Promise.all([fetchMe(first), fetchMe(second)])
    expect([one, two]).toEqual([[200], [200]])
    expect(refreshes).toBe(1)
    // One successor in the store: the token both tabs started from retired once.
    const after = await server.sessions.get(ref, server.clock.now())
    expect(after?.previousJti).toBe(before?.currentJti)
    expect(after?.currentJti).not.toBe(before?.currentJti)
    const tokens = await Promise.all(
      [first, second].map((page) =>
        page.evaluate(() => (globalThis as unknown as PageWindow).client.getAccessToken()),
      ),
    )
    expect(tokens[0]).toBe(tokens[1])
    expect(refreshes).toBe(1)
    await context.close()
  })

  it('does not let a tab whose refresh hangs hold the others for longer than lockTimeout', async () => {
    const context = await browser.newContext()
    const stuck = await openTab(context, 300)
    const waiting = await openTab(context, 300)
    await signUp(stuck)
    await expect.poll(async () => (await events(waiting)).length).toBe(1)
    server.clock.advance(901)
    refreshes = 0
    stallNextRefresh = 4000
    const stuckCall = fetchMe(stuck)
    await new Promise((resolve) => setTimeout(resolve, 200)) // the stuck tab holds the lock
    const started = Date.now()
    expect(await fetchMe(waiting)).toEqual([200])
    // 300 ms for the lock, then its own refresh: the grace window gives it the same successor.
    expect(Date.now() - started).toBeLessThan(2500)
    expect(await stuckCall).toEqual([200])
    expect(refreshes).toBe(2)
    await context.close()
  })

  it('signs every tab out on its next call when the session is revoked from another device', async () => {
    const context = await browser.newContext()
    const tab = await openTab(context)
    const otherTab = await openTab(context)
    const email = uniqueEmail()
    const { sessionId } = await signUp(tab, email)
    // Another device of the same user signs this browser's session out.
    const phone = await fetch(`${origin}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: strongPassword }),
    })
    const { accessToken } = (await phone.json()) as { accessToken: string }
    const revoked = await fetch(`${origin}/auth/sessions/${sessionId}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${accessToken}` },
    })
    expect(revoked.status).toBe(204)

    expect(await fetchMe(tab)).toEqual([401])
    const ended = { type: 'ended', reason: 'revoked', code: 'session_revoked' }
    expect((await events(tab)).at(-1)).toEqual(ended)
    await expect.poll(async () => (await events(otherTab)).at(-1)).toEqual(ended)
    const error = await tab.evaluate(() =>
      (globalThis as unknown as PageWindow).client
        .getAccessToken()
        .catch((e: { code: string }) => e.code),
    )
    // The cookie is still in the browser; the server still refuses it, and the client has no
    // session left to end: no second event.
    expect(error).toBe('session_revoked')
    expect((await events(tab)).filter((event) => event.type === 'ended')).toHaveLength(1)
    await context.close()
  })

  it('refreshes ahead of expiry, again as soon as it is back online after failing offline, and when shown again', async () => {
    // Real time, on a server of its own with 4-second access tokens: refreshed ahead at
    // about 3.2 seconds.
    const port = await freePort()
    const shortOrigin = `http://127.0.0.1:${port}`
    const short = await createTestServer({
      env: { BATON_ISSUER: shortOrigin, BATON_ACCESS_TOKEN_TTL: '4s' },
    })
    let shortRefreshes = 0
    short.app.get('/test/page', { config: { accountPage: true } }, (_request, reply) =>
      reply.type('text/html').send('<!doctype html><title>app</title>'),
    )
    short.app.addHook('onResponse', async (request) => {
      if (request.url === '/auth/refresh') shortRefreshes++
    })
    await short.app.listen({ port, host: '127.0.0.1' })
    const offlineContext = await browser.newContext()
    try {
      const tab = await offlineContext.newPage()
      await tab.goto(`${shortOrigin}/test/page`)
      await tab.addScriptTag({ url: `${origin}/test/client.js` })
      await tab.evaluate(
        async ([email, password]) => {
          const w = globalThis as unknown as PageWindow
          w.client = w.Baton.createClient({ baseUrl: w.location.origin, delivery: 'cookie' })
          await w.client.signup({ email, password })
        },
        [uniqueEmail(), strongPassword] as const,
      )
      // Ahead of expiry, with no call asking for it.
      await expect.poll(() => shortRefreshes, { timeout: 4000 }).toBe(1)
      await offlineContext.setOffline(true)
      // Offline long enough for the next refresh (due ~3.2 s after the last) to fail and back off
      // twice: the third try would come 4 s after the second.
      await new Promise((resolve) => setTimeout(resolve, 6800))
      expect(shortRefreshes).toBe(1)
      await offlineContext.setOffline(false)
      // Coming back online tries again at once, not when the back-off ends.
      await expect.poll(() => shortRefreshes, { timeout: 800 }).toBe(2)
      const status = await tab.evaluate(async () => {
        const answer = await (globalThis as unknown as PageWindow).client.fetch('/auth/me')
        return answer.status
      })
      expect(status).toBe(200)
      expect(shortRefreshes).toBe(2)

      // A hidden tab leaves the timed refresh to a visible one; shown again, it refreshes at
      // once when due (as after a sleep, when the timer could not run).
      const show = (state: 'hidden' | 'visible') =>
        tab.evaluate(
          `Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => '${state}' });` +
            "document.dispatchEvent(new Event('visibilitychange'))",
        )
      await show('hidden')
      await new Promise((resolve) => setTimeout(resolve, 4500))
      expect(shortRefreshes).toBe(2)
      await show('visible')
      await expect.poll(() => shortRefreshes, { timeout: 1000 }).toBe(3)
    } finally {
      await offlineContext.close()
      await short.close()
    }
  })
})
