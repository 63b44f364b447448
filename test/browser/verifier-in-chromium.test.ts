import { readFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join, normalize } from 'node:path'
import { chromium, type Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { SigningAlgorithm } from '../../packages/server/src/core/config/config.js'
import { createTestServer, signup, type TestServer } from '../helpers/server.js'
import { chromiumPath } from '../helpers/service-probes.js'
import { describeWith } from '../helpers/services.js'

// `@baton-auth/verify` as built (packages/verify/dist, plain ES modules) loaded by a page in headless Chromium,
// verifying Baton's tokens against the JWKS a Baton server publishes on another origin. In the
// browser there is no node:crypto, so this is the WebCrypto path, as on an edge runtime.

const verifyDist = join(import.meta.dirname, '../../packages/verify/dist')
const algorithms: SigningAlgorithm[] = ['ES256', 'EdDSA', 'RS256']

/** Serves packages/verify/dist under /verify/ as ES modules, and an empty page to load them from. */
function startStaticServer(): Promise<Server> {
  const server = createServer((request, response) => {
    const path = normalize(request.url ?? '/')
    if (path === '/') {
      response
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<!doctype html><title>api</title>')
      return
    }
    if (!path.startsWith('/verify/') || !path.endsWith('.js')) {
      response.writeHead(404).end()
      return
    }
    readFile(join(verifyDist, path.slice('/verify/'.length))).then(
      (body) => response.writeHead(200, { 'content-type': 'text/javascript' }).end(body),
      () => response.writeHead(404).end(),
    )
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

await describeWith(['chromium'], 'the verifier in headless Chromium', () => {
  let browser: Browser
  let statics: Server
  let pageOrigin: string
  const servers: TestServer[] = []

  beforeAll(async () => {
    statics = await startStaticServer()
    pageOrigin = `http://127.0.0.1:${(statics.address() as AddressInfo).port}`
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
  afterAll(async () => {
    await browser?.close()
    await Promise.all(servers.map((server) => server.close()))
    await new Promise((resolve) => statics?.close(resolve))
  })

  it.each(algorithms)('verifies a %s access token and refuses a forged one', async (alg) => {
    const server = await createTestServer({
      env: { BATON_SIGNING_ALG: alg, BATON_AUDIENCE: 'orders-api' },
    })
    servers.push(server)
    const batonUrl = await server.app.listen({ port: 0, host: '127.0.0.1' })
    const { accessToken, user } = await signup(server)
    const [header, payload, signature] = accessToken.split('.')
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as object
    const forgedPayload = Buffer.from(JSON.stringify({ ...claims, roles: ['admin'] })).toString(
      'base64url',
    )
    const forged = `${header}.${forgedPayload}.${signature}`

    const page = await browser.newPage()
    try {
      await page.goto(pageOrigin)
      // A string, not a function: Vitest would rewrite a function's dynamic import for Node.
      const parameters = JSON.stringify({
        moduleUrl: `${pageOrigin}/verify/index.js`,
        issuer: server.config.issuer,
        jwksUrl: `${batonUrl}/.well-known/jwks.json`,
        token: accessToken,
        forgedToken: forged,
      })
      const outcome = await page.evaluate(`(async () => {
        const { moduleUrl, issuer, jwksUrl, token, forgedToken } = ${parameters}
        const { createVerifier } = await import(moduleUrl)
        const verifier = createVerifier({ issuer, audience: 'orders-api', jwksUrl })
        const verified = await verifier.verify(token)
        const refused = await verifier.verify(forgedToken).then(
          () => 'accepted',
          (error) => error.code + ': ' + error.detail,
        )
        return { sub: verified.sub, refused, hasProcess: typeof globalThis.process !== 'undefined' }
      })()`)
      expect(outcome).toEqual({
        sub: user.id,
        refused: 'invalid_token: bad signature',
        hasProcess: false,
      })
    } finally {
      await page.close()
    }
  })
})
