import { errorCodes, type ErrorCode } from '@baton-auth/verify/shared'

/**
 * Every failure a client may see carries one of these codes. They are API: never rename or
 * reuse one. They are defined once, with their HTTP statuses, in the verifier's vocabulary
 * (which the verifier's own codes are a subset of); the core uses the names only, the server
 * maps them to statuses (`server/http-errors.ts`).
 */
export type BatonErrorCode = ErrorCode

export const batonErrorCodes: readonly BatonErrorCode[] = errorCodes

export interface BatonErrorOptions {
  /** Operator-only context for logs. Never a token, hash or secret. */
  detail?: string
  cause?: unknown
}

/**
 * A runtime failure with a stable code and a message that is safe to show the client.
 * `detail` stays server-side (logs, events), like oidc-provider's `error_detail`.
 */
export class BatonError extends Error {
  readonly code: BatonErrorCode
  readonly detail: string | undefined

  constructor(code: BatonErrorCode, message: string, options: BatonErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'BatonError'
    this.code = code
    this.detail = options.detail
  }
}

export class RateLimitedError extends BatonError {
  readonly retryAfterSeconds: number

  constructor(retryAfterSeconds: number) {
    super('rate_limited', 'Too many attempts; try again later.')
    this.name = 'RateLimitedError'
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterSeconds))
  }
}

/** A store did not answer (down, timed out, locked). Never a reason to log anyone out. */
export class StoreUnavailableError extends BatonError {
  constructor(detail: string, cause?: unknown) {
    super('store_unavailable', 'A backing store is unavailable; try again shortly.', {
      detail,
      cause,
    })
    this.name = 'StoreUnavailableError'
  }
}

export class RefreshTokenReusedError extends BatonError {
  readonly sessionId: string

  constructor(sessionId: string) {
    super('refresh_token_reused', 'This refresh token was already used; the session is revoked.', {
      detail: `session ${sessionId}`,
    })
    this.name = 'RefreshTokenReusedError'
    this.sessionId = sessionId
  }
}

// Shared with the verifier, whose middleware options are settings too.
export { ConfigError } from '@baton-auth/verify/shared'

export function isBatonError(error: unknown): error is BatonError {
  return error instanceof BatonError
}
