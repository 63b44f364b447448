import { errorStatuses, type VerifyErrorCode } from './vocabulary.js'

export type { VerifyErrorCode }

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
    this.status = errorStatuses[code]
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
