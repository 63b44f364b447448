import type { FastifyRequest } from 'fastify'
import { BatonError } from '../../core/errors.js'
import type { ClientCredentials } from '../../core/oauth/clients.js'
import { invalidRequest, type OAuthForm } from './form.js'

// Requests whose `invalid_client` must carry `WWW-Authenticate: Basic` (RFC 6749 §5.2: the
// client tried the Authorization header; RFC 7662: introspection always authenticates so). Not
// sent otherwise: a browser may answer a Basic challenge to a script's request with a dialog.
const basicChallenged = new WeakSet<FastifyRequest>()

export const basicRealm = 'Basic realm="baton"'

export function wantsBasicChallenge(request: FastifyRequest): boolean {
  return basicChallenged.has(request)
}

export function challengeWithBasic(request: FastifyRequest): void {
  basicChallenged.add(request)
}

const invalidClient = (detail: string): BatonError =>
  new BatonError('invalid_client', 'Client authentication failed.', { detail })

/**
 * HTTP Basic credentials (RFC 6749 §2.3.1: the id and the secret are form-urlencoded before
 * base64), or null without an Authorization header. Any other Authorization header is
 * `invalid_client`.
 */
export function basicCredentialsOf(request: FastifyRequest): { id: string; secret: string } | null {
  const header = request.headers.authorization
  if (header === undefined) return null
  challengeWithBasic(request)
  const match = /^basic +([A-Za-z0-9+/]+=*) *$/i.exec(header)
  if (match?.[1] === undefined) throw invalidClient('Authorization header is not Basic')
  const decoded = Buffer.from(match[1], 'base64').toString('utf8')
  const separator = decoded.indexOf(':')
  if (separator === -1) throw invalidClient('Basic credentials without a colon')
  return {
    id: formDecode(decoded.slice(0, separator)),
    secret: formDecode(decoded.slice(separator + 1)),
  }
}

/**
 * What the request presented to identify its client: HTTP Basic (`client_secret_basic`),
 * `client_id` and `client_secret` in the body (`client_secret_post`), or `client_id` alone
 * (`none`, a public client). Null when it presented nothing. Two methods at once are refused
 * (RFC 6749 §2.3).
 */
export function clientCredentialsOf(
  request: FastifyRequest,
  form: OAuthForm,
): ClientCredentials | null {
  const bodyId = form.optional('client_id')
  const bodySecret = form.optional('client_secret')
  const basic = basicCredentialsOf(request)
  if (basic !== null) {
    if (bodySecret !== undefined) {
      throw invalidRequest('Use one client authentication method: Basic or client_secret.')
    }
    if (bodyId !== undefined && bodyId !== basic.id) {
      throw invalidRequest('The client_id differs from the one of the Authorization header.')
    }
    return { id: basic.id, secret: basic.secret, method: 'client_secret_basic' }
  }
  if (bodyId === undefined) {
    if (bodySecret !== undefined) throw invalidRequest('The parameter client_id is missing.')
    return null
  }
  return bodySecret === undefined
    ? { id: bodyId, secret: null, method: 'none' }
    : { id: bodyId, secret: bodySecret, method: 'client_secret_post' }
}

function formDecode(text: string): string {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '))
  } catch {
    throw invalidClient('Basic credentials are not form-urlencoded')
  }
}
