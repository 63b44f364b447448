import type { FastifyReply, FastifyRequest } from 'fastify'
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
import { withRevocations, type Closable, type NodeAuthOptions } from './node-options.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified access token's claims, set by `batonAuth`. */
    auth?: AccessTokenClaims
  }
}

/** An async `onRequest` or `preHandler` hook. */
export type AuthHook = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>

function send(reply: FastifyReply, failure: AuthFailure): FastifyReply {
  return reply.code(failure.status).headers(failure.headers).send(failure.body)
}

/**
 * An `onRequest` hook: add it to the routes or the encapsulated context to protect. Refuses
 * requests without a valid Baton access token; sets `request.auth` to its claims.
 */
export function batonAuth(options: NodeAuthOptions): AuthHook & Closable {
  const { options: verifierOptions, close } = withRevocations(options)
  const verifier = verifierOf(verifierOptions)
  const header = tokenHeaderName(verifierOptions.header)
  const hook = async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    try {
      request.auth = await authenticate(
        verifier,
        request.headers[header] as string | undefined,
        header,
      )
      return undefined
    } catch (error) {
      const failure = failureOf(error)
      if (failure === null) throw error
      return send(reply, failure)
    }
  }
  return Object.assign(hook, { close })
}

/** A `preHandler`: 403 `insufficient_scope` unless the token grants every one of `scopes`. */
export function requireScope(...scopes: string[]): AuthHook {
  return async (request, reply) => {
    const failure = scopeFailure(request.auth, scopes)
    return failure === null ? undefined : send(reply, failure)
  }
}

/** A `preHandler`: 403 `forbidden` unless the token holds at least one of `roles`. */
export function requireRole(...roles: string[]): AuthHook {
  return async (request, reply) => {
    const failure = roleFailure(request.auth, roles)
    return failure === null ? undefined : send(reply, failure)
  }
}

export type { AccessTokenClaims } from '../verifier.js'
export type { NodeAuthOptions } from './node-options.js'
