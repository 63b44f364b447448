import { readFileSync } from 'node:fs'
import type { TSchema } from '@sinclair/typebox'
import type { FastifyInstance, FastifySchema, RouteOptions } from 'fastify'
import type { BatonConfig } from '../core/config/config.js'
import type { BatonErrorCode } from '../core/errors.js'
import { httpStatusOf, storeUnavailableRetryAfter } from './http-errors.js'
import { ErrorBody, namedSchemas, OAuthErrorBody } from './routes/schemas.js'

/** The security schemes of `/openapi.json`, by name. */
export type SecurityScheme = 'bearer' | 'refreshCookie' | 'clientBasic' | 'introspectionBasic'

export interface ResponseDoc {
  description: string
  /** The body, when the route does not give Fastify a response schema for this status. */
  schema?: TSchema
  /** Defaults to `application/json` when there is a schema. */
  contentType?: string
  headers?: Record<string, { description: string; schema?: TSchema | { type: string } }>
}

/**
 * What `/openapi.json` says about a route beyond the schemas Fastify enforces (`params`, `body`,
 * `response`), which it reads from the route itself.
 */
export interface RouteDoc {
  summary: string
  description?: string
  tag: 'auth' | 'admin' | 'oauth' | 'keys and discovery' | 'operations'
  /**
   * Alternatives, any one of which is enough; an empty list entry means "without credentials".
   * Leave out for a public route.
   */
  security?: SecurityScheme[][]
  /** Request headers the route reads (`Baton-Token-Delivery`). */
  headers?: { name: string; description: string; schema: TSchema }[]
  /** An `application/x-www-form-urlencoded` body, read by the route rather than by Fastify. */
  form?: TSchema
  responses: Record<number, ResponseDoc>
  /** The error codes the route answers with; grouped by their status (`http-errors.ts`). */
  errors?: readonly BatonErrorCode[]
  /** `/oauth/*` answer errors as `{error, error_description}`. */
  oauthErrors?: true
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's entry in `/openapi.json`; a route without one fails the document's build. */
    openapi?: RouteDoc
    /** An HTML account page or its asset (BATON_ACCOUNT_PAGES): not API, not listed. */
    accountPage?: true
  }
}

interface CollectedRoute {
  method: string
  url: string
  schema: FastifySchema | undefined
  doc: RouteDoc | undefined
  accountPage: boolean
}

export type OpenApiDocument = Record<string, unknown> & {
  paths: Record<string, Record<string, unknown>>
}

/**
 * Collects every route as it is registered (install before any route) and builds the OpenAPI 3.1
 * document from them when first asked: nothing is spent at start-up, and the document cannot
 * list a route the server does not have or miss one it has.
 */
export function collectRoutes(app: FastifyInstance): () => CollectedRoute[] {
  const routes: CollectedRoute[] = []
  app.addHook('onRoute', (route: RouteOptions) => {
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) {
      routes.push({
        method: method.toUpperCase(),
        url: route.url,
        schema: route.schema,
        doc: route.config?.openapi,
        accountPage: route.config?.accountPage === true,
      })
    }
  })
  return () => routes
}

/**
 * Routes the document leaves out on purpose, said in its `info.description` too: the `HEAD`
 * twin Fastify adds to every `GET`, and `@fastify/cors`' preflight catch-all.
 */
function isUnlisted(route: CollectedRoute, all: readonly CollectedRoute[]): boolean {
  if (route.accountPage) return true
  if (route.method === 'HEAD') return all.some((r) => r.method === 'GET' && r.url === route.url)
  return route.method === 'OPTIONS' && route.url === '*'
}

