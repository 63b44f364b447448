import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import express from 'express'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { batonAuth } from '@baton-auth/verify/express'
import type * as LoginRoute from '../../examples/server-held-tokens/app/api/login/route.js'
import type * as LogoutRoute from '../../examples/server-held-tokens/app/api/logout/route.js'
import type * as OrdersRoute from '../../examples/server-held-tokens/app/api/orders/route.js'
import { freePort } from '../helpers/ports.js'
import {
  createTestServer,
  strongPassword,
  uniqueEmail,
  type TestServer,
} from '../helpers/server.js'

// examples/server-held-tokens: Next.js App Router route handlers that hold Baton's pair on the
// server and call an API with X-AUTH-TOKEN (seed 001). Called as Next.js calls them, with Web
// Requests, against a real Baton and an orders API protected by @baton-auth/verify, on real
// time: one-second access tokens expire between two calls.

let baton: TestServer
let ordersApi: Server
let routes: { login: typeof LoginRoute; orders: typeof OrdersRoute; logout: typeof LogoutRoute }
let refreshes = 0

beforeAll(async () => {
  const port = await freePort()
  const batonUrl = `http://127.0.0.1:${port}`
  baton = await createTestServer({
    env: {
      BATON_ISSUER: batonUrl,
      BATON_ACCESS_TOKEN_HEADER: 'X-AUTH-TOKEN',
      BATON_ACCESS_TOKEN_TTL: '1s',
    },
    clock: { now: () => Date.now() } as TestServer['clock'],
  })
  baton.app.addHook('onResponse', async (request) => {
    if (request.url === '/auth/refresh') refreshes++
  })
  await baton.app.listen({ port, host: '127.0.0.1' })

  const app = express()
  const auth = batonAuth({
    issuer: batonUrl,
    audience: 'baton',
    jwksUrl: `${batonUrl}/.well-known/jwks.json`,
    header: 'X-AUTH-TOKEN',
    clockTolerance: 0,
  })
  app.get('/orders', auth, (request, response) => {
    response.json({ user: request.auth?.sub, orders: [] })
  })
  ordersApi = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening))
  })
  process.env['BATON_URL'] = batonUrl
  process.env['ORDERS_API_URL'] = `http://127.0.0.1:${(ordersApi.address() as AddressInfo).port}`
  routes = {
    login: await import('../../examples/server-held-tokens/app/api/login/route.js'),
    orders: await import('../../examples/server-held-tokens/app/api/orders/route.js'),
    logout: await import('../../examples/server-held-tokens/app/api/logout/route.js'),
  }
})

afterAll(async () => {
  await new Promise((resolve) => ordersApi?.close(resolve))
  await baton?.close()
})

const app = 'http://app.example'

it('signs in, calls the API with X-AUTH-TOKEN through an expiry, and signs out', async () => {
  const email = uniqueEmail()
  const signedUp = await fetch(`${process.env['BATON_URL']}/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: strongPassword }),
  })
  const userId = ((await signedUp.json()) as { user: { id: string } }).user.id

  const wrong = await routes.login.POST(
    new Request(`${app}/api/login`, {
      method: 'POST',
      body: JSON.stringify({ email, password: 'not the password' }),
    }),
  )
  expect(wrong.status).toBe(401)
  expect(await wrong.json()).toMatchObject({ error: 'invalid_credentials' })

  const login = await routes.login.POST(
    new Request(`${app}/api/login`, {
      method: 'POST',
      body: JSON.stringify({ email, password: strongPassword }),
    }),
  )
  expect(login.status).toBe(204)
  const setCookie = login.headers.get('set-cookie') ?? ''
  expect(setCookie).toMatch(/^app_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Lax; Secure$/)
  // The browser's only credential: this app's session id, no Baton token.
  const cookie = setCookie.split(';')[0] ?? ''

  const orders = () => routes.orders.GET(new Request(`${app}/api/orders`, { headers: { cookie } }))
  const first = await orders()
  expect(first.status).toBe(200)
  expect(await first.json()).toMatchObject({ orders: [] })
  expect(refreshes).toBe(0)

  await new Promise((resolve) => setTimeout(resolve, 1300))
  const afterExpiry = await orders()
  expect(afterExpiry.status).toBe(200)
  expect(refreshes).toBe(1)

  const logout = await routes.logout.POST(
    new Request(`${app}/api/logout`, { method: 'POST', headers: { cookie } }),
  )
  expect(logout.headers.get('set-cookie')).toContain('Max-Age=0')
  // Signed out at Baton too: of the user's sessions, only the signup's is left.
  const live = await baton.sessions.listForUser(userId, Date.now())
  expect(live.filter((session) => session.revokedAt === null)).toHaveLength(1)
  const signedOut = await orders()
  expect(signedOut.status).toBe(401)
  expect(await signedOut.json()).toEqual({ error: 'login_required' })
  const anonymous = await routes.orders.GET(new Request(`${app}/api/orders`))
  expect(anonymous.status).toBe(401)
})
