import type { Context, MiddlewareHandler } from 'hono'
import type { AccessTokenClaims } from '../verifier.js'
import {
  authenticate,
  failureOf,
  roleFailure,
  scopeFailure,
  tokenHeaderName,
  verifierOf,
  type AuthFailure,
  type AuthOptions,
} from './bearer-challenge.js'

/** `c.get('auth')` holds the verified access token's claims. */
export interface BatonEnv {
  Variables: { auth: AccessTokenClaims }
}

function send(c: Context, failure: AuthFailure): Response {
  return c.json(failure.body, failure.status as 401, failure.headers)
}

/**
 * Refuses requests without a valid Baton access token; sets `auth` to its claims. Edge-safe:
 * for immediate revocation, pass `revocations` (on Node, from `@baton-auth/verify/revocations`).
 */
export function batonAuth(options: AuthOptions): MiddlewareHandler<BatonEnv> {
  const verifier = verifierOf(options)
  const header = tokenHeaderName(options.header)
  return async (c, next) => {
    let claims: AccessTokenClaims
    try {
      claims = await authenticate(verifier, c.req.header(header), header)
    } catch (error) {
      const failure = failureOf(error)
      if (failure === null) throw error
      return send(c, failure)
    }
    c.set('auth', claims)
    await next()
    return undefined
  }
}

/** 403 `insufficient_scope` unless the token grants every one of `scopes`. */
export function requireScope(...scopes: string[]): MiddlewareHandler<BatonEnv> {
  return async (c, next) => {
    const failure = scopeFailure(c.get('auth'), scopes)
    if (failure !== null) return send(c, failure)
    await next()
    return undefined
  }
}

/** 403 `forbidden` unless the token holds at least one of `roles`. */
export function requireRole(...roles: string[]): MiddlewareHandler<BatonEnv> {
  return async (c, next) => {
    const failure = roleFailure(c.get('auth'), roles)
    if (failure !== null) return send(c, failure)
    await next()
    return undefined
  }
}

export type { AccessTokenClaims } from '../verifier.js'
export type { AuthOptions } from './bearer-challenge.js'
