import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { Baton } from '../../core/baton.js'
import { BatonError } from '../../core/errors.js'
import type { OAuthClient } from '../../core/oauth/clients.js'
import type { IssuedTokens } from '../../core/sessions/session-service.js'
import { clientContextOf } from '../client-context.js'
import {
  basicCredentialsOf,
  challengeWithBasic,
  clientCredentialsOf,
} from '../oauth/client-auth.js'
import { installOAuthErrorHandler } from '../oauth/errors.js'
import { formOf, parseForm, type OAuthForm } from '../oauth/form.js'
import type { RouteDoc } from '../openapi.js'
import {
  AuthorizationServerMetadata,
  IntrospectForm,
  IntrospectionResponse,
  OAuthErrorBody,
  OAuthTokenResponse,
  RevokeForm,
  TokenForm,
} from './schemas.js'

export interface OAuthRoutesOptions {
  baton: Baton
}

const clientAuthMethods = ['client_secret_basic', 'client_secret_post', 'none']

const noStoreHeaders = {
  'Cache-Control': { description: '`no-store` (errors too)' },
  Pragma: { description: '`no-cache`' },
}

// Not `payload_too_large`: RFC 6749 clients know `invalid_request` only.
const tooLarge = {
  413: { description: '`invalid_request`: the body is over 16 KiB', schema: OAuthErrorBody },
}

const documented = (openapi: Omit<RouteDoc, 'tag' | 'oauthErrors'>) => ({
  config: {
    openapi: {
      tag: 'oauth',
      oauthErrors: true,
      ...openapi,
      responses: { ...openapi.responses, ...tooLarge },
    } satisfies RouteDoc,
  },
})

/**
 * OAuth 2.0 for standard clients: discovery (RFC 8414), the password and refresh grants
 * (RFC 6749), revocation (RFC 7009) and introspection (RFC 7662). Form bodies in, snake_case
 * JSON out, RFC-shaped errors; its own content-type parser and error handler, encapsulated so
 * `/auth/*` keeps JSON.
 */
