import type { FastifyReply, FastifyRequest } from 'fastify'
import type { BatonConfig } from '../core/config/config.js'
import { BatonError } from '../core/errors.js'

export type DeliveryMode = 'cookie' | 'body'

/**
 * How the refresh token travels (docs/api.md "Delivery of the refresh token"): the
 * `Baton-Token-Delivery` header decides; without it, a request with an `Origin` is a browser's
 * (cookie) and one without is a native or server client's (body). A token that arrived in the
 * HttpOnly cookie also leaves in it: answering in the body would hand it to page scripts.
 */
export function deliveryModeOf(request: FastifyRequest, cameInCookie = false): DeliveryMode {
  const header = request.headers['baton-token-delivery']
  if (header === undefined)
    return request.headers.origin === undefined && !cameInCookie ? 'body' : 'cookie'
  const value = (Array.isArray(header) ? header[0] : header)?.trim().toLowerCase()
  if (value !== 'cookie' && value !== 'body') {
    throw new BatonError('invalid_request', 'Baton-Token-Delivery must be "cookie" or "body".')
  }
  // Whatever the header says: any script that can send a credentialed request from an allowed
  // origin could otherwise ask for the token the cookie keeps from it.
  return cameInCookie ? 'cookie' : value
}

export class RefreshCookie {
  readonly #config: BatonConfig
  readonly #trustedOrigins: Set<string>

  constructor(config: BatonConfig) {
    this.#config = config
    this.#trustedOrigins = new Set([new URL(config.issuer).origin, ...config.allowedOrigins])
  }

  read(request: FastifyRequest): string | undefined {
    const value = request.cookies[this.#config.cookieName]
    return value === undefined || value === '' ? undefined : value
  }

  set(reply: FastifyReply, token: string, maxAgeSeconds: number): void {
    reply.setCookie(this.#config.cookieName, token, {
      ...this.#attributes(),
      maxAge: maxAgeSeconds,
    })
  }

  clear(reply: FastifyReply): void {
    reply.setCookie(this.#config.cookieName, '', { ...this.#attributes(), maxAge: 0 })
  }

  /**
   * CSRF defence for cookie-authenticated requests: the browser's `Origin` (or, when a browser
   * leaves it out, the `Referer`'s origin) must be ours or an allowed one. SameSite=Strict is
   * the first line; this holds when a same-site sibling is compromised or SameSite is not
   * enforced.
   */
  assertSameOrigin(request: FastifyRequest): void {
    const origin = requestOrigin(request)
    if (origin === null || !this.#trustedOrigins.has(origin)) {
      throw new BatonError(
        'csrf_origin_mismatch',
        'The refresh cookie may only be used from an allowed origin.',
        { detail: `origin ${origin ?? 'missing'}` },
      )
    }
  }

  /**
   * Login CSRF: a page of another origin must not sign a browser in to an account of its
   * choosing. A sign-in answered into the cookie is refused when the browser says it comes from
   * an origin that is not ours or allowed; a request without `Origin` or `Referer` is no
   * browser's cross-origin request, and is let through.
   */
  assertNotForeign(request: FastifyRequest): void {
    // `Origin: null` is a browser's too: a sandboxed frame, a data: URL, a redirect chain.
    const origin = request.headers.origin === 'null' ? 'null' : requestOrigin(request)
    if (origin !== null && !this.#trustedOrigins.has(origin)) {
      throw new BatonError(
        'csrf_origin_mismatch',
        'Signing in from this origin is not allowed; BATON_ALLOWED_ORIGINS lists the origins that may.',
        { detail: `origin ${origin}` },
      )
    }
  }

  #attributes(): {
    httpOnly: true
    secure: boolean
    sameSite: 'strict'
    path: string
    domain?: string
  } {
    const attributes = {
      httpOnly: true as const,
      secure: this.#config.cookieSecure,
      sameSite: 'strict' as const,
      path: this.#config.cookiePath,
    }
    return this.#config.cookieDomain === null
      ? attributes
      : { ...attributes, domain: this.#config.cookieDomain }
  }
}

function requestOrigin(request: FastifyRequest): string | null {
  const origin = request.headers.origin
  if (typeof origin === 'string' && origin !== '')
    return origin === 'null' ? null : origin.toLowerCase()
  const referer = request.headers.referer
  if (typeof referer !== 'string' || referer === '') return null
  try {
    const url = new URL(referer)
    return url.origin === 'null' ? null : url.origin
  } catch {
    return null
  }
}
