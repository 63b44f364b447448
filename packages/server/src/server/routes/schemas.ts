import { Type, type Static, type TProperties, type TSchema } from '@sinclair/typebox'
import { maxTokenLength } from '@baton-auth/verify/shared'
import { batonErrorCodes } from '../../core/errors.js'

// Request schemas are enforced by Fastify. Response schemas are enforced where a route passes
// them to Fastify (`/auth/me`: a compiled serializer instead of JSON.stringify) and otherwise
// tie the type of what a route sends to what `/openapi.json` documents (`Static<...>`).

// Generous string limits: the core gives the precise message (e.g. password length), the
// schema only stops absurd input early.
export const CredentialsBody = Type.Object(
  {
    email: Type.String({ maxLength: 1024, description: 'The account email.' }),
    password: Type.String({
      maxLength: 4096,
      description: '8 to 128 characters, not one of the 100,000 most common passwords.',
    }),
    scope: Type.Optional(
      Type.String({
        maxLength: 1024,
        description:
          'Space-separated scopes for the access tokens of this session, each one the user’s ' +
          'roles allow (BATON_SCOPES); none by default. Refused with `invalid_scope` otherwise.',
      }),
    ),
  },
  { description: 'An email and a password.' },
)
export type CredentialsBody = Static<typeof CredentialsBody>

const refreshTokenField = Type.Optional(
  Type.String({
    maxLength: maxTokenLength,
    description: 'Body mode: the refresh token. Cookie mode: leave out and send the cookie.',
  }),
)

/** A JSON object of `properties`, or no body at all. */
const optionalBody = <Properties extends TProperties>(properties: Properties) =>
  Type.Union([Type.Object(properties), Type.Null()], {
    description: 'Optional: an empty body is no body.',
  })

export const RefreshTokenBody = optionalBody({
  refreshToken: refreshTokenField,
  scope: Type.Optional(
    Type.String({
      maxLength: 1024,
      description:
        'Narrows the new access token to these scopes, within what the session was granted; ' +
        'the session keeps its grant.',
    }),
  ),
})
export type RefreshTokenBody = Static<typeof RefreshTokenBody>

/** `/auth/logout`: only the token; anything else is ignored, so the sign-out always happens. */
export const LogoutBody = optionalBody({ refreshToken: refreshTokenField })
export type LogoutBody = Static<typeof LogoutBody>

const newPassword = (description: string) =>
  Type.String({
    maxLength: 4096,
    description: `${description}: 8 to 128 characters, not one of the 100,000 most common passwords.`,
  })

// The token of a mailed link: `<user id>.<secret>`. Anything longer is no token Baton made.
const linkToken = Type.String({
  maxLength: 256,
  description: 'The `token` parameter of the mailed link.',
})

export const PasswordChangeBody = Type.Object(
  {
    currentPassword: Type.String({ maxLength: 4096 }),
    newPassword: newPassword('The new password'),
  },
  { description: 'The current password and the new one.' },
)
export type PasswordChangeBody = Static<typeof PasswordChangeBody>

export const EmailBody = Type.Object(
  { email: Type.String({ maxLength: 1024, description: 'The account email.' }) },
  { description: 'An email address.' },
)
export type EmailBody = Static<typeof EmailBody>

export const PasswordResetBody = Type.Object(
  { token: linkToken, password: newPassword('The new password') },
  { description: 'The token of a password-reset link and the new password.' },
)
export type PasswordResetBody = Static<typeof PasswordResetBody>

export const LinkTokenBody = Type.Object(
  { token: linkToken },
  { description: 'The token of an email-verification link.' },
)
export type LinkTokenBody = Static<typeof LinkTokenBody>

/**
 * For text a store looks up: PostgreSQL's text cannot hold U+0000, so no stored value has one,
 * and one in a path or query (`%00`) is refused as malformed alike on every store.
 */
export const withoutNul = '^[^\\u0000]*$'

export const SessionIdParams = Type.Object({
  id: Type.String({
    maxLength: 128,
    pattern: withoutNul,
    description: 'A session id (`sid`) of the signed-in user.',
  }),
})

export const User = Type.Object({
  id: Type.String(),
  email: Type.String(),
  roles: Type.Array(Type.String()),
})

