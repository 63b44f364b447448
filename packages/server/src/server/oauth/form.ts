import type { FastifyRequest } from 'fastify'
import { BatonError } from '../../core/errors.js'

/**
 * The parameters of an `application/x-www-form-urlencoded` body (RFC 6749 appendix B), every
 * value of each, so that a repeated parameter can be refused rather than silently resolved.
 */
export type FormParameters = ReadonlyMap<string, readonly string[]>

export function parseForm(text: string): FormParameters {
  const parameters = new Map<string, string[]>()
  for (const [name, value] of new URLSearchParams(text)) {
    // RFC 6749 §3.2: a parameter sent without a value is treated as omitted.
    if (value === '') continue
    const values = parameters.get(name)
    if (values === undefined) parameters.set(name, [value])
    else values.push(value)
  }
  return parameters
}

/** An OAuth request's form parameters, each at most once. */
export class OAuthForm {
  readonly #parameters: FormParameters

  constructor(parameters: FormParameters) {
    for (const [name, values] of parameters) {
      if (values.length > 1) {
        // RFC 6749 §3.2: request parameters MUST NOT be included more than once.
        throw invalidRequest(`The parameter ${printable(name)} is repeated.`)
      }
    }
    this.#parameters = parameters
  }

  optional(name: string): string | undefined {
    return this.#parameters.get(name)?.[0]
  }

  required(name: string): string {
    const value = this.optional(name)
    if (value === undefined) throw invalidRequest(`The parameter ${name} is missing.`)
    return value
  }
}

/** The form of a request whose body the form parser read; an empty one when it had no body. */
export function formOf(request: FastifyRequest): OAuthForm {
  return new OAuthForm(request.body instanceof Map ? (request.body as FormParameters) : new Map())
}

export function invalidRequest(message: string): BatonError {
  return new BatonError('invalid_request', message)
}

/** A client-chosen name, safe to echo in `error_description` (and never long). */
function printable(name: string): string {
  const safe = name.replace(/[^\x20-\x21\x23-\x5B\x5D-\x7E]/g, '?')
  return safe.length > 64 ? `${safe.slice(0, 64)}...` : safe
}
