// One framework's app with the same route unprotected and behind Baton's middleware.
// Usage: MW_FRAMEWORK=express|fastify|hono MW_PORT=<port> MW_JWKS=<json> MW_ISSUER=… MW_AUDIENCE=… node bench/middleware-server.js
import { createServer } from 'node:http'
import process from 'node:process'
import { serve } from '@hono/node-server'
import express from 'express'
import Fastify from 'fastify'
import { Hono } from 'hono'
import * as expressAuth from '../packages/verify/dist/middleware/express.js'
import * as fastifyAuth from '../packages/verify/dist/middleware/fastify.js'
import * as honoAuth from '../packages/verify/dist/middleware/hono.js'

const framework = process.env.MW_FRAMEWORK
const port = Number(process.env.MW_PORT)
const options = {
  issuer: process.env.MW_ISSUER,
  audience: process.env.MW_AUDIENCE,
  jwks: JSON.parse(process.env.MW_JWKS),
}
// Both routes answer the same small body, so only the middleware differs.
const anonymous = { sub: 'anonymous', ok: true }

let close
if (framework === 'express') {
  const app = express()
  app.get('/healthz', (_request, response) => response.json({ status: 'ok' }))
  app.get('/open', (_request, response) => response.json(anonymous))
  app.get('/protected', expressAuth.batonAuth(options), (request, response) =>
    response.json({ sub: request.auth.sub, ok: true }),
  )
  const server = createServer(app).listen(port, '127.0.0.1')
  close = () => server.close()
} else if (framework === 'fastify') {
  const app = Fastify({ logger: false })
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/open', async () => anonymous)
  const auth = fastifyAuth.batonAuth(options)
  app.get('/protected', { onRequest: auth }, async (request) => ({
    sub: request.auth.sub,
    ok: true,
  }))
  await app.listen({ port, host: '127.0.0.1' })
  close = () => app.close()
} else if (framework === 'hono') {
  const app = new Hono()
  app.get('/healthz', (c) => c.json({ status: 'ok' }))
  app.get('/open', (c) => c.json(anonymous))
  app.get('/protected', honoAuth.batonAuth(options), (c) =>
    c.json({ sub: c.get('auth').sub, ok: true }),
  )
  const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' })
  close = () => server.close()
} else {
  throw new Error(`MW_FRAMEWORK must be express, fastify or hono, not ${framework}`)
}

const shutdown = () => {
  Promise.resolve(close()).then(
    () => process.exit(0),
    () => process.exit(1),
  )
}
process.once('SIGTERM', shutdown)
process.once('SIGINT', shutdown)
