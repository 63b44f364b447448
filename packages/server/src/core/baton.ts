import { systemClock, type Clock } from './clock.js'
import { shortRefreshWithOAuthClients, type BatonConfig } from './config/config.js'
import { BatonError, ConfigError } from './errors.js'
import type { BatonObserver } from './events.js'
import { KeyRing } from './keys/keyring.js'
import { OAuthClients } from './oauth/clients.js'
import { OAuthService } from './oauth/oauth-service.js'
import { ScopePolicy } from './oauth/scope-policy.js'
import { warmPasswordPolicy } from './passwords/password-policy.js'
import type { DatabaseStore, Mailer, PasswordHasher, SessionStore } from './ports.js'
import { SessionService } from './sessions/session-service.js'
import { AccessTokens, type AccessTokenClaims } from './tokens/access-token.js'
import { secretAlgorithm } from './tokens/jws.js'
import { RefreshTokens } from './tokens/refresh-token.js'
import { AccountService } from './users/account-service.js'
import { AdminService } from './users/admin-service.js'
import { defaultMailTemplates, type MailTemplates } from './users/mail-templates.js'
import { RecoveryService } from './users/recovery-service.js'

export interface CreateBatonOptions {
  config: BatonConfig
  database: DatabaseStore
  sessions: SessionStore
  clock?: Clock
  /**
   * How passwords are hashed. The core brings none (the argon2id one is a native addon):
   * `createArgon2Hasher` from `@baton-auth/server/argon2` is what the server uses.
   */
  hasher: PasswordHasher
  /**
   * How password-reset and verification links are mailed. The server's are in
   * `@baton-auth/server/server` (`createMailer`: the log or SMTP). Without one, every send
   * fails and is reported to `observer.mail`.
   */
  mailer?: Mailer
  /** The messages mailed; the built-in ones by default (`loadMailTemplates` reads others). */
  mailTemplates?: MailTemplates
  observer?: BatonObserver
  /**
   * Delete audit events past BATON_AUDIT_RETENTION hourly. @default true. The `baton` command
   * turns it off: its environment may not hold the server's retention.
   */
  purgeAudit?: boolean
}

/** The engine, wired: everything the server (or an embedding app) calls. */
export interface Baton {
  readonly config: BatonConfig
  readonly clock: Clock
  /** The published signing keys (access tokens, JWKS). */
  readonly keyring: KeyRing
  /** The refresh-token secrets: never published. */
  readonly refreshKeyring: KeyRing
  readonly accessTokens: AccessTokens
  readonly refreshTokens: RefreshTokens
  readonly sessions: SessionService
  readonly accounts: AccountService
  /** Password reset and email verification: the mailed single-use links. */
  readonly recovery: RecoveryService
  /** What operators do to accounts and sessions (the CLI and `/admin`). */
  readonly admin: AdminService
  /** Deletes audit events older than BATON_AUDIT_RETENTION now (it also runs hourly). */
  purgeAudit(): Promise<void>
  /** `/oauth/*`: grants, client authentication, revocation, introspection. */
  readonly oauth: OAuthService
  /** A bearer token's claims, or `invalid_token` / `access_token_expired` / `session_revoked`. */
  authenticate(accessToken: string): Promise<AccessTokenClaims>
  /** Rejects with `StoreUnavailableError` unless every store answers. */
  ready(): Promise<void>
  /** Stops timers; does not close the stores (their owner does). */
  close(): void
}

/**
 * Builds the engine and loads (or creates) the key ring. Stores are passed in: the core never
 * picks a backend.
 */
