import type { FastifyRequest } from 'fastify'
import type { Baton } from '../core/baton.js'
import type { AccessTokenClaims } from '../core/tokens/access-token.js'
import { BatonError } from '../core/errors.js'
import { bearerTokenOf as tokenOfHeader } from '@baton-auth/verify/shared'
import { MissingBearerTokenError } from './error-handler.js'

/** The request's `Authorization: Bearer` token, if any (the rule the middleware uses too). */
export function bearerTokenOf(request: FastifyRequest): string | null {
  return tokenOfHeader(request.headers.authorization)
}

/** Authenticates a bearer route; the token's claims, or a 401 with an RFC 6750 challenge. */
export async function requireBearer(
  baton: Baton,
  request: FastifyRequest,
): Promise<AccessTokenClaims> {
  const token = bearerTokenOf(request)
  if (token === null) {
    if (request.headers.authorization === undefined) throw new MissingBearerTokenError()
    // Present but not a bearer token: an error, not a missing credential.
    throw new BatonError('invalid_token', 'The Authorization header must be "Bearer <token>".')
  }
  return baton.authenticate(token)
}
