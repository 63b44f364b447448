/** The docs/api.md error codes a resource server can answer with. */
export type VerifyErrorCode =
  | 'invalid_token'
  | 'access_token_expired'
  | 'session_revoked'
  | 'insufficient_scope'
  | 'forbidden'
  | 'store_unavailable'

const statusOf: Record<VerifyErrorCode, number> = {
  invalid_token: 401,
  access_token_expired: 401,
  session_revoked: 401,
  insufficient_scope: 403,
  forbidden: 403,
  store_unavailable: 503,
}

/**
 * Why a token was refused. `message` is safe to send to the client; `detail` is for the
 * operator's logs only (it may say which check failed, which helps an attacker probe).
 */
export class VerifyError extends Error {
  readonly code: VerifyErrorCode
  readonly status: number
  readonly detail: string | undefined

  constructor(code: VerifyErrorCode, message: string, detail?: string) {
    super(message)
    this.name = 'VerifyError'
    this.code = code
    this.status = statusOf[code]
    this.detail = detail
  }
}

export const invalidToken = (detail: string): VerifyError =>
  new VerifyError('invalid_token', 'The access token is invalid.', detail)

/** A bad setting found at start-up. `variable` names the environment variable or option. */
export class ConfigError extends Error {
  readonly variable: string

  constructor(variable: string, message: string) {
    super(`${variable}: ${message}`)
    this.name = 'ConfigError'
    this.variable = variable
  }
}
