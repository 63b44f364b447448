// Baseline: a bare Fastify 5 app, same framework and Node as Baton, doing no work at all.
// Usage: BARE_PORT=<port> node bench/bare-server.js
import process from 'node:process'
import Fastify from 'fastify'

const app = Fastify({ logger: false })

app.get('/bare', async () => ({ ok: true }))

// The POST baseline parses a small JSON body and echoes it, as /auth/refresh has to parse one.
app.post('/bare', async (request) => ({ ok: true, echo: request.body }))

app.get('/healthz', async () => ({ status: 'ok' }))

const port = Number(process.env.BARE_PORT ?? 0)
await app.listen({ host: '127.0.0.1', port })

const shutdown = () => {
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  )
}
process.once('SIGTERM', shutdown)
process.once('SIGINT', shutdown)
