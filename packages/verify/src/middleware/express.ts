import type { NextFunction, Request, RequestHandler, Response } from 'express'
import type { AccessTokenClaims } from '../verifier.js'
import {
  authenticate,
  failureOf,
  roleFailure,
  scopeFailure,
  tokenHeaderName,
  verifierOf,
  type AuthFailure,
} from './bearer-challenge.js'
import { withRevocations, type NodeAuthOptions, type Closable } from './node-options.js'

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The verified access token's claims, set by `batonAuth`. */
      auth?: AccessTokenClaims
    }
  }
}

function send(response: Response, failure: AuthFailure): void {
  response.status(failure.status).set(failure.headers).json(failure.body)
}

/** Refuses requests without a valid Baton access token; sets `req.auth` to its claims. */
export function batonAuth(options: NodeAuthOptions): RequestHandler & Closable {
  const { options: verifierOptions, close } = withRevocations(options)
  const verifier = verifierOf(verifierOptions)
  const header = tokenHeaderName(verifierOptions.header)
  const handler = (request: Request, response: Response, next: NextFunction): void => {
    authenticate(verifier, request.headers[header] as string | undefined, header).then(
      (claims) => {
        request.auth = claims
        next()
      },
      (error: unknown) => {
        const failure = failureOf(error)
        if (failure === null) next(error)
        else send(response, failure)
      },
    )
  }
  return Object.assign(handler, { close })
}

/** 403 `insufficient_scope` unless the token grants every one of `scopes`. */
export function requireScope(...scopes: string[]): RequestHandler {
  return (request, response, next) => {
    const failure = scopeFailure(request.auth, scopes)
    if (failure === null) next()
    else send(response, failure)
  }
}

/** 403 `forbidden` unless the token holds at least one of `roles`. */
export function requireRole(...roles: string[]): RequestHandler {
  return (request, response, next) => {
    const failure = roleFailure(request.auth, roles)
    if (failure === null) next()
    else send(response, failure)
  }
}

export type { AccessTokenClaims } from '../verifier.js'
export type { NodeAuthOptions } from './node-options.js'
