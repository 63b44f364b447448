import type { FastifyReply } from 'fastify'
import type { IssuedTokens } from '../../core/sessions/session-service.js'
import type { DeliveryMode, RefreshCookie } from '../refresh-delivery.js'
import type { TokenResponse } from './schemas.js'

/** docs/api.md `TokenResponse`; in cookie mode the refresh token goes only into the cookie. */
export function sendTokens(
  reply: FastifyReply,
  status: 200 | 201,
  tokens: IssuedTokens,
  mode: DeliveryMode,
  cookie: RefreshCookie,
): FastifyReply {
  const body: TokenResponse = {
    accessToken: tokens.accessToken,
    tokenType: 'Bearer',
    expiresIn: tokens.expiresIn,
    ...(mode === 'body' ? { refreshToken: tokens.refreshToken } : {}),
    refreshExpiresIn: tokens.refreshExpiresIn,
    sessionId: tokens.session.id,
    user: { id: tokens.user.id, email: tokens.user.email, roles: tokens.user.roles },
  }
  if (mode === 'cookie') cookie.set(reply, tokens.refreshToken, tokens.refreshExpiresIn)
  return reply
    .code(status)
    .header('cache-control', 'no-store')
    .header('pragma', 'no-cache')
    .send(body)
}
