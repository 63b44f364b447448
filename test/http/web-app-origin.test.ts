import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../helpers/ports.js'
import {
  createTestServer,
  strongPassword,
  uniqueEmail,
  type TestServer,
  type TokenBody,
} from '../helpers/server.js'
import { chromiumPath } from '../helpers/service-probes.js'
import { describeWith } from '../helpers/services.js'

// docs/web-apps.md, "A web app on another origin": Baton on one port of 127.0.0.1 with
// BATON_ALLOWED_ORIGINS naming a page on another port (cross-origin, same-site). Over plain HTTP
// first (what the browser would send and get), then the page of that document as written, in
// headless Chromium, served from the allowed origin and from one that is not.

const guide = readFileSync(join(import.meta.dirname, '../../docs/web-apps.md'), 'utf8')
const examplePage = /```html\n([\s\S]*?)```/.exec(guide)?.[1] ?? ''
const documentedBaton = 'http://127.0.0.1:3000'

let baton: TestServer
let batonUrl: string
let appOrigin: string
let otherOrigin: string
let app: Server
let other: Server

/** Serves the document's page, talking to this test's Baton, at `/`. */
function pageServer(): Promise<Server> {
  const html = examplePage.replaceAll(documentedBaton, batonUrl)
  const server = createServer((request, response) => {
    if (request.url === '/' || request.url === '/index.html') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html)
    } else {
      response.writeHead(404).end()
    }
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

const originOf = (server: Server): string =>
  `http://127.0.0.1:${(server.address() as AddressInfo).port}`

beforeAll(async () => {
  expect(examplePage).toContain(`const baton = '${documentedBaton}'`)
  expect(examplePage).toContain("credentials: 'include'")
  const port = await freePort()
  batonUrl = `http://127.0.0.1:${port}`
  app = await pageServer()
  other = await pageServer()
  appOrigin = originOf(app)
  otherOrigin = originOf(other)
  baton = await createTestServer({
    env: { BATON_ISSUER: batonUrl, BATON_ALLOWED_ORIGINS: appOrigin },
  })
  await baton.app.listen({ port, host: '127.0.0.1' })
})

afterAll(async () => {
  await baton?.close()
  await Promise.all([app, other].map((server) => new Promise((resolve) => server?.close(resolve))))
})

async function newAccount(): Promise<string> {
  const email = uniqueEmail()
  const response = await fetch(`${batonUrl}/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: strongPassword }),
  })
  expect(response.status).toBe(201)
  return email
}

async function sessionsOf(email: string): Promise<number> {
  const user = await baton.database.findUserByEmail(email)
  if (user === null) throw new Error(`no user ${email}`)
  return (await baton.sessions.listForUser(user.id, baton.clock.now())).length
}

const preflight = (origin: string, path = '/auth/login') =>
  fetch(`${batonUrl}${path}`, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type',
    },
  })

const login = (origin: string, email: string) =>
  fetch(`${batonUrl}/auth/login`, {
    method: 'POST',
    headers: { origin, 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: strongPassword }),
  })

describe('over HTTP, as the browser sees it', () => {
  it('answers the allowed origin’s preflight with credentials allowed', async () => {
    const response = await preflight(appOrigin)
    expect(response.status).toBe(204)
    expect(response.headers.get('access-control-allow-origin')).toBe(appOrigin)
    expect(response.headers.get('access-control-allow-credentials')).toBe('true')
    expect(response.headers.get('access-control-allow-methods')).toBe('GET, POST, DELETE')
    expect(response.headers.get('access-control-allow-headers')).toBe(
      'content-type, authorization, baton-token-delivery',
    )
    expect(response.headers.get('access-control-max-age')).toBe('600')
    expect(response.headers.get('vary')).toMatch(/origin/i)
  })

  it('signs in from the allowed origin with the refresh cookie set, readable by the page', async () => {
    const email = await newAccount()
    const response = await login(appOrigin, email)
    expect(response.status).toBe(200)
    expect(response.headers.get('access-control-allow-origin')).toBe(appOrigin)
    expect(response.headers.get('access-control-allow-credentials')).toBe('true')
    expect(response.headers.get('access-control-expose-headers')).toBe('date, retry-after')
    const cookie = response.headers.get('set-cookie') ?? ''
    expect(cookie).toMatch(/^__Secure-baton_rt=[\w-]+\.[\w-]+\.[\w-]+;/)
    for (const attribute of ['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/auth']) {
      expect(cookie).toContain(attribute)
    }
    const body = (await response.json()) as TokenBody
    expect(body.refreshToken).toBeUndefined()

    // The cookie refreshes from the page's origin (a simple POST: no preflight, no body).
    const token = /^__Secure-baton_rt=([^;]+)/.exec(cookie)?.[1] ?? ''
    const refreshed = await fetch(`${batonUrl}/auth/refresh`, {
      method: 'POST',
      headers: { origin: appOrigin, cookie: `__Secure-baton_rt=${token}` },
    })
    expect(refreshed.status).toBe(200)
    expect(refreshed.headers.get('access-control-allow-origin')).toBe(appOrigin)
  })

  it('refuses another origin: no CORS for its preflight, 403 for a sign-in or the cookie', async () => {
    const email = await newAccount()
    const refusedPreflight = await preflight(otherOrigin)
    expect(refusedPreflight.headers.get('access-control-allow-origin')).toBeNull()
    expect(refusedPreflight.headers.get('access-control-allow-credentials')).toBeNull()

    // A browser stops at that preflight. Sent anyway, the sign-in is refused (login CSRF: no
    // page of another origin signs a browser in), with no CORS header for a page to read it by.
    const sentAnyway = await login(otherOrigin, email)
    expect(sentAnyway.status).toBe(403)
    expect(await sentAnyway.json()).toMatchObject({ error: 'csrf_origin_mismatch' })
    expect(sentAnyway.headers.get('access-control-allow-origin')).toBeNull()
    expect(sentAnyway.headers.get('set-cookie')).toBeNull()
    expect(await sessionsOf(email)).toBe(1)

    // The cookie of a sign-in from the app is same-site to the other origin too (ports do not
    // count), so a browser would send it along: the Origin check refuses it, and the session is
    // neither rotated nor revoked.
    const cookie = (await login(appOrigin, email)).headers.get('set-cookie') ?? ''
    const token = /^__Secure-baton_rt=([^;]+)/.exec(cookie)?.[1] ?? ''
    expect(token).not.toBe('')
    const forged = await fetch(`${batonUrl}/auth/refresh`, {
      method: 'POST',
      headers: { origin: otherOrigin, cookie: `__Secure-baton_rt=${token}` },
    })
    expect(forged.status).toBe(403)
    expect(await forged.json()).toMatchObject({ error: 'csrf_origin_mismatch' })
    expect(forged.headers.get('access-control-allow-origin')).toBeNull()
    expect(forged.headers.get('set-cookie')).toBeNull()
    const own = await fetch(`${batonUrl}/auth/refresh`, {
      method: 'POST',
      headers: { origin: appOrigin, cookie: `__Secure-baton_rt=${token}` },
    })
    expect(own.status).toBe(200)
  })

  it('takes JSON only, so a form on another site cannot post a sign-in', async () => {
    const email = await newAccount()
    for (const [type, body] of [
      ['text/plain', JSON.stringify({ email, password: strongPassword })],
      ['application/x-www-form-urlencoded', `email=${email}&password=${strongPassword}`],
    ]) {
      const response = await fetch(`${batonUrl}/auth/login`, {
        method: 'POST',
        headers: { origin: otherOrigin, 'content-type': type ?? '' },
        body,
      })
      expect(response.status, type).toBe(400)
      expect(await response.json()).toMatchObject({ error: 'invalid_request' })
    }
    expect(await sessionsOf(email)).toBe(1)
  })
})

await describeWith(['chromium'], 'the example page in headless Chromium', () => {
  let browser: Browser

  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
    })
  })
  afterAll(async () => browser?.close())

  const status = (page: Page) => page.locator('#status')

  async function signIn(page: Page, email: string): Promise<void> {
    await page.fill('input[name=email]', email)
    await page.fill('input[name=password]', strongPassword)
    await page.click('button')
  }

  it('signs in from the allowed origin, keeps the cookie from scripts, resumes after a reload', async () => {
    const email = await newAccount()
    const context = await browser.newContext()
    try {
      const page = await context.newPage()
      await page.goto(`${appOrigin}/`)
      await page.waitForLoadState('networkidle')
      await expect.poll(() => status(page).textContent()).toBe('Signed out')

      await signIn(page, email)
      await expect.poll(() => status(page).textContent()).toBe(`Signed in as ${email}`)
      expect(await sessionsOf(email)).toBe(2)
      // Baton's cookie, HttpOnly: stored by the browser for Baton's host, invisible to the page.
      expect(await page.evaluate('document.cookie')).toBe('')
      const cookies = await context.cookies(`${batonUrl}/auth/refresh`)
      expect(cookies.map((cookie) => [cookie.name, cookie.httpOnly, cookie.sameSite])).toEqual([
        ['__Secure-baton_rt', true, 'Strict'],
      ])

      // A reload forgets the access token; the refresh on load gets one with the cookie.
      await page.reload()
      await expect.poll(() => status(page).textContent()).toBe(`Signed in as ${email}`)
      expect(await sessionsOf(email)).toBe(2)
    } finally {
      await context.close()
    }
  })

  it('refuses the same page served from an origin Baton does not list', async () => {
    const email = await newAccount()
    const context = await browser.newContext()
    try {
      const page = await context.newPage()
      await page.goto(`${otherOrigin}/`)
      await page.waitForLoadState('networkidle')
      await signIn(page, email)
      await expect.poll(() => status(page).textContent()).toBe('Baton refused this origin')
      // The preflight failed, so the sign-in was never sent: no session, no cookie.
      expect(await sessionsOf(email)).toBe(1)
      expect(await context.cookies(`${batonUrl}/auth/refresh`)).toEqual([])
    } finally {
      await context.close()
    }
  })
})
