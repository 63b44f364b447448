/**
 * Codes of the errors the client raises itself, beside the API's own (`invalid_credentials`,
 * `refresh_token_reused`, `store_unavailable`, ... in docs/errors.md).
 */
export type ClientSideCode =
  /** The request never got an answer (offline, DNS, CORS refusal, aborted). `status` is 0. */
  | 'network_error'
  /** An answer that is not Baton's JSON (a proxy's error page, say). */
  | 'unexpected_response'

/**
 * A failed call. `code` is the API's error code (docs/errors.md) or one of `ClientSideCode`;
 * `status` the HTTP status, 0 when no answer came. `retryAfter` (seconds) is set when the
 * server said when to try again (429 `rate_limited`, 503 `store_unavailable`).
 */
export class BatonClientError extends Error {
  readonly code: string
  readonly status: number
  readonly retryAfter: number | undefined

  constructor(
    code: string,
    status: number,
    message: string,
    options: { retryAfter?: number | undefined; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'BatonClientError'
    this.code = code
    this.status = status
    this.retryAfter = options.retryAfter
  }
}

/**
 * Refresh answers after which the session cannot come back: the client forgets it. Anything
 * else (an outage, a rate limit, no network) leaves it in place, so an outage signs nobody out.
 */
export const sessionEndingCodes: ReadonlySet<string> = new Set([
  'invalid_token',
  'refresh_token_expired',
  'refresh_token_reused',
  'session_revoked',
  'login_required',
])

/** The error an answer carries; Baton's body is `{"error": code, "message": text}`. */
export async function errorOf(response: Response): Promise<BatonClientError> {
  const retryAfterHeader = response.headers.get('retry-after')
  const retryAfter =
    retryAfterHeader !== null && /^\d+$/.test(retryAfterHeader.trim())
      ? Number(retryAfterHeader)
      : undefined
  let body: unknown
  try {
    body = await response.json()
  } catch {
    body = undefined
  }
  if (isErrorBody(body)) {
    return new BatonClientError(body.error, response.status, body.message ?? body.error, {
      retryAfter,
    })
  }
  return new BatonClientError(
    'unexpected_response',
    response.status,
    `Unexpected answer from Baton: HTTP ${response.status}.`,
    { retryAfter },
  )
}

function isErrorBody(body: unknown): body is { error: string; message?: string } {
  if (typeof body !== 'object' || body === null) return false
  const { error, message } = body as Record<string, unknown>
  return typeof error === 'string' && (message === undefined || typeof message === 'string')
}
