import { readFileSync, mkdirSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { freePort } from '../helpers/ports.js'
import {
  createTestServer,
  strongPassword,
  uniqueEmail,
  type TestServer,
} from '../helpers/server.js'
import { chromiumPath } from '../helpers/service-probes.js'
import { describeWith } from '../helpers/services.js'
import { startSmtpServer, tokenOfMail, type TestSmtpServer } from '../helpers/smtp.js'

// The account pages as a person uses them, in headless Chromium against a real Baton on
// 127.0.0.1: sign up, sign in on a second device, the device list, signing one device out and
// then every device. Screenshots of every page land in test-results/screenshots/ (look at
// them); axe-core checks each page for accessibility, and the first load is weighed.

const screenshots = join(import.meta.dirname, '..', '..', 'test-results', 'screenshots')
const axeSource = readFileSync(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
)
/** The page's globals the test reads (it is typed without the DOM's types). */
interface PageGlobals {
  document: { cookie: string; activeElement: { id: string } | null }
}

const phone = { width: 390, height: 844 }
const firefoxOnWindows =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0'

await describeWith(['chromium'], 'the account pages in headless Chromium', () => {
  let browser: Browser
  let server: TestServer
  let origin: string
  let smtp: TestSmtpServer
  const logins: { origin: string | undefined; type: string | undefined }[] = []

  beforeAll(async () => {
    mkdirSync(screenshots, { recursive: true })
    const port = await freePort()
    origin = `http://127.0.0.1:${port}`
    smtp = await startSmtpServer()
    server = await createTestServer({ env: { BATON_ISSUER: origin, BATON_MAILER_URL: smtp.url } })
    server.app.addHook('onRequest', async (request) => {
      if (request.method === 'POST' && request.url === '/auth/login') {
        logins.push({
          origin: request.headers.origin,
          type: request.headers['content-type']?.split(';')[0],
        })
      }
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
    await smtp?.close()
  })

  async function shoot(page: Page, name: string): Promise<void> {
    const path = join(screenshots, `account-${name}.png`)
    await page.screenshot({ path, fullPage: true })
    console.log(`screenshot: ${path}`)
  }

  /** A page that records what the Content-Security-Policy refused. */
  async function openPage(context: BrowserContext): Promise<{ page: Page; refused: string[] }> {
    const page = await context.newPage()
    const refused: string[] = []
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) refused.push(message.text())
    })
    page.on('pageerror', (error) => refused.push(`page error: ${error.message}`))
    return { page, refused }
  }

  async function axeViolations(page: Page): Promise<string[]> {
    // Through the DevTools protocol, which the page's CSP does not govern: the page itself
    // stays under its real policy.
    await page.evaluate(axeSource)
    const results = await page.evaluate(() =>
      (
        globalThis as unknown as {
          axe: { run(): Promise<{ violations: { id: string; help: string; nodes: unknown[] }[] }> }
        }
      ).axe.run(),
    )
    return results.violations.map(
      (violation) => `${violation.id}: ${violation.help} (${violation.nodes.length})`,
    )
  }

  it('signs up, lists the devices, signs one out and then every device, accessibly', async () => {
    const laptop = await browser.newContext({ viewport: phone })
    const { page, refused } = await openPage(laptop)

    // Not signed in: the account page sends the visitor to sign in.
    await page.goto(`${origin}/account`)
    await page.waitForURL(`${origin}/account/sign-in`)
    await expect.poll(() => page.title()).toBe('Sign in · Baton')
    expect(await axeViolations(page)).toEqual([])
    await shoot(page, 'sign-in')

    await page.getByRole('link', { name: 'Create an account' }).click()
    await page.waitForURL(`${origin}/account/sign-up`)
    expect(await axeViolations(page)).toEqual([])
    const email = uniqueEmail()
    await page.getByLabel('Email').fill(email)
    await page.getByLabel('Password').fill('password1')
    await page.getByRole('button', { name: 'Create account' }).click()
    // Errors in words, announced (role=alert), focus back on the field to fix.
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toBe('This password is among the most common ones. Choose one that is harder to guess.')
    expect(
      await page.evaluate(() => (globalThis as unknown as PageGlobals).document.activeElement?.id),
    ).toBe('password')
    await shoot(page, 'sign-up-error')
    await page.getByLabel('Password').fill(strongPassword)
    await page.getByRole('button', { name: 'Create account' }).click()
    await page.waitForURL(`${origin}/account`)
    await page.locator('#devices .device').first().waitFor()
    expect(await page.locator('#who').textContent()).toBe(email)
    expect(await page.locator('#devices .device').count()).toBe(1)
    expect(await page.locator('#devices .device h3').textContent()).toBe(
      'Chrome on Linux This device',
    )

    // The refresh token lives in an HttpOnly cookie: the browser holds it, the page cannot read it.
    const cookieName = server.config.cookieName
    const cookies = await laptop.cookies(`${origin}/auth/refresh`)
    expect(cookies.find((cookie) => cookie.name === cookieName)).toMatchObject({
      httpOnly: true,
      sameSite: 'Strict',
      path: '/auth',
    })
    expect(
      await page.evaluate(() => (globalThis as unknown as PageGlobals).document.cookie),
    ).not.toContain(cookieName)

    // A second device signs in through the sign-in page.
    const desktop = await browser.newContext({ userAgent: firefoxOnWindows })
    const other = await openPage(desktop)
    await other.page.goto(`${origin}/account/sign-in`)
    await other.page.getByLabel('Email').fill(email)
    await other.page.getByLabel('Password').fill('not the password')
    await other.page.getByRole('button', { name: 'Sign in' }).click()
    await expect
      .poll(() => other.page.getByRole('alert').textContent())
      .toBe('That email and password do not match an account.')
    await other.page.getByLabel('Password').fill(strongPassword)
    await other.page.getByRole('button', { name: 'Sign in' }).click()
    await other.page.waitForURL(`${origin}/account`)
    await other.page.locator('#devices .device').nth(1).waitFor()

    await page.reload()
    await page.locator('#devices .device').nth(1).waitFor()
    const names = await page.locator('#devices .device h3').allTextContents()
    expect(names).toEqual(['Chrome on Linux This device', 'Firefox on Windows'])
    expect(await page.locator('#devices .device').nth(1).locator('dd').first().textContent()).toBe(
      '127.0.0.1',
    )
    expect(await axeViolations(page)).toEqual([])
    await shoot(page, 'devices')

    // Sign the other device out from here; that device is signed out at its next call.
    await page.getByRole('button', { name: 'Sign out Firefox on Windows, 127.0.0.1' }).click()
    await expect
      .poll(() => page.locator('#status').textContent())
      .toBe('Firefox on Windows is signed out.')
    expect(await page.locator('#devices .device').count()).toBe(1)
    await other.page.reload()
    await other.page.waitForURL(`${origin}/account/sign-in?ended=revoked`)
    await expect
      .poll(() => other.page.locator('#notice').textContent())
      .toBe('You were signed out from another device.')
    await shoot(other.page, 'signed-out-elsewhere')

    // Sign out everywhere: this device too, and the server agrees.
    const before = await laptop.cookies(`${origin}/auth/refresh`)
    await page.getByRole('button', { name: 'Sign out everywhere' }).click()
    await page.waitForURL(`${origin}/account/sign-in?ended=signed_out`)
    await expect.poll(() => page.locator('#notice').textContent()).toBe('You are signed out.')
    const oldCookie = before.find((cookie) => cookie.name === cookieName)?.value ?? ''
    const reuse = await fetch(`${origin}/auth/refresh`, {
      method: 'POST',
      headers: { cookie: `${cookieName}=${oldCookie}`, origin },
    })
    expect(reuse.status).toBe(401)
    expect(refused).toEqual([])
    expect(other.refused).toEqual([])
    await laptop.close()
    await desktop.close()
  })

  it('resets a forgotten password through the mailed link, then changes it while signed in', async () => {
    const email = uniqueEmail()
    await fetch(`${origin}/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: strongPassword }),
    })
    const context = await browser.newContext({ viewport: phone })
    const { page, refused } = await openPage(context)
    await page.goto(`${origin}/account/sign-in`)
    await page.getByRole('link', { name: 'Forgot your password?' }).click()
    await page.waitForURL(`${origin}/account/forgot-password`)
    expect(await axeViolations(page)).toEqual([])
    await page.getByLabel('Email').fill(email)
    await page.getByRole('button', { name: 'Send the link' }).click()
    await expect
      .poll(() => page.locator('#notice').textContent())
      .toMatch(/^If an account exists for that address, a link/)
    await shoot(page, 'forgot-password')

    const mail = await smtp.waitFor(email)
    const { link } = tokenOfMail(mail)
    expect(link.origin + link.pathname).toBe(`${origin}/account/reset-password`)
    await page.goto(link.toString())
    expect(await axeViolations(page)).toEqual([])
    await page.getByLabel('New password').fill('password1')
    await page.getByRole('button', { name: 'Set the password' }).click()
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/most common ones/)
    await shoot(page, 'reset-password')
    const newPassword = 'a brand new passphrase'
    await page.getByLabel('New password').fill(newPassword)
    await page.getByRole('button', { name: 'Set the password' }).click()
    await page.waitForURL(`${origin}/account/sign-in?ended=password_reset`)
    await expect
      .poll(() => page.locator('#notice').textContent())
      .toBe('Your password is changed. Sign in with the new one.')
    // The link works once.
    await page.goto(link.toString())
    await page.getByLabel('New password').fill('yet another passphrase')
    await page.getByRole('button', { name: 'Set the password' }).click()
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toBe('This link is invalid or has expired. Ask for a new one.')

    await page.goto(`${origin}/account/sign-in`)
    await page.getByLabel('Email').fill(email)
    await page.getByLabel('Password').fill(newPassword)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.waitForURL(`${origin}/account`)
    await page.locator('#devices .device').first().waitFor()
    await page.getByLabel('Current password').fill('not it at all')
    await page.getByLabel('New password', { exact: true }).fill('the third passphrase')
    await page.getByRole('button', { name: 'Change password' }).click()
    await expect
      .poll(() => page.locator('#password-problem').textContent())
      .toBe('Your current password is not right.')
    await page.getByLabel('Current password').fill(newPassword)
    await page.getByLabel('New password', { exact: true }).fill('the third passphrase')
    await page.getByRole('button', { name: 'Change password' }).click()
    await expect
      .poll(() => page.locator('#password-status').textContent())
      .toBe('Your password is changed. Your other devices are signed out.')
    expect(await axeViolations(page)).toEqual([])
    await shoot(page, 'change-password')
    // Still signed in here after the change.
    await page.reload()
    await page.locator('#devices .device').first().waitFor()
    expect(refused).toEqual([])
    await context.close()
  })

  it('serves the pages under a strict policy, with nothing from elsewhere, in under 50 KB', async () => {
    for (const path of ['/account', '/account/sign-in', '/account/sign-up']) {
      const answer = await fetch(`${origin}${path}`)
      expect(answer.status).toBe(200)
      expect(answer.headers.get('content-security-policy')).toBe(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
          "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
      )
      const html = await answer.text()
      expect(html).not.toMatch(/<script>|<style|\sstyle=|\son[a-z]+="|https?:\/\//)
    }

    // What a first visit transfers, as Chromium's network stack counts it (headers included).
    const context = await browser.newContext({ viewport: phone })
    const page = await context.newPage()
    const cdp = await context.newCDPSession(page)
    await cdp.send('Network.enable')
    let transferred = 0
    const urls: string[] = []
    cdp.on('Network.responseReceived', (event) => urls.push(event.response.url))
    cdp.on('Network.loadingFinished', (event) => {
      transferred += event.encodedDataLength
    })
    await page.goto(`${origin}/account/sign-in`, { waitUntil: 'networkidle' })
    console.log(
      `account pages, first load of /account/sign-in: ${transferred} bytes, ${urls.length} requests`,
    )
    expect(urls.every((url) => url.startsWith(origin))).toBe(true)
    expect(transferred).toBeLessThan(50 * 1024)
    await context.close()
  })

  it('refuses a sign-in posted from another origin (CSRF), and sets no cookie', async () => {
    const email = uniqueEmail()
    await fetch(`${origin}/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: strongPassword }),
    })
    // The attacker's page, on another origin of the same machine: a form that posts the
    // victim's browser into the attacker's account, and a script that tries the same with fetch.
    const attacker: Server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html>
<form id="csrf" method="post" action="${origin}/auth/login" enctype="text/plain">
<input name='{"email":"${email}","password":"${strongPassword}","x":"' value='"}'>
</form>`)
    })
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve))
    const attackerOrigin = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`
    const context = await browser.newContext()
    const page = await context.newPage()
    try {
      await page.goto(attackerOrigin)
      const viaFetch = await page.evaluate(
        async ({ url, body }) => {
          try {
            const answer = await fetch(url, {
              method: 'POST',
              credentials: 'include',
              headers: { 'content-type': 'application/json' },
              body,
            })
            return `answered ${answer.status}`
          } catch (error) {
            return `refused: ${(error as Error).message}`
          }
        },
        {
          url: `${origin}/auth/login`,
          body: JSON.stringify({ email, password: strongPassword }),
        },
      )
      expect(viaFetch).toMatch(/^refused/)

      const [answer] = await Promise.all([
        page.waitForResponse(`${origin}/auth/login`),
        page.locator('#csrf').evaluate((form) => (form as unknown as { submit(): void }).submit()),
      ])
      // What a browser can send across origins without CORS is no JSON: refused before any
      // account is looked at. (A JSON sign-in with a foreign Origin is 403 csrf_origin_mismatch:
      // test/http/account-pages.test.ts; browsers cannot send one, as the fetch above shows.)
      expect(answer.status()).toBe(400)
      expect(await answer.json()).toMatchObject({ error: 'invalid_request' })
      expect(
        logins.filter((login) => login.origin === attackerOrigin).map((login) => login.type),
      ).toEqual(['text/plain'])
      await shoot(page, 'csrf-refused')
      expect(await context.cookies(`${origin}/auth/refresh`)).toEqual([])
    } finally {
      await context.close()
      await new Promise((resolve) => attacker.close(resolve))
    }
  })
})
