import type { FastifyPluginAsync } from 'fastify'
import type { Baton } from '../../core/baton.js'
import type { ServerMetrics } from '../metrics.js'

export interface OperationsRoutesOptions {
  baton: Baton
  metrics: ServerMetrics
}

/** Public keys, liveness, readiness and metrics. */
export const operationsRoutes: FastifyPluginAsync<OperationsRoutesOptions> = async (
  app,
  { baton, metrics },
) => {
  // Public keys, readable from any origin: a verifier in a browser or an edge worker on another
  // origin fetches them too. No credentials are involved, so `*` is safe here.
  app.get('/.well-known/jwks.json', async (_request, reply) =>
    reply
      .header('cache-control', 'public, max-age=300')
      .header('access-control-allow-origin', '*')
      .send(baton.keyring.jwks()),
  )

  // Liveness says nothing about the stores: restarting a process does not fix a dead Redis.
  app.get('/healthz', async (_request, reply) =>
    reply.header('cache-control', 'no-store').send({ status: 'ok' }),
  )

  app.get('/readyz', async (_request, reply) => {
    await baton.ready()
    return reply.header('cache-control', 'no-store').send({ status: 'ready' })
  })

  app.get('/metrics', async (_request, reply) =>
    reply
      .header('content-type', metrics.registry.contentType)
      .header('cache-control', 'no-store')
      .send(await metrics.registry.metrics()),
  )
}
