import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify'
import { BatonError, RateLimitedError, type BatonErrorCode } from '../../core/errors.js'
import { httpStatusOf, storeUnavailableRetryAfter } from '../http-errors.js'
import { basicRealm, wantsBasicChallenge } from './client-auth.js'

/** RFC 6749 §5.2. */
interface OAuthErrorBody {
  error: BatonErrorCode | 'server_error'
  error_description: string
}

/**
 * What a refused grant is called on the wire. A standard client knows only RFC 6749's codes, so
 * every way a presented grant can be bad (wrong password, expired, reused or revoked refresh
 * token, another client's token) is `invalid_grant`, the reason in `error_description`. Codes
 * without an RFC 6749 equivalent keep Baton's: `rate_limited` (429, `Retry-After`) and
 * `store_unavailable` (503), which tell the client to retry rather than to sign in again.
 */
const grantCodes: Partial<Record<BatonErrorCode, BatonErrorCode>> = {
  invalid_credentials: 'invalid_grant',
  invalid_token: 'invalid_grant',
  refresh_token_expired: 'invalid_grant',
  refresh_token_reused: 'invalid_grant',
  session_revoked: 'invalid_grant',
  login_required: 'invalid_grant',
  account_disabled: 'invalid_grant',
  email_not_verified: 'invalid_grant',
}

const descriptions: Partial<Record<BatonErrorCode, string>> = {
  invalid_credentials: 'The username or password is incorrect.',
  invalid_token: 'The refresh token is invalid.',
}

/**
 * The `/oauth/*` error handler: `{error, error_description}` with the status of
 * `http-errors.ts`, `Cache-Control: no-store` and `Pragma: no-cache` on every answer.
 */
export function installOAuthErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | Error, request, reply) => {
    const { status, body } = toOAuthError(error, request)
    if (status >= 500 && body.error !== 'store_unavailable') {
      request.log.error({ err: error }, 'unhandled error')
    } else if (error instanceof BatonError) {
      request.log.info({ code: error.code, detail: error.detail }, 'request refused')
    }
    if (error instanceof RateLimitedError) {
      reply.header('retry-after', String(error.retryAfterSeconds))
    }
    if (body.error === 'store_unavailable') {
      request.log.warn({ detail: (error as BatonError).detail }, 'store unavailable')
      reply.header('retry-after', String(storeUnavailableRetryAfter))
    }
    if (status === 401 && wantsBasicChallenge(request)) reply.header('www-authenticate', basicRealm)
    return reply
      .code(status)
      .header('cache-control', 'no-store')
      .header('pragma', 'no-cache')
      .send(body)
  })
}

function toOAuthError(
  error: FastifyError | Error,
  request: FastifyRequest,
): { status: number; body: OAuthErrorBody } {
  if (error instanceof BatonError) {
    const code = grantCodes[error.code] ?? error.code
    return {
      status: httpStatusOf[code],
      body: {
        error: code,
        error_description: printable(descriptions[error.code] ?? error.message),
      },
    }
  }
  const fastifyError = error as FastifyError
  const malformed = (status: number, description: string) => ({
    status,
    body: { error: 'invalid_request' as const, error_description: description },
  })
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      // docs/api.md: 413 for an oversized body, whatever the route.
      return malformed(413, 'The body is larger than 16 KiB.')
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return malformed(400, 'Content-Type must be application/x-www-form-urlencoded.')
  }
  const status = fastifyError.statusCode
  if (typeof status === 'number' && status >= 400 && status < 500) {
    request.log.info({ code: fastifyError.code }, 'malformed request')
    return malformed(400, 'The request is malformed.')
  }
  return {
    status: 500,
    body: { error: 'server_error', error_description: 'Internal server error.' },
  }
}

/** RFC 6749 §5.2: `error_description` holds %x20-21 / %x23-5B / %x5D-7E only. */
function printable(text: string): string {
  return text.replace(/[^\x20-\x21\x23-\x5B\x5D-\x7E]/g, '')
}