export async function createBaton(options: CreateBatonOptions): Promise<Baton> {
  const { config } = options
  const clock = options.clock ?? systemClock
  const observer = options.observer ?? {}
  const keyring = new KeyRing({
    store: options.database,
    clock,
    alg: config.signingAlg,
    retiredKeyLifetime: config.refreshTokenTtl + config.accessTokenTtl,
  })
  const refreshKeyring = new KeyRing({
    store: options.database,
    clock,
    alg: secretAlgorithm,
    retiredKeyLifetime: config.refreshTokenTtl + config.accessTokenTtl,
  })
  await keyring.init()
  await refreshKeyring.init()
  await refuseStoredClientsWithShortRefresh(config, options.database)
  const rings = [keyring, refreshKeyring]
  const accessTokens = new AccessTokens({
    keyring,
    clock,
    issuer: config.issuer,
    audience: config.audience,
    ttl: config.accessTokenTtl,
  })
  const refreshTokens = new RefreshTokens({
    keyring: refreshKeyring,
    earlierKeyring: keyring,
    clock,
    issuer: config.issuer,
  })
  const scopes = new ScopePolicy(config.scopes)
  const sessions = new SessionService({
    store: options.sessions,
    users: options.database,
    audit: options.database,
    accessTokens,
    refreshTokens,
    clock,
    observer,
    scopes,
    policy: {
      refreshTokenTtl: config.refreshTokenTtl,
      sessionMaxAge: config.sessionMaxAge,
      refreshReuseGrace: config.refreshReuseGrace,
      slidingRefresh: config.slidingRefresh,
      maxSessionsPerUser: config.maxSessionsPerUser,
    },
  })
  const recovery = new RecoveryService({
    users: options.database,
    store: options.sessions,
    audit: options.database,
    hasher: options.hasher,
    sessions,
    clock,
    observer,
    mailer: options.mailer ?? noMailer,
    templates: options.mailTemplates ?? defaultMailTemplates,
    links: {
      password_reset: config.passwordResetUrl,
      email_verification: config.emailVerificationUrl,
    },
  })
  const accounts = new AccountService({
    users: options.database,
    counters: options.sessions,
    audit: options.database,
    hasher: options.hasher,
    sessions,
    clock,
    observer,
    loginMaxFailures: config.loginMaxFailures,
    loginFailureWindow: config.loginFailureWindow,
    scopes,
    requireVerifiedEmail: config.requireVerifiedEmail,
    recovery,
  })
  const admin = new AdminService({
    users: options.database,
    audit: options.database,
    hasher: options.hasher,
    sessions,
    oneTimeTokens: options.sessions,
    clock,
  })
  const oauth = new OAuthService({
    clients: new OAuthClients({ configured: config.oauthClients, store: options.database }),
    scopes,
    accounts,
    sessions,
    accessTokens,
    refreshTokens,
    introspectionCredentials: config.introspectionCredentials,
  })
  warmPasswordPolicy()
  await accounts.warm()

  // Other instances may rotate keys: reread the shared ring now and then, and at the moment a
  // waiting next key is due, so that it starts signing on time rather than up to an interval late.
  let activationTimer: ReturnType<typeof setTimeout> | undefined
  const reload = (): void => {
    Promise.all(rings.map((ring) => ring.reload())).then(scheduleActivation, () => undefined)
  }
  const scheduleActivation = (): void => {
    clearTimeout(activationTimer)
    const times = rings.flatMap((ring) => ring.nextActivationAt() ?? [])
    if (times.length === 0) return
    const at = Math.min(...times)
    activationTimer = setTimeout(reload, Math.max(0, at - clock.now()) + 10)
    activationTimer.unref()
  }
  scheduleActivation()
  const reloadTimer = setInterval(reload, config.keyReloadInterval * 1000)
  reloadTimer.unref()

  // BATON_AUDIT_RETENTION, on every store: each instance deletes what is past it, hourly, in
  // batches (a store outage only delays it to the next hour).
  const purgeAudit = async (): Promise<void> => {
    const before = clock.now() - config.auditRetention * 1000
    while ((await options.database.purgeEvents(before, 10_000)) === 10_000);
  }
  const purging = options.purgeAudit ?? true
  const purgeTimer = purging
    ? setInterval(() => void purgeAudit().catch(() => undefined), 3_600_000)
    : undefined
  purgeTimer?.unref()
  const firstPurge = purging
    ? setTimeout(() => void purgeAudit().catch(() => undefined), 60_000)
    : undefined
  firstPurge?.unref()

  return {
    config,
    clock,
    keyring,
    refreshKeyring,
    accessTokens,
    refreshTokens,
    sessions,
    accounts,
    recovery,
    admin,
    oauth,
    async authenticate(accessToken) {
      const claims = await accessTokens.verify(accessToken)
      if (await sessions.isDenied({ userId: claims.sub, sessionId: claims.sid })) {
        throw new BatonError('session_revoked', 'This session has been signed out.')
      }
      return claims
    },
    async ready() {
      await Promise.all([options.database.ping(), options.sessions.ping()])
    },
    purgeAudit,
    close() {
      clearInterval(purgeTimer)
      clearTimeout(firstPurge)
      clearInterval(reloadTimer)
      clearTimeout(activationTimer)
    },
  }
}

const noMailer: Mailer = {
  send: () => Promise.reject(new Error('no mailer was given to createBaton')),
}

/**
 * The rule `loadConfig` applies to `BATON_OAUTH_CLIENTS`, for the clients of `baton clients
 * add`: with a refresh token no longer than the access token, their refresh grant could never
 * work (RFC 6749 §6 carries no access token to slide with).
 */
async function refuseStoredClientsWithShortRefresh(
  config: BatonConfig,
  database: DatabaseStore,
): Promise<void> {
  if (config.refreshTokenTtl > config.accessTokenTtl) return
  const stored = await database.listClients()
  if (stored.length === 0) return
  const ids = stored.map((client) => client.id).join(', ')
  throw new ConfigError(
    'BATON_REFRESH_TOKEN_TTL',
    shortRefreshWithOAuthClients(
      config,
      `are registered in the database (${ids}; \`baton clients remove\` them first)`,
    ),
  )
}
