import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import express from 'express'
import Fastify from 'fastify'
import { Hono } from 'hono'
import * as expressAuth from '../../packages/verify/src/middleware/express.js'
import * as fastifyAuth from '../../packages/verify/src/middleware/fastify.js'
import * as honoAuth from '../../packages/verify/src/middleware/hono.js'
import type { NodeAuthOptions } from '../../packages/verify/src/middleware/node-options.js'

/**
 * The same small API in each framework: `/public` unprotected, `/me` behind the Baton
 * middleware, `/orders` also needing the `orders:read` scope, `/admin` also the `admin` role.
 * `/me` answers the claims the middleware put on the request.
 */
export interface RunningApp {
  url: string
  close(): Promise<void>
}

export type Framework = 'express' | 'fastify' | 'hono'
export const frameworks: Framework[] = ['express', 'fastify', 'hono']

export async function startApp(
  framework: Framework,
  options: NodeAuthOptions,
  protect = true,
): Promise<RunningApp> {
  switch (framework) {
    case 'express':
      return startExpress(options, protect)
    case 'fastify':
      return startFastify(options, protect)
    case 'hono':
      return startHono(options, protect)
  }
}

const hello = { hello: 'world' }

async function startExpress(options: NodeAuthOptions, protect: boolean): Promise<RunningApp> {
  const app = express()
  app.get('/public', (_request, response) => {
    response.json(hello)
  })
  const auth = expressAuth.batonAuth(options)
  const guard = protect ? [auth] : []
  app.get('/me', ...guard, (request, response) => {
    response.json(request.auth ?? hello)
  })
  app.get('/orders', ...guard, expressAuth.requireScope('orders:read'), (_request, response) => {
    response.json({ orders: [] })
  })
  app.get('/admin', ...guard, expressAuth.requireRole('admin'), (_request, response) => {
    response.json({ admin: true })
  })
  const server = createServer(app)
  return listen(server, () => auth.close())
}

async function startFastify(options: NodeAuthOptions, protect: boolean): Promise<RunningApp> {
  const app = Fastify()
  app.get('/public', async () => hello)
  const auth = fastifyAuth.batonAuth(options)
  await app.register(async (api) => {
    if (protect) api.addHook('onRequest', auth)
    api.get('/me', async (request) => request.auth ?? hello)
    api.get('/orders', { preHandler: fastifyAuth.requireScope('orders:read') }, async () => ({
      orders: [],
    }))
    api.get('/admin', { preHandler: fastifyAuth.requireRole('admin') }, async () => ({
      admin: true,
    }))
  })
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  return {
    url,
    async close() {
      await app.close()
      await auth.close()
    },
  }
}

async function startHono(options: NodeAuthOptions, protect: boolean): Promise<RunningApp> {
  const { revocationRedisUrl, ...edgeOptions } = options
  if (revocationRedisUrl !== undefined) throw new Error('the Hono app takes `revocations` instead')
  const app = new Hono<honoAuth.BatonEnv>()
  app.get('/public', (c) => c.json(hello))
  if (protect) {
    const auth = honoAuth.batonAuth(edgeOptions)
    for (const path of ['/me', '/orders', '/admin']) app.use(path, auth)
  }
  app.get('/me', (c) => c.json(c.get('auth') ?? hello))
  app.get('/orders', honoAuth.requireScope('orders:read'), (c) => c.json({ orders: [] }))
  app.get('/admin', honoAuth.requireRole('admin'), (c) => c.json({ admin: true }))
  const server = await new Promise<Server>((resolve) => {
    const started = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
      resolve(started as Server),
    )
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

function listen(server: Server, onClose: () => Promise<void>): Promise<RunningApp> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      resolve({
        url: `http://127.0.0.1:${port}`,
        async close() {
          await new Promise<void>((done) => server.close(() => done()))
          await onClose()
        },
      })
    })
  })
}
