import type { BatonErrorCode } from '../core/errors.js'

/** The one place an error code becomes an HTTP status (docs/api.md "Error codes"). */
export const httpStatusOf: Record<BatonErrorCode, number> = {
  invalid_request: 400,
  weak_password: 400,
  invalid_credentials: 401,
  invalid_token: 401,
  access_token_expired: 401,
  refresh_token_expired: 401,
  refresh_token_reused: 401,
  session_revoked: 401,
  login_required: 401,
  csrf_origin_mismatch: 403,
  insufficient_scope: 403,
  forbidden: 403,
  not_found: 404,
  email_taken: 409,
  payload_too_large: 413,
  rate_limited: 429,
  store_unavailable: 503,
  invalid_client: 401,
  invalid_grant: 400,
  invalid_scope: 400,
  unsupported_grant_type: 400,
}

/** Seconds a client should wait after a 503 before retrying. */
export const storeUnavailableRetryAfter = 1
