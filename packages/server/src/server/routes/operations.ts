import type { FastifyPluginAsync } from 'fastify'
import type { Baton } from '../../core/baton.js'
import type { ServerMetrics } from '../metrics.js'
import type { OpenApiDocument } from '../openapi.js'
import { Health, Jwks, OpenApiDocumentShape, Readiness } from './schemas.js'

export interface OperationsRoutesOptions {
  baton: Baton
  metrics: ServerMetrics
  /** The OpenAPI document of every route, built when first asked. */
  openapi: () => OpenApiDocument
}

const publicCache = {
  'Cache-Control': { description: '`public, max-age=300`' },
  'Access-Control-Allow-Origin': { description: '`*`: public, and read by verifiers anywhere.' },
}

/** Public keys, the OpenAPI document, liveness, readiness and metrics. */
export const operationsRoutes: FastifyPluginAsync<OperationsRoutesOptions> = async (
  app,
  { baton, metrics, openapi },
) => {
  // Public keys, readable from any origin: a verifier in a browser or an edge worker on another
  // origin fetches them too. No credentials are involved, so `*` is safe here.
  app.get(
    '/.well-known/jwks.json',
    {
      config: {
        openapi: {
          tag: 'keys and discovery',
          summary: 'The public keys that verify access tokens (JWKS)',
          description:
            'Current, next and recently retired keys; a key is published before it signs anything.',
          responses: { 200: { description: 'JWK Set', schema: Jwks, headers: publicCache } },
        },
      },
    },
    async (_request, reply) =>
      reply
        .header('cache-control', 'public, max-age=300')
        .header('access-control-allow-origin', '*')
        .send(baton.keyring.jwks()),
  )

  // The same reasoning as the JWKS: a public description, fetched by tools on any origin.
  let document: string | undefined
  app.get(
    '/openapi.json',
    {
      config: {
        openapi: {
          tag: 'keys and discovery',
          summary: 'This OpenAPI 3.1 document',
          responses: {
            200: {
              description: 'OpenAPI 3.1, generated from the routes the server registers',
              schema: OpenApiDocumentShape,
              headers: publicCache,
            },
          },
        },
      },
    },
    async (_request, reply) => {
      document ??= JSON.stringify(openapi())
      return reply
        .header('content-type', 'application/json; charset=utf-8')
        .header('cache-control', 'public, max-age=300')
        .header('access-control-allow-origin', '*')
        .send(document)
    },
  )

  // Liveness says nothing about the stores: restarting a process does not fix a dead Redis.
  app.get(
    '/healthz',
    {
      config: {
        openapi: {
          tag: 'operations',
          summary: 'Liveness: 200 while the process runs, whatever the stores do',
          responses: { 200: { description: 'The process runs', schema: Health } },
        },
      },
    },
    async (_request, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' }),
  )

  app.get(
    '/readyz',
    {
      config: {
        openapi: {
          tag: 'operations',
          summary: 'Readiness: 200 when every store answers',
          responses: { 200: { description: 'Every store answers', schema: Readiness } },
          errors: ['store_unavailable'],
        },
      },
    },
    async (_request, reply) => {
      await baton.ready()
      return reply.header('cache-control', 'no-store').send({ status: 'ready' })
    },
  )

  app.get(
    '/metrics',
    {
      config: {
        openapi: {
          tag: 'operations',
          summary: 'Prometheus metrics',
          description: 'Public: bind the server to an internal address, or filter it at the proxy.',
          responses: {
            200: {
              description: 'Prometheus text exposition format',
              contentType: metrics.registry.contentType,
            },
          },
        },
      },
    },
    async (_request, reply) =>
      reply
        .header('content-type', metrics.registry.contentType)
        .header('cache-control', 'no-store')
        .send(await metrics.registry.metrics()),
  )
}
