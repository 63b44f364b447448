import type { FastifyRequest } from 'fastify'
import type { Baton } from '../core/baton.js'
import type { AccessTokenClaims } from '../core/tokens/access-token.js'
import { BatonError } from '../core/errors.js'
import { MissingBearerTokenError } from './error-handler.js'

/** The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1), if any. */
export function bearerTokenOf(request: FastifyRequest): string | null {
  const header = request.headers.authorization
  if (typeof header !== 'string') return null
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header)
  return match?.[1] ?? null
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
