import type { FastifyRequest } from 'fastify'
import type { Baton } from '../core/baton.js'
import type { AccessTokenClaims } from '../core/tokens/access-token.js'
import { BatonError } from '../core/errors.js'
import { MissingBearerTokenError } from './error-handler.js'

/**
 * The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1), if any. The scheme is
 * case-insensitive; the token's own syntax is left to verification, which refuses anything that
 * is not a compact JWS (a regex here cost as much as the whole cached verification).
 */
export function bearerTokenOf(request: FastifyRequest): string | null {
  const header = request.headers.authorization
  if (typeof header !== 'string' || header.length < 8) return null
  if (header.charCodeAt(6) !== 32 || header.slice(0, 6).toLowerCase() !== 'bearer') return null
  const token = header.slice(7).trim()
  return token === '' || token.includes(' ') ? null : token
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
