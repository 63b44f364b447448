import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { BatonError, RateLimitedError, type BatonErrorCode } from '../core/errors.js'
import {
  headerExample,
  insufficientScopeChallenge,
  invalidTokenChallenge,
} from '@baton-auth/verify/shared'
import { httpStatusOf, storeUnavailableRetryAfter } from './http-errors.js'
import type { ServerMetrics } from './metrics.js'

/** Marks a bearer route's missing token: RFC 6750 wants a bare `Bearer` challenge for it. */
export class MissingBearerTokenError extends BatonError {
  constructor(header = 'authorization') {
    super('invalid_token', `An access token is required (${headerExample(header)}).`)
    this.name = 'MissingBearerTokenError'
  }
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route authenticates with a bearer token: its 401s carry `WWW-Authenticate`. */
    bearer?: boolean
    /** Scopes that would let a token in: named in a 403 `insufficient_scope` challenge. */
    requiredScopes?: string[]
  }
}

interface ErrorBody {
  error: BatonErrorCode | 'server_error'
  message: string
}

/**
 * Every failure leaves as `{error, message}` with the status of `http-errors.ts`. Anything we
 * did not anticipate becomes 500 `server_error` with no detail for the client.
 */
export function installErrorHandler(app: FastifyInstance, metrics: ServerMetrics): void {
  app.setErrorHandler((error: FastifyError | Error, request, reply) => {
    const body = toErrorBody(error, request)
    const status = body.error === 'server_error' ? 500 : httpStatusOf[body.error]
    if (status >= 500 && body.error !== 'store_unavailable') {
      request.log.error({ err: error }, 'unhandled error')
    } else if (error instanceof BatonError) {
      request.log.info({ code: error.code, detail: error.detail }, 'request refused')
    }
    if (error instanceof RateLimitedError)
      reply.header('retry-after', String(error.retryAfterSeconds))
    if (body.error === 'store_unavailable') {
      request.log.warn({ detail: (error as BatonError).detail }, 'store unavailable')
      reply.header('retry-after', String(storeUnavailableRetryAfter))
    }
    // The challenge is about the access token: not a wrong password sent along with a valid one
    // (`/auth/password`'s `invalid_credentials`).
    if (
      status === 401 &&
      request.routeOptions.config.bearer === true &&
      body.error !== 'invalid_credentials'
    ) {
      reply.header(
        'www-authenticate',
        invalidTokenChallenge(error instanceof MissingBearerTokenError ? null : body.message),
      )
    }
    if (
      status === 403 &&
      body.error === 'insufficient_scope' &&
      request.routeOptions.config.bearer === true
    ) {
      const scopes = request.routeOptions.config.requiredScopes ?? []
      reply.header('www-authenticate', insufficientScopeChallenge(body.message, scopes))
    }
    return sendError(reply, status, body)
  })

  app.setNotFoundHandler((request, reply) => {
    // Not a route, so no per-route latency hook: count it here.
    metrics.observeRequest(request.method, undefined, 404, reply.elapsedTime)
    return sendError(reply, 404, {
      error: 'not_found',
      message: `No route ${request.method} ${request.url.split('?')[0] ?? ''}`,
    })
  })
}

/**
 * Fastify's `frameworkErrors`: what the router refuses before any route, hook or error handler
 * runs (a path parameter past `maxParamLength`, a path that cannot be percent-decoded), answered
 * in Baton's shape and with `Cache-Control: no-store` rather than in Fastify's own words.
 */
