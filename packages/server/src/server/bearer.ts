import type { FastifyRequest } from 'fastify'
import type { Baton } from '../core/baton.js'
import type { AccessTokenClaims } from '../core/tokens/access-token.js'
import { BatonError } from '../core/errors.js'
import { malformedTokenHeader, tokenOfHeader } from '@baton-auth/verify/shared'
import { MissingBearerTokenError } from './error-handler.js'

/**
 * The request's access token, if any: from `Authorization: Bearer <token>`, or the bare token of
 * the configured header (`BATON_ACCESS_TOKEN_HEADER`), by the rule the middleware uses too.
 */
export function bearerTokenOf(request: FastifyRequest, header: string): string | null {
  return tokenOfHeader(header, headerValue(request, header))
}

function headerValue(request: FastifyRequest, header: string): string | undefined {
  const value = request.headers[header]
  return Array.isArray(value) ? value.join(', ') : value
}

/** Authenticates a bearer route; the token's claims, or a 401 with an RFC 6750 challenge. */
export async function requireBearer(
  baton: Baton,
  request: FastifyRequest,
  header: string,
): Promise<AccessTokenClaims> {
  const token = bearerTokenOf(request, header)
  if (token === null) {
    if (headerValue(request, header) === undefined) throw new MissingBearerTokenError(header)
    // Present but not in the expected form: an error, not a missing credential.
    throw new BatonError('invalid_token', malformedTokenHeader(header))
  }
  return baton.authenticate(token)
}