export const TokenResponse = Type.Object(
  {
    accessToken: Type.String({ description: 'A JWS, `typ: at+jwt`.' }),
    tokenType: Type.Literal('Bearer'),
    expiresIn: Type.Integer({ description: 'Seconds until the access token expires.' }),
    refreshToken: Type.Optional(
      Type.String({ description: 'Body mode only; in cookie mode it is in `Set-Cookie`.' }),
    ),
    refreshExpiresIn: Type.Integer({ description: 'Seconds until the refresh token expires.' }),
    sessionId: Type.String({ description: 'The session (`sid`) both tokens belong to.' }),
    user: User,
  },
  { additionalProperties: false },
)
export type TokenResponse = Static<typeof TokenResponse>

export const SignupPendingResponse = Type.Object(
  {
    user: User,
    emailVerificationRequired: Type.Literal(true, {
      description:
        'BATON_REQUIRE_VERIFIED_EMAIL: a verification link is mailed; sign in once it is followed.',
    }),
  },
  { additionalProperties: false },
)
export type SignupPendingResponse = Static<typeof SignupPendingResponse>

/** 202 of the routes that may mail a link: the same whether or not a mail goes out. */
export const MailRequestedResponse = Type.Object(
  {
    status: Type.Literal('accepted', {
      description:
        'Said whether or not the address has an account: a link is mailed only if it does.',
    }),
  },
  { additionalProperties: false },
)
export type MailRequestedResponse = Static<typeof MailRequestedResponse>

// Enforced on the route: kept to the plain types of its compiled serializer (no `format`, which
// would add a per-request check on a hot path).
export const MeResponse = Type.Object({
  id: Type.String(),
  email: Type.String(),
  roles: Type.Array(Type.String()),
  createdAt: Type.String({ description: 'ISO 8601.' }),
})