export function buildOpenApiDocument(
  routes: readonly CollectedRoute[],
  config: BatonConfig,
  version: string,
): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {}
  for (const route of routes) {
    if (isUnlisted(route, routes)) continue
    if (route.doc === undefined) {
      // A route without documentation is a bug of this repository: fail loudly in the tests.
      throw new Error(`route ${route.method} ${route.url} has no config.openapi`)
    }
    const path = route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')
    paths[path] ??= {}
    paths[path][route.method.toLowerCase()] = operationOf(route, route.doc)
  }
  const document = {
    openapi: '3.1.0',
    info: {
      title: 'Baton',
      version,
      summary: 'Short-lived JWT access tokens and rotating refresh tokens with reuse detection.',
      description: [
        'Generated from the routes the server registers. docs/api.md in the repository is the',
        'contract in prose: token formats, rotation, reuse detection and delivery rules.',
        'Every `GET` also answers `HEAD` (not listed). With `BATON_ALLOWED_ORIGINS` set, CORS',
        'preflight requests (`OPTIONS`) are answered for those origins (not listed), and the',
        'account pages (`BATON_ACCOUNT_PAGES`) are HTML, not API (not listed). Any other',
        'path answers 404 `not_found`, a request body over 16 KiB 413, and a bug 500',
        '`server_error` without detail.',
      ].join(' '),
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: config.issuer }],
    tags: [
      {
        name: 'auth',
        description:
          'Sign-up, sign-in, refresh, sign-out, sessions, password change and reset, email ' +
          'verification (JSON).',
      },
      {
        name: 'admin',
        description: 'Users, roles, sessions and the audit log, for the admin role or scope.',
      },
      { name: 'oauth', description: 'OAuth 2.0: forms in, RFC-shaped JSON out.' },
      { name: 'keys and discovery', description: 'Public keys and metadata.' },
      { name: 'operations', description: 'Liveness, readiness, metrics.' },
    ],
    paths,
    components: {
      schemas: Object.fromEntries(
        Object.entries(namedSchemas).map(([name, schema]) => [name, jsonSchemaOf(schema, name)]),
      ),
      securitySchemes: {
        bearer:
          config.accessTokenHeader === 'authorization'
            ? {
                type: 'http',
                scheme: 'bearer',
                bearerFormat: 'JWT',
                description:
                  'An access token (`typ: at+jwt`). A refresh token is never accepted here.',
              }
            : {
                type: 'apiKey',
                in: 'header',
                name: config.accessTokenHeader,
                description:
                  'An access token (`typ: at+jwt`), bare (`BATON_ACCESS_TOKEN_HEADER`). A refresh ' +
                  'token is never accepted here.',
              },
        refreshCookie: {
          type: 'apiKey',
          in: 'cookie',
          name: config.cookieName,
          description:
            'The refresh token, set by cookie-mode responses (HttpOnly, Secure, SameSite=Strict, ' +
            `Path=${config.cookiePath}). Requests using it must carry an allowed Origin or Referer.`,
        },
        clientBasic: {
          type: 'http',
          scheme: 'basic',
          description:
            'client_secret_basic: the client id and secret, each form-urlencoded (RFC 6749 ' +
            '§2.3.1). Public clients send `client_id` in the form instead; confidential ones may ' +
            'send `client_id` and `client_secret` in the form (client_secret_post).',
        },
        introspectionBasic: {
          type: 'http',
          scheme: 'basic',
          description: 'An entry of BATON_INTROSPECTION_CREDENTIALS.',
        },
      },
    },
  }
  return document
}

function operationOf(route: CollectedRoute, doc: RouteDoc): Record<string, unknown> {
  const operation: Record<string, unknown> = {
    tags: [doc.tag],
    summary: doc.summary,
    ...(doc.description === undefined ? {} : { description: doc.description }),
    operationId: operationIdOf(route),
  }
  const parameters = [
    ...parametersOf(route.schema?.params, 'path'),
    ...parametersOf(route.schema?.querystring, 'query'),
    ...(doc.headers ?? []).map((header) => ({
      name: header.name,
      in: 'header',
      description: header.description,
      schema: jsonSchemaOf(header.schema),
    })),
  ]
  if (parameters.length > 0) operation['parameters'] = parameters
  const body = route.schema?.body as TSchema | undefined
  if (body !== undefined) {
    operation['requestBody'] = {
      required: !acceptsNull(body),
      content: { 'application/json': { schema: jsonSchemaOf(body) } },
    }
  } else if (doc.form !== undefined) {
    operation['requestBody'] = {
      required: true,
      content: { 'application/x-www-form-urlencoded': { schema: jsonSchemaOf(doc.form) } },
    }
  }
  operation['responses'] = { ...successResponsesOf(route, doc), ...errorResponsesOf(doc) }
  operation['security'] =
    doc.security === undefined
      ? []
      : doc.security.map((alternative) =>
          Object.fromEntries(alternative.map((scheme) => [scheme, []])),
        )
  return operation
}

function successResponsesOf(route: CollectedRoute, doc: RouteDoc): Record<string, unknown> {
  const enforced = (route.schema?.response ?? {}) as Record<string, TSchema>
  const responses: Record<string, unknown> = {}
  for (const [status, response] of Object.entries(doc.responses)) {
    const schema = enforced[status] ?? response.schema
    const contentType =
      response.contentType ?? (schema === undefined ? undefined : 'application/json')
    responses[status] = {
      description: response.description,
      ...(response.headers === undefined
        ? {}
        : {
            headers: Object.fromEntries(
              Object.entries(response.headers).map(([name, header]) => [
                name,
                {
                  description: header.description,
                  schema: jsonSchemaOf((header.schema ?? { type: 'string' }) as TSchema),
                },
              ]),
            ),
          }),
      ...(contentType === undefined
        ? {}
        : { content: { [contentType]: { schema: jsonSchemaOf(schema ?? { type: 'string' }) } } }),
    }
  }
  return responses
}

