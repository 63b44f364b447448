import type { FastifyRequest } from 'fastify'
import type { ClientContext } from '../core/sessions/session-service.js'

const maxUserAgentLength = 512

export function clientContextOf(request: FastifyRequest): ClientContext {
  const userAgent = request.headers['user-agent']
  return {
    ip: request.ip || null,
    userAgent: typeof userAgent === 'string' ? userAgent.slice(0, maxUserAgentLength) : null,
  }
}