export const oauthRoutes: FastifyPluginAsync<OAuthRoutesOptions> = async (app, { baton }) => {
  // Only forms here: any other body is refused (400 invalid_request) before a route runs.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => {
      done(null, parseForm(typeof body === 'string' ? body : body.toString('utf8')))
    },
  )
  installOAuthErrorHandler(app)

  const { issuer } = baton.config
  const metadata: AuthorizationServerMetadata = {
    issuer,
    token_endpoint: `${issuer}/oauth/token`,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    revocation_endpoint: `${issuer}/oauth/revoke`,
    introspection_endpoint: `${issuer}/oauth/introspect`,
    grant_types_supported: ['password', 'refresh_token'],
    // No authorization endpoint: no response type is supported.
    response_types_supported: [],
    token_endpoint_auth_methods_supported: clientAuthMethods,
    revocation_endpoint_auth_methods_supported: clientAuthMethods,
    introspection_endpoint_auth_methods_supported: ['client_secret_basic'],
    scopes_supported: baton.oauth.scopesSupported,
  }
  const metadataDoc: RouteDoc = {
    tag: 'keys and discovery',
    summary: 'OAuth 2.0 authorization server metadata (RFC 8414)',
    responses: {
      200: {
        description: 'The metadata; every URL is the issuer followed by the path',
        schema: AuthorizationServerMetadata,
        headers: { 'Cache-Control': { description: '`public, max-age=300`' } },
      },
    },
  }
  const metadataRoute = { config: { openapi: metadataDoc } }
  app.get('/.well-known/oauth-authorization-server', metadataRoute, async (_request, reply) =>
    reply.header('cache-control', 'public, max-age=300').send(metadata),
  )

  const tokenDoc = documented({
    summary: 'Token endpoint: password and refresh grants (RFC 6749 §4.3, §6)',
    description:
      'Client authentication: `client_id` alone (public client), HTTP Basic ' +
      '(client_secret_basic) or `client_id` and `client_secret` in the form (client_secret_post). ' +
      'Every way a grant can be bad is `invalid_grant`, the reason in `error_description`.',
    security: [['clientBasic'], []],
    form: TokenForm,
    responses: {
      200: { description: 'Tokens', schema: OAuthTokenResponse, headers: noStoreHeaders },
    },
    errors: [
      'invalid_request',
      'invalid_grant',
      'invalid_scope',
      'unsupported_grant_type',
      'invalid_client',
      'rate_limited',
      'store_unavailable',
    ],
  })
  app.post('/oauth/token', tokenDoc, async (request, reply) => {
    const form = formOf(request)
    const grantType = form.required('grant_type')
    const client = await authenticateClient(baton, request, form)
    if (client === null) {
      throw new BatonError('invalid_client', 'Client authentication failed.', {
        detail: 'no client_id and no Authorization header',
      })
    }
    const context = clientContextOf(request)
    let tokens: IssuedTokens
    switch (grantType) {
      case 'password':
        tokens = await baton.oauth.passwordGrant(
          client,
          {
            username: form.required('username'),
            password: form.required('password'),
            scope: form.optional('scope'),
          },
          context,
        )
        break
      case 'refresh_token':
        tokens = await baton.oauth.refreshGrant(
          client,
          { refreshToken: form.required('refresh_token'), scope: form.optional('scope') },
          context,
        )
        break
      default:
        throw new BatonError(
          'unsupported_grant_type',
          'grant_type must be password or refresh_token.',
        )
    }
    const body: OAuthTokenResponse = {
      access_token: tokens.accessToken,
      token_type: 'Bearer',
      expires_in: tokens.expiresIn,
      refresh_token: tokens.refreshToken,
      scope: tokens.accessClaims.scope,
    }
    return noStore(reply).send(body)
  })

  const revokeDoc = documented({
    summary: 'Revoke a token and its whole session (RFC 7009)',
    description:
      'Client authentication is optional, but checked when presented. A token issued to a ' +
      'confidential client is revoked only when that client authenticates; the answer is 200 ' +
      'either way.',
    security: [['clientBasic'], []],
    form: RevokeForm,
    responses: {
      200: {
        description: 'Whether or not the token was valid; empty body',
        headers: noStoreHeaders,
      },
    },
    errors: ['invalid_request', 'invalid_client', 'store_unavailable'],
  })
  app.post('/oauth/revoke', revokeDoc, async (request, reply) => {
    const form = formOf(request)
    const client = await authenticateClient(baton, request, form)
    const token = form.required('token')
    await baton.oauth.revoke(client, token, form.optional('token_type_hint'))
    return noStore(reply).code(200).send()
  })

  const introspectDoc = documented({
    summary: 'Introspect a token (RFC 7662)',
    description: 'For resource servers holding an entry of BATON_INTROSPECTION_CREDENTIALS.',
    security: [['introspectionBasic']],
    form: IntrospectForm,
    responses: {
      200: {
        description: 'Active with its claims, or exactly `{"active": false}`',
        schema: IntrospectionResponse,
        headers: noStoreHeaders,
      },
    },
    errors: ['invalid_request', 'invalid_client', 'store_unavailable'],
  })
  app.post('/oauth/introspect', introspectDoc, async (request, reply) => {
    const form = formOf(request)
    challengeWithBasic(request)
    const credentials = basicCredentialsOf(request)
    if (credentials === null || !baton.oauth.isIntrospector(credentials.id, credentials.secret)) {
      throw new BatonError('invalid_client', 'Authenticate with an introspection credential.', {
        detail: credentials === null ? 'no credentials' : 'unknown introspection credential',
      })
    }
    return noStore(reply).send(await baton.oauth.introspect(form.required('token')))
  })
}

/** The authenticated client, or null when the request named none. */
async function authenticateClient(
  baton: Baton,
  request: FastifyRequest,
  form: OAuthForm,
): Promise<OAuthClient | null> {
  const credentials = clientCredentialsOf(request, form)
  return credentials === null ? null : baton.oauth.authenticateClient(credentials)
}

function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
}