export const SessionsResponse = Type.Object(
  {
    sessions: Type.Array(
      Type.Object(
        {
          id: Type.String(),
          createdAt: Type.String({ format: 'date-time' }),
          lastUsedAt: Type.String({ format: 'date-time' }),
          expiresAt: Type.String({
            format: 'date-time',
            description: 'The absolute expiry, or sooner if left idle past its refresh token.',
          }),
          ip: Type.Union([Type.String(), Type.Null()]),
          userAgent: Type.Union([Type.String(), Type.Null()]),
          current: Type.Boolean({ description: 'The session of the presented access token.' }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
)
export type SessionsResponse = Static<typeof SessionsResponse>

export const Jwks = Type.Object(
  {
    keys: Type.Array(
      Type.Object(
        {
          kty: Type.String(),
          kid: Type.String(),
          alg: Type.String(),
          use: Type.Literal('sig'),
        },
        { description: 'A public JWK (RFC 7517): `crv`, `x`, `y` or `n`, `e` by key type.' },
      ),
    ),
  },
  { description: 'RFC 7517 JWK Set: public keys only.' },
)

export const OpenApiDocumentShape = Type.Object(
  { openapi: Type.Literal('3.1.0'), paths: Type.Record(Type.String(), Type.Unknown()) },
  { description: 'https://spec.openapis.org/oas/v3.1.0' },
)

export const Health = Type.Object({ status: Type.Literal('ok') })
export const Readiness = Type.Object({ status: Type.Literal('ready') })

export const AuthorizationServerMetadata = Type.Object(
  {
    issuer: Type.String(),
    token_endpoint: Type.String(),
    jwks_uri: Type.String(),
    revocation_endpoint: Type.String(),
    introspection_endpoint: Type.String(),
    grant_types_supported: Type.Array(Type.String()),
    response_types_supported: Type.Array(Type.String()),
    token_endpoint_auth_methods_supported: Type.Array(Type.String()),
    revocation_endpoint_auth_methods_supported: Type.Array(Type.String()),
    introspection_endpoint_auth_methods_supported: Type.Array(Type.String()),
    scopes_supported: Type.Array(Type.String()),
  },
  { additionalProperties: false, description: 'RFC 8414 metadata.' },
)
export type AuthorizationServerMetadata = Static<typeof AuthorizationServerMetadata>

const clientAuthFields = {
  client_id: Type.Optional(
    Type.String({ description: 'Public clients (`none`) and `client_secret_post`.' }),
  ),
  client_secret: Type.Optional(Type.String({ description: '`client_secret_post` only.' })),
}
const scopeField = Type.Optional(
  Type.String({ description: 'Space-separated scopes; nothing requested grants nothing.' }),
)

// OAuth bodies are forms read by `OAuthForm` (repeated parameters refused, RFC 6749 §3.2), not
// by Fastify: these schemas document them.
export const TokenForm = Type.Union([
  Type.Object(
    {
      grant_type: Type.Literal('password'),
      username: Type.String({ description: 'The account email.' }),
      password: Type.String(),
      scope: scopeField,
      ...clientAuthFields,
    },
    { title: 'Password grant (RFC 6749 §4.3)' },
  ),
  Type.Object(
    {
      grant_type: Type.Literal('refresh_token'),
      refresh_token: Type.String(),
      scope: Type.Optional(
        Type.String({ description: 'Narrows the grant for the new access token.' }),
      ),
      ...clientAuthFields,
    },
    { title: 'Refresh grant (RFC 6749 §6)' },
  ),
])

export const OAuthTokenResponse = Type.Object(
  {
    access_token: Type.String(),
    token_type: Type.Literal('Bearer'),
    expires_in: Type.Integer(),
    refresh_token: Type.String(),
    scope: Type.String({ description: 'The granted scopes, possibly empty.' }),
  },
  { additionalProperties: false, description: 'RFC 6749 §5.1.' },
)
export type OAuthTokenResponse = Static<typeof OAuthTokenResponse>

export const RevokeForm = Type.Object({
  token: Type.String({ description: 'An access or a refresh token.' }),
  token_type_hint: Type.Optional(
    Type.String({
      description: '`access_token` or `refresh_token`: only orders the attempts; others ignored.',
    }),
  ),
  ...clientAuthFields,
})

export const IntrospectForm = Type.Object({ token: Type.String() })

export const IntrospectionResponse = Type.Union(
  [
    Type.Object(
      {
        active: Type.Literal(true),
        token_type: Type.Union([Type.Literal('Bearer'), Type.Literal('refresh_token')]),
        scope: Type.String(),
        client_id: Type.Optional(Type.String({ description: 'Absent for `/auth` sessions.' })),
        sub: Type.String(),
        iss: Type.String(),
        aud: Type.String(),
        iat: Type.Integer(),
        exp: Type.Integer(),
        jti: Type.String(),
        sid: Type.String(),
        roles: Type.Optional(Type.Array(Type.String(), { description: 'Access tokens only.' })),
      },
      { additionalProperties: false },
    ),
    Type.Object({ active: Type.Literal(false) }, { additionalProperties: false }),
  ],
  { description: 'RFC 7662 §2.2. An inactive token says nothing else about itself.' },
)

/** Every code an error body may carry: the API's codes and `server_error` (a bug). */
export const errorCodes = [...batonErrorCodes, 'server_error'] as const

export const ErrorCode = Type.Unsafe<(typeof errorCodes)[number]>({
  type: 'string',
  enum: [...errorCodes],
  description: 'Stable: never renamed or reused. Each has one HTTP status (docs/errors.md).',
})

export const ErrorBody = Type.Object(
  { error: ErrorCode, message: Type.String({ description: 'Human text, safe to show.' }) },
  { additionalProperties: false, description: 'Every error outside `/oauth/*`.' },
)

export const OAuthErrorBody = Type.Object(
  { error: ErrorCode, error_description: Type.String() },
  { additionalProperties: false, description: 'Every error of `/oauth/*` (RFC 6749 §5.2).' },
)

/** Schemas `/openapi.json` lists once under `components.schemas` and refers to by name. */
export const namedSchemas: Record<string, TSchema> = {
  CredentialsBody,
  RefreshTokenBody,
  PasswordChangeBody,
  EmailBody,
  PasswordResetBody,
  LinkTokenBody,
  User,
  TokenResponse,
  SignupPendingResponse,
  MailRequestedResponse,
  MeResponse,
  SessionsResponse,
  Jwks,
  AuthorizationServerMetadata,
  TokenForm,
  OAuthTokenResponse,
  RevokeForm,
  IntrospectForm,
  IntrospectionResponse,
  ErrorCode,
  ErrorBody,
  OAuthErrorBody,
}