/** One response per status, its `error` narrowed to the codes the route answers with it. */
function errorResponsesOf(doc: RouteDoc): Record<string, unknown> {
  const byStatus = new Map<number, BatonErrorCode[]>()
  for (const code of doc.errors ?? []) {
    const status = httpStatusOf[code]
    byStatus.set(status, [...(byStatus.get(status) ?? []), code])
  }
  const body = doc.oauthErrors ? OAuthErrorBody : ErrorBody
  const responses: Record<string, unknown> = {}
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    const headers: Record<string, unknown> = {}
    if (status === 429 || status === 503) {
      headers['Retry-After'] = {
        description:
          status === 503 ? `Seconds; ${storeUnavailableRetryAfter}.` : 'Seconds to wait.',
        schema: { type: 'integer' },
      }
    }
    if (status === 401 && challenges(doc)) {
      headers['WWW-Authenticate'] = {
        description: doc.oauthErrors
          ? '`Basic realm="baton"` when the client used the Authorization header (always on introspection).'
          : 'RFC 6750 §3: `Bearer error="invalid_token", error_description="..."`, or a bare `Bearer` without a token.',
        schema: { type: 'string' },
      }
    }
    responses[String(status)] = {
      description: codes.map((code) => `\`${code}\``).join(', '),
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
      content: {
        'application/json': {
          schema: {
            allOf: [{ $ref: refOf(body) }],
            properties: { error: { enum: codes } },
          },
        },
      },
    }
  }
  return responses
}

/**
 * Whether the route's 401 carries `WWW-Authenticate`: bearer-only routes always (RFC 6750), and
 * `/oauth/*` when the client used HTTP Basic.
 */
function challenges(doc: RouteDoc): boolean {
  const alternatives = doc.security ?? []
  if (doc.oauthErrors) return alternatives.some((alternative) => alternative.some(isBasic))
  return (
    alternatives.length > 0 && alternatives.every((alternative) => alternative.includes('bearer'))
  )
}

const isBasic = (scheme: SecurityScheme): boolean =>
  scheme === 'clientBasic' || scheme === 'introspectionBasic'

function operationIdOf(route: CollectedRoute): string {
  const words = route.url
    .split(/[^A-Za-z0-9]+/)
    .filter((word) => word !== '')
    .map((word) => word[0]?.toUpperCase() + word.slice(1))
  return route.method.toLowerCase() + words.join('')
}

function parametersOf(schema: unknown, location: 'path' | 'query'): Record<string, unknown>[] {
  if (schema === undefined || schema === null) return []
  const object = schema as { properties?: Record<string, TSchema>; required?: string[] }
  return Object.entries(object.properties ?? {}).map(([name, property]) => ({
    name,
    in: location,
    required: location === 'path' || (object.required ?? []).includes(name),
    schema: jsonSchemaOf(property),
  }))
}

function acceptsNull(schema: TSchema): boolean {
  const { anyOf } = schema as { anyOf?: { type?: string }[] }
  return schema['type'] === 'null' || (anyOf ?? []).some((member) => member.type === 'null')
}

const nameOf = new Map<unknown, string>(
  Object.entries(namedSchemas).map(([name, schema]) => [schema, name]),
)

function refOf(schema: TSchema): string {
  const name = nameOf.get(schema)
  if (name === undefined) throw new Error('not a named schema')
  return `#/components/schemas/${name}`
}

/**
 * A TypeBox schema as plain JSON Schema 2020-12 (the dialect of OpenAPI 3.1): TypeBox's symbol
 * keys dropped, named schemas replaced by a `$ref` (except at the root of their own definition).
 */
function jsonSchemaOf(schema: TSchema | { type: string }, definingName?: string): unknown {
  const name = nameOf.get(schema)
  if (name !== undefined && name !== definingName) return { $ref: `#/components/schemas/${name}` }
  if (Array.isArray(schema)) {
    return schema.map((item: unknown) =>
      typeof item === 'object' && item !== null ? jsonSchemaOf(item as TSchema) : item,
    )
  }
  const plain: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(schema)) {
    plain[key] =
      typeof value === 'object' && value !== null ? jsonSchemaOf(value as TSchema) : value
  }
  return plain
}

let packageVersion: string | undefined
/** `@baton-auth/server`'s version, read once when the document is first built. */
export function serverVersion(): string {
  packageVersion ??= (
    JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string
    }
  ).version
  return packageVersion
}