export function frameworkErrorHandler(
  metrics: ServerMetrics,
): (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => void {
  return (error, request, reply) => {
    const body = frameworkErrorBody(error)
    const status = body.error === 'server_error' ? 500 : httpStatusOf[body.error]
    if (status >= 500) request.log.error({ err: error }, 'unhandled error')
    else request.log.info({ code: error.code }, 'malformed request')
    // Not a route, so no per-route latency hook: count it here, as the not-found handler does.
    metrics.observeRequest(request.method, undefined, status, reply.elapsedTime)
    void sendError(reply, status, body)
  }
}

/** The longest path parameter the router takes (`routerOptions.maxParamLength`). */
export const maxParamLength = 2048

function frameworkErrorBody(error: FastifyError): ErrorBody {
  switch (error.code) {
    case 'FST_ERR_MAX_PARAM_LENGTH':
      // 400 like a parameter past its schema's limit (a 300-character session id), not a 414 of
      // its own: where the router's limit lies is no concern of the client's.
      return {
        error: 'invalid_request',
        message: `A path parameter is longer than ${maxParamLength} characters.`,
      }
    case 'FST_ERR_BAD_URL':
      return { error: 'invalid_request', message: 'The URL path is not valid.' }
  }
  const status = error.statusCode
  return typeof status === 'number' && status >= 400 && status < 500
    ? { error: 'invalid_request', message: 'The request is malformed.' }
    : { error: 'server_error', message: 'Internal server error.' }
}

function sendError(reply: FastifyReply, status: number, body: ErrorBody): FastifyReply {
  return reply.code(status).header('cache-control', 'no-store').send(body)
}

function toErrorBody(error: FastifyError | Error, request: FastifyRequest): ErrorBody {
  if (error instanceof BatonError) return { error: error.code, message: error.message }
  const fastifyError = error as FastifyError
  if (fastifyError.validation) {
    return { error: 'invalid_request', message: plainValidationMessage(fastifyError.validation) }
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { error: 'payload_too_large', message: 'The request body is larger than 16 KiB.' }
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { error: 'invalid_request', message: 'Content-Type must be application/json.' }
  }
  if (error instanceof SyntaxError || fastifyError.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return { error: 'invalid_request', message: 'The body is not valid JSON.' }
  }
  const status = fastifyError.statusCode
  if (typeof status === 'number' && status >= 400 && status < 500) {
    request.log.info({ code: fastifyError.code }, 'malformed request')
    return status === 413
      ? { error: 'payload_too_large', message: 'The request body is too large.' }
      : { error: 'invalid_request', message: 'The request is malformed.' }
  }
  return { error: 'server_error', message: 'Internal server error.' }
}

interface ValidationIssue {
  keyword: string
  instancePath: string
  params: Record<string, unknown>
}

/**
 * The first problem of a failed schema check, naming its field in plain words ("email must be a
 * string.") rather than in the schema engine's ("body/email must be string").
 */
export function plainValidationMessage(issues: readonly ValidationIssue[]): string {
  // A union's own summary ("must match a schema in anyOf") and its "or no body at all" branch
  // say nothing a person can act on; the member's own problem does.
  const issue =
    issues.find(
      (each) =>
        each.keyword !== 'anyOf' && !(each.keyword === 'type' && each.params['type'] === 'null'),
    ) ?? issues[0]
  if (issue === undefined) return 'The request is malformed.'
  const path = issue.instancePath.split('/').filter((part) => part !== '')
  const field = path.join('.')
  const missing = issue.params['missingProperty']
  if (issue.keyword === 'required' && typeof missing === 'string') {
    return `${field === '' ? '' : `${field}.`}${missing} is required.`
  }
  const extra = issue.params['additionalProperty']
  if (issue.keyword === 'additionalProperties' && typeof extra === 'string') {
    return `${field === '' ? '' : `${field}.`}${extra} is not a known field.`
  }
  if (field === '') {
    return issue.keyword === 'type'
      ? 'The body must be a JSON object.'
      : 'The request is malformed.'
  }
  const limit = issue.params['limit']
  switch (issue.keyword) {
    case 'type':
      return `${field} must be ${article(String(issue.params['type']))}.`
    case 'maxLength':
      return `${field} must be at most ${String(limit)} characters.`
    case 'minLength':
      return `${field} must be at least ${String(limit)} characters.`
    case 'maximum':
      return `${field} must be at most ${String(limit)}.`
    case 'minimum':
      return `${field} must be at least ${String(limit)}.`
    case 'maxItems':
      return `${field} must have at most ${String(limit)} entries.`
    case 'enum':
    case 'const': {
      const allowed = issue.params['allowedValues'] ?? [issue.params['allowedValue']]
      return `${field} must be one of: ${(allowed as unknown[]).map((value) => JSON.stringify(value)).join(', ')}.`
    }
    default:
      return `${field} is not valid.`
  }
}

function article(type: string): string {
  switch (type) {
    case 'integer':
      return 'an integer'
    case 'object':
      return 'an object'
    case 'array':
      return 'a list'
    case 'boolean':
      return 'true or false'
    default:
      return `a ${type}`
  }
}
