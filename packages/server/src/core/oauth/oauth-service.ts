import { createHash, timingSafeEqual } from 'node:crypto'
import { BatonError } from '../errors.js'
import type { SessionRef } from '../ports.js'
import type { ClientContext, IssuedTokens, SessionService } from '../sessions/session-service.js'
import type { AccessTokens } from '../tokens/access-token.js'
import type { RefreshTokens } from '../tokens/refresh-token.js'
import type { AccountService } from '../users/account-service.js'
import type { ClientCredentials, OAuthClient, OAuthClients } from './clients.js'
import type { ScopePolicy } from './scope-policy.js'

export interface OAuthServiceOptions {
  clients: OAuthClients
  scopes: ScopePolicy
  accounts: AccountService
  sessions: SessionService
  accessTokens: AccessTokens
  refreshTokens: RefreshTokens
  /** `BATON_INTROSPECTION_CREDENTIALS`. */
  introspectionCredentials: readonly { id: string; secret: string }[]
}

/** RFC 7662 §2.2. Inactive tokens say nothing else about themselves. */
export type Introspection =
  | { active: false }
  | {
      active: true
      token_type: 'Bearer' | 'refresh_token'
      scope: string
      client_id?: string
      sub: string
      iss: string
      aud: string
      iat: number
      exp: number
      jti: string
      sid: string
      roles?: string[]
    }

interface TokenOwner {
  ref: SessionRef
  clientId: string | null
}

/**
 * The OAuth 2.0 side of Baton: the password and refresh grants (through the same account and
 * session services as `/auth/*`, so rate limits, timing, rotation and reuse detection are
 * shared), revocation (RFC 7009) and introspection (RFC 7662).
 */
export class OAuthService {
  readonly #o: OAuthServiceOptions
  readonly #introspectors: readonly { id: Buffer; secret: Buffer }[]

  constructor(options: OAuthServiceOptions) {
    this.#o = options
    this.#introspectors = options.introspectionCredentials.map(({ id, secret }) => ({
      id: digest(id),
      secret: digest(secret),
    }))
  }

  get scopesSupported(): string[] {
    return this.#o.scopes.supported
  }

  authenticateClient(credentials: ClientCredentials): Promise<OAuthClient> {
    return this.#o.clients.authenticate(credentials)
  }

  /** RFC 6749 §4.3: the resource owner's credentials, exactly as `/auth/login` checks them. */
  async passwordGrant(
    client: OAuthClient,
    request: { username: string; password: string; scope: string | undefined },
    context: ClientContext,
  ): Promise<IssuedTokens> {
    // A malformed or unknown scope is refused before the password is checked (and counted).
    this.#o.scopes.known(request.scope)
    return this.#o.accounts.login(request.username, request.password, context, {
      clientId: client.id,
      scopeFor: (user) => this.#o.scopes.grant(request.scope, user.roles),
    })
  }

  /** RFC 6749 §6, on the engine of `/auth/refresh`. */
  refreshGrant(
    client: OAuthClient,
    request: { refreshToken: string; scope: string | undefined },
    context: ClientContext,
  ): Promise<IssuedTokens> {
    return this.#o.sessions.refresh({
      refreshToken: request.refreshToken,
      accessToken: null,
      context,
      clientId: client.id,
      scope: request.scope,
    })
  }

  /**
   * RFC 7009: revokes the token's session, whichever of its tokens it is. A token of a
   * confidential client is revoked only when that client asks; tokens of public clients and of
   * `/auth` sessions by whoever holds them. Unknown, invalid and foreign tokens change nothing.
   */
  async revoke(client: OAuthClient | null, token: string, hint: string | undefined): Promise<void> {
    const owner = await this.#ownerOf(token, hint)
    if (owner === null) return
    if (owner.clientId !== null && owner.clientId !== client?.id) {
      const issuedTo = await this.#o.clients.find(owner.clientId)
      if (issuedTo?.confidential === true) return
    }
    await this.#o.sessions.revoke(owner.ref, 'token_revocation')
  }

  /** Constant-time check of HTTP Basic credentials against `BATON_INTROSPECTION_CREDENTIALS`. */
  isIntrospector(id: string, secret: string): boolean {
    const presented = { id: digest(id), secret: digest(secret) }
    let found = false
    for (const known of this.#introspectors) {
      // Every part of every entry is compared, so the time tells nothing about what matched.
      const idMatches = timingSafeEqual(presented.id, known.id)
      const secretMatches = timingSafeEqual(presented.secret, known.secret)
      found = found || (idMatches && secretMatches)
    }
    return found
  }

  /**
   * RFC 7662. An access token is active while valid and its session not revoked; a refresh token
   * while it is its live session's current token.
   */
  async introspect(token: string): Promise<Introspection> {
    const access = await this.#o.accessTokens.inspect(token).catch(invalidAsNull)
    if (access !== null) {
      const { claims, expired } = access
      if (expired) return { active: false }
      if (await this.#o.sessions.isDenied({ userId: claims.sub, sessionId: claims.sid })) {
        return { active: false }
      }
      return activeToken(claims, {
        token_type: 'Bearer',
        scope: claims.scope,
        clientId: claims.client_id ?? null,
        roles: claims.roles,
      })
    }
    const refresh = await this.#o.refreshTokens.inspect(token).catch(invalidAsNull)
    if (refresh === null || refresh.expired) return { active: false }
    const { claims } = refresh
    const session = await this.#o.sessions.sessionOfCurrentToken(claims)
    if (session === null) return { active: false }
    return activeToken(claims, {
      token_type: 'refresh_token',
      scope: session.scope,
      clientId: session.clientId,
    })
  }

  /** Whose session a token names, whatever its type; expired tokens count (as for logout). */
  async #ownerOf(token: string, hint: string | undefined): Promise<TokenOwner | null> {
    const asRefresh = async (): Promise<TokenOwner | null> => {
      const inspected = await this.#o.refreshTokens.inspect(token).catch(invalidAsNull)
      if (inspected === null) return null
      const { sub, sid, client_id } = inspected.claims
      return { ref: { userId: sub, sessionId: sid }, clientId: client_id ?? null }
    }
    const asAccess = async (): Promise<TokenOwner | null> => {
      const inspected = await this.#o.accessTokens.inspect(token).catch(invalidAsNull)
      if (inspected === null) return null
      const { sub, sid, client_id } = inspected.claims
      return { ref: { userId: sub, sessionId: sid }, clientId: client_id ?? null }
    }
    // The hint only orders the attempts (RFC 7009 §2.1); `typ` decides what the token is.
    return hint === 'access_token'
      ? ((await asAccess()) ?? (await asRefresh()))
      : ((await asRefresh()) ?? (await asAccess()))
  }
}

/** RFC 7662's answer for an active token: the claims every token has, and what differs. */
function activeToken(
  claims: {
    sub: string
    iss: string
    aud: string
    iat: number
    exp: number
    jti: string
    sid: string
  },
  about: {
    token_type: 'Bearer' | 'refresh_token'
    scope: string
    clientId: string | null
    roles?: string[]
  },
): Introspection {
  const { sub, iss, aud, iat, exp, jti, sid } = claims
  return {
    active: true,
    token_type: about.token_type,
    scope: about.scope,
    ...(about.clientId === null ? {} : { client_id: about.clientId }),
    sub,
    iss,
    aud,
    iat,
    exp,
    jti,
    sid,
    ...(about.roles === undefined ? {} : { roles: about.roles }),
  }
}

function invalidAsNull(error: unknown): null {
  if (error instanceof BatonError && error.code === 'invalid_token') return null
  throw error
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest()
}
