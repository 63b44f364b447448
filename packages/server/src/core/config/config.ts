import {
  signingAlgorithms,
  tokenHeaderName,
  type SigningAlgorithm,
} from '@baton-auth/verify/shared'
import { ConfigError } from '../errors.js'
import { parseDuration } from './duration.js'

export { signingAlgorithms, type SigningAlgorithm }

export interface OAuthClientConfig {
  id: string
  /** Present for a confidential client. */
  secret: string | null
}

/** What a `client_id` may be, wherever a client is defined (configuration or `baton clients`). */
export const clientIdPattern = /^[A-Za-z0-9._~-]{1,128}$/

/** One scope of `BATON_SCOPES`. */
export interface ScopeDefinition {
  name: string
  /** The roles a user needs for it (any one of them); null when every user may have it. */
  roles: string[] | null
}

export interface BatonConfig {
  host: string
  port: number
  /** `iss` of every token and base of the metadata URLs. */
  issuer: string
  /** `aud` of access tokens: the resource servers that accept them. */
  audience: string
  databaseUrl: string
  sessionStoreUrl: string
  /** Seconds. */
  accessTokenTtl: number
  refreshTokenTtl: number
  sessionMaxAge: number
  refreshReuseGrace: number
  slidingRefresh: boolean
  /**
   * The request header carrying access tokens, lower case: `authorization` (`Bearer <token>`)
   * or a custom one holding the bare token.
   */
  accessTokenHeader: string
  signingAlg: SigningAlgorithm
  allowedOrigins: string[]
  cookieSecure: boolean
  cookieName: string
  cookiePath: string
  cookieDomain: string | null
  oauthClients: OAuthClientConfig[]
  introspectionCredentials: { id: string; secret: string }[]
  /** The scopes OAuth clients may request, each open to everyone or to some roles. */
  scopes: ScopeDefinition[]
  loginMaxFailures: number
  /** Seconds over which `loginMaxFailures` are counted. */
  loginFailureWindow: number
  /** Honour X-Forwarded-For for the client IP (only behind a proxy you control). */
  trustProxy: boolean
  logLevel: string
  /** One `info` line per answered request (method, path, route, status, time, request id). */
  accessLog: boolean
  /** How often an instance rereads the key ring (seconds). */
  keyReloadInterval: number
  /** Redis where revocations are announced to middleware; null: not announced. */
  revocationChannelUrl: string | null
  /** Live sessions per user; the oldest beyond it are revoked. 0: no limit. */
  maxSessionsPerUser: number
  /** Seconds audit events are kept. */
  auditRetention: number
  /** Serve the account pages (sign up, sign in, devices). */
  accountPages: boolean
  /** Where they are served, e.g. `/account` (no trailing slash). */
  accountPagesPath: string
  /** Sign-in waits until the account's address is verified (a link mailed at sign-up). */
  requireVerifiedEmail: boolean
  /** `log` (links written to the server log) or an `smtp://` / `smtps://` URL. */
  mailerUrl: string
  /** The `From` of every message. */
  mailFrom: string
  /** A directory of message templates overriding the built-in ones; null: the built-in. */
  mailTemplates: string | null
  /** The page a password-reset link opens; the token is added as `?token=`. */
  passwordResetUrl: string
  /** The page an email-verification link opens; the token is added as `?token=`. */
  emailVerificationUrl: string
}

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

/** The sections of docs/configuration.md and .env.example, in this order. */
export const settingGroups = [
  'Server',
  'Stores',
  'Tokens and sessions',
  'Refresh cookie',
  'OAuth',
  'Login protection',
  'Email and password reset',
] as const
export type SettingGroup = (typeof settingGroups)[number]

/** A default computed from settings that come before it in the table. */
export interface DerivedDefault {
  /** What it is, in Markdown, for the docs and `--help`. */
  describe: string
  /** The text read in place of the unset variable. */
  text(config: BatonConfig): string
}

/** One setting: where it is read from, what it defaults to, how it is checked, what it means. */
export interface Setting<K extends keyof BatonConfig = keyof BatonConfig> {
  /** The field of `BatonConfig` it fills. */
  key: K
  variable: string
  /** The `baton serve` option, or null for a variable without one. */
  flag: string | null
  group: SettingGroup
  /** What it does and what it takes, in Markdown, as the docs print it. */
  doc: string
  /**
   * What an unset or empty variable means: a text read exactly like an operator's value ('' for
   * none), or one derived from earlier settings.
   */
  default: string | DerivedDefault
  /** Checks and converts the (trimmed, non-empty unless defaulted) text; throws `ConfigError`. */
  parse(text: string, variable: string): BatonConfig[K]
  /** A rule that involves other settings, checked once every setting is read. */
  check?(config: BatonConfig, variable: string): void
}

const redisScheme = /^(?:redis|rediss|redis-cluster):\/\//i

/**
 * Every setting, in the order they are read (a derived default only looks at the ones above it)
 * and documented. The keys are `BatonConfig`'s, so a field without a setting does not compile.
 * `loadConfig`, the flags of `baton serve`, docs/configuration.md, the settings table of
 * docs/api.md and .env.example all come from here (`npm run docs:config` writes the files).
 */
const table: { [K in keyof BatonConfig]: Omit<Setting<K>, 'key'> } = {
  host: {
    variable: 'BATON_HOST',
    flag: '--host',
    group: 'Server',
    doc: 'address the server listens on',
    default: '127.0.0.1',
    parse: (text) => text,
  },
  port: {
    variable: 'BATON_PORT',
    flag: '--port',
    group: 'Server',
    doc: 'port the server listens on (`0`: any free port)',
    default: '3000',
    parse: (text, variable) => integer(variable, text, 0, 65_535),
  },
  issuer: {
    variable: 'BATON_ISSUER',
    flag: '--issuer',
    group: 'Server',
    doc: 'the public URL of Baton: `iss` of every token, base of the metadata URLs; no query or fragment',
    default: {
      describe: '`http://<host>:<port>` (`127.0.0.1` when the host is `0.0.0.0` or `::`)',
      text: (config) => `http://${hostForUrl(config.host)}:${config.port}`,
    },
    parse: (text, variable) => issuerUrl(variable, text),
  },
  trustProxy: {
    variable: 'BATON_TRUST_PROXY',
    flag: '--trust-proxy',
    group: 'Server',
    doc: 'take the client IP from X-Forwarded-For (behind your own proxy only)',
    default: 'false',
    parse: (text, variable) => boolean(variable, text),
  },
  logLevel: {
    variable: 'BATON_LOG_LEVEL',
    flag: '--log-level',
    group: 'Server',
    doc: `pino level: ${logLevels.join(', ')}`,
    default: 'info',
    parse: (text, variable) => oneOf(variable, text, logLevels),
  },
  accessLog: {
    variable: 'BATON_ACCESS_LOG',
    flag: '--access-log',
    group: 'Server',
    doc: 'one `info` line per answered request: request id, method, path, route, status, milliseconds, client IP. Off by default: refusals, errors and security events are logged either way, and `/metrics` counts every request',
    default: 'false',
    parse: (text, variable) => boolean(variable, text),
  },
  databaseUrl: {
    variable: 'BATON_DATABASE_URL',
    flag: '--database-url',
    group: 'Stores',
    doc: 'users, keys, OAuth clients and audit events: `sqlite:<path>`, `postgres://user:pass@host:5432/db[?schema=name]`, `memory:`',
    default: 'sqlite:./data/baton.db',
    parse: (text) => text,
  },
  sessionStoreUrl: {
    variable: 'BATON_SESSION_STORE_URL',
    flag: '--session-store-url',
    group: 'Stores',
    doc: 'sessions, refresh tokens, deny-list and rate-limit counters: anything the database takes, or `redis://[user:pass@]host:6379[/db][?prefix=baton:]`, `rediss://…` (TLS), `redis-cluster://host:port,host:port[?prefix=…]`',
    default: { describe: 'the database', text: (config) => config.databaseUrl },
    parse: (text) => text,
  },
  revocationChannelUrl: {
    variable: 'BATON_REVOCATION_CHANNEL_URL',
    flag: '--revocation-channel-url',
    group: 'Stores',
    doc: 'Redis where revoked sessions are announced to middleware (`redis://…`, `rediss://…`, `redis-cluster://…`, with `?prefix=`), or `off`; see docs/resource-servers.md',
    default: {
      describe: 'the session store when it is Redis, otherwise `off`',
      text: (config) => (redisScheme.test(config.sessionStoreUrl) ? config.sessionStoreUrl : 'off'),
    },
    parse: (text, variable) => revocationChannelUrl(variable, text),
  },
  audience: {
    variable: 'BATON_AUDIENCE',
    flag: '--audience',
    group: 'Tokens and sessions',
    doc: '`aud` of access tokens (the APIs that accept them); must differ from the issuer, the audience of refresh tokens',
    default: 'baton',
    parse: (text) => text,
    check: (config, variable) => {
      // Refresh tokens carry the issuer as audience; an access audience equal to it would leave
      // `typ` as the only thing telling the two apart.
      if (config.audience === config.issuer) {
        throw new ConfigError(
          variable,
          'must differ from the issuer (refresh tokens use that audience)',
        )
      }
    },
  },
  signingAlg: {
    variable: 'BATON_SIGNING_ALG',
    flag: '--signing-alg',
    group: 'Tokens and sessions',
    doc: `algorithm that signs the tokens: ${orList(signingAlgorithms.map((alg) => `\`${alg}\``))}`,
    default: 'ES256',
    parse: (text, variable) => oneOf(variable, text, signingAlgorithms),
  },
  keyReloadInterval: {
    variable: 'BATON_KEY_RELOAD_INTERVAL',
    flag: '--key-reload-interval',
    group: 'Tokens and sessions',
    doc: 'how often an instance rereads the shared key ring',
    default: '60s',
    parse: (text, variable) => duration(variable, text, 1),
  },
  accessTokenTtl: {
    variable: 'BATON_ACCESS_TOKEN_TTL',
    flag: '--access-token-ttl',
    group: 'Tokens and sessions',
    doc: 'access token lifetime',
    default: '15m',
    parse: (text, variable) => duration(variable, text, 1),
  },
  refreshTokenTtl: {
    variable: 'BATON_REFRESH_TOKEN_TTL',
    flag: '--refresh-token-ttl',
    group: 'Tokens and sessions',
    doc: 'refresh token lifetime (idle timeout of a session); longer than `BATON_ACCESS_TOKEN_TTL` unless sliding refresh is on and `BATON_OAUTH_CLIENTS=none`',
    default: '14d',
    parse: (text, variable) => duration(variable, text, 1),
    check: (config, variable) => {
      if (config.refreshTokenTtl > config.accessTokenTtl) return
      // Shorter is the seed's sliding-session setup: a valid access token renews an expired
      // refresh token (row 3 of the two-token table). Without that row, nothing would.
      if (!config.slidingRefresh) {
        throw new ConfigError(
          variable,
          'must be longer than BATON_ACCESS_TOKEN_TTL while BATON_SLIDING_REFRESH=false: an ' +
            'expired refresh token could then never be renewed, and each session would end as ' +
            'soon as one refresh is late',
        )
      }
      // Row 3 needs the access token beside the refresh token, which only /auth/refresh takes:
      // the refresh_token grant carries none (RFC 6749 §6), so there it can never happen.
      if (config.oauthClients.length > 0) {
        const ids = config.oauthClients.map((client) => client.id).join(',')
        throw new ConfigError(
          variable,
          shortRefreshWithOAuthClients(config, `are configured (BATON_OAUTH_CLIENTS=${ids})`),
        )
      }
    },
  },
  sessionMaxAge: {
    variable: 'BATON_SESSION_MAX_AGE',
    flag: '--session-max-age',
    group: 'Tokens and sessions',
    doc: 'absolute lifetime of a session, however often it is refreshed; at least `BATON_REFRESH_TOKEN_TTL`',
    default: '90d',
    parse: (text, variable) => duration(variable, text, 1),
    check: (config, variable) => {
      if (config.sessionMaxAge < config.refreshTokenTtl) {
        throw new ConfigError(variable, 'must be at least BATON_REFRESH_TOKEN_TTL')
      }
    },
  },
  refreshReuseGrace: {
    variable: 'BATON_REFRESH_REUSE_GRACE',
    flag: '--refresh-reuse-grace',
    group: 'Tokens and sessions',
    doc: 'grace window for a retried refresh, at most `5m`; `0` turns it off',
    default: '10s',
    parse: (text, variable) => {
      const seconds = duration(variable, text, 0)
      if (seconds > 300) {
        throw new ConfigError(
          variable,
          'at most 5m: a long window lets a stolen token ride along with its owner',
        )
      }
      return seconds
    },
  },
  maxSessionsPerUser: {
    variable: 'BATON_MAX_SESSIONS_PER_USER',
    flag: '--max-sessions-per-user',
    group: 'Tokens and sessions',
    doc: 'live sessions a user may hold: a new sign-in beyond it revokes the oldest (audited as `session_limit`); of sign-ins at the same moment, the latest stay; `0` for no limit',
    default: '0',
    parse: (text, variable) => integer(variable, text, 0, 100_000),
  },
  auditRetention: {
    variable: 'BATON_AUDIT_RETENTION',
    flag: '--audit-retention',
    group: 'Server',
    doc: 'how long audit events are kept; older ones are deleted hourly by every running server',
    default: '90d',
    parse: (text, variable) => duration(variable, text, 3600),
  },
  slidingRefresh: {
    variable: 'BATON_SLIDING_REFRESH',
    flag: '--sliding-refresh',
    group: 'Tokens and sessions',
    doc: 'the "valid access, expired refresh" row of the two-token table',
    default: 'true',
    parse: (text, variable) => boolean(variable, text),
  },
  accessTokenHeader: {
    variable: 'BATON_ACCESS_TOKEN_HEADER',
    flag: '--access-token-header',
    group: 'Tokens and sessions',
    doc: 'request header of access tokens: `Authorization` takes `Bearer <token>`, any other (e.g. `X-AUTH-TOKEN`) the bare token; a header that already means something (`Cookie`, `Origin`, `Host`, `X-Forwarded-For`, …; the list is `forbiddenTokenHeaders` of `@baton-auth/verify/shared`) is refused',
    default: 'Authorization',
    parse: (text, variable) => {
      try {
        return tokenHeaderName(text)
      } catch (error) {
        throw new ConfigError(variable, error instanceof Error ? error.message : String(error))
      }
    },
  },
  allowedOrigins: {
    variable: 'BATON_ALLOWED_ORIGINS',
    flag: '--allowed-origins',
    group: 'Refresh cookie',
    doc: "comma-separated origins allowed to use the refresh cookie besides the issuer's",
    default: '',
    parse: (text, variable) => origins(variable, text),
  },
  cookieSecure: {
    variable: 'BATON_COOKIE_SECURE',
    flag: '--cookie-secure',
    group: 'Refresh cookie',
    doc: '`false` only for plain-HTTP development on a non-localhost name',
    default: 'true',
    parse: (text, variable) => boolean(variable, text),
  },
  cookieName: {
    variable: 'BATON_COOKIE_NAME',
    flag: '--cookie-name',
    group: 'Refresh cookie',
    doc: 'name of the refresh cookie; a `__Secure-` or `__Host-` name needs `BATON_COOKIE_SECURE=true`',
    default: {
      describe: '`__Secure-baton_rt` (`baton_rt` when not secure)',
      text: (config) => (config.cookieSecure ? '__Secure-baton_rt' : 'baton_rt'),
    },
    parse: (text, variable) => {
      if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(text)) {
        throw new ConfigError(variable, `"${text}" is not a valid cookie name`)
      }
      return text
    },
    check: (config, variable) => {
      if (!config.cookieSecure && /^__(Secure|Host)-/.test(config.cookieName)) {
        throw new ConfigError(
          variable,
          `browsers refuse a "${config.cookieName}" cookie without Secure; rename it or set BATON_COOKIE_SECURE=true`,
        )
      }
    },
  },
  cookiePath: {
    variable: 'BATON_COOKIE_PATH',
    flag: '--cookie-path',
    group: 'Refresh cookie',
    doc: 'path of the refresh cookie',
    default: '/auth',
    parse: (text, variable) => {
      if (!text.startsWith('/') || /[;\s]/.test(text)) {
        throw new ConfigError(variable, `"${text}" must start with / and hold no ; or spaces`)
      }
      return text
    },
  },
  cookieDomain: {
    variable: 'BATON_COOKIE_DOMAIN',
    flag: '--cookie-domain',
    group: 'Refresh cookie',
    doc: 'domain of the refresh cookie (host-only when empty)',
    default: '',
    parse: (text, variable) => {
      if (text === '') return null
      if (!/^\.?[A-Za-z0-9.-]+$/.test(text)) {
        throw new ConfigError(variable, `"${text}" is not a domain`)
      }
      return text
    },
  },
  oauthClients: {
    variable: 'BATON_OAUTH_CLIENTS',
    flag: '--oauth-clients',
    group: 'OAuth',
    doc: 'comma-separated OAuth clients for `/oauth/*`: `id` for a public client, `id:secret` for a confidential one (secret of 16 characters or more), or `none`; an unknown `client_id` gets 401 `invalid_client`; `baton clients add` registers more',
    default: 'baton',
    parse: (text, variable) => (text.toLowerCase() === 'none' ? [] : oauthClients(variable, text)),
  },
  introspectionCredentials: {
    variable: 'BATON_INTROSPECTION_CREDENTIALS',
    flag: '--introspection-credentials',
    group: 'OAuth',
    doc: 'comma-separated `id:secret` pairs (secrets of 16 characters or more) for `/oauth/introspect`, which answers 401 while there is none',
    default: '',
    parse: (text, variable) => credentials(variable, text),
  },
  scopes: {
    variable: 'BATON_SCOPES',
    flag: '--scopes',
    group: 'OAuth',
    doc: 'scopes OAuth clients may request, space- or comma-separated; `name=role|role` limits one to users with one of those roles (e.g. `read write admin:users=admin|ops`); see "Scopes" in docs/configuration.md',
    default: '',
    parse: (text, variable) => scopeDefinitions(variable, text),
  },
  accountPages: {
    variable: 'BATON_ACCOUNT_PAGES',
    flag: '--account-pages',
    group: 'Server',
    doc: 'serve the account pages (sign up, sign in, where you are signed in, sign out) at `BATON_ACCOUNT_PAGES_PATH`',
    default: 'true',
    parse: (text, variable) => boolean(variable, text),
  },
  accountPagesPath: {
    variable: 'BATON_ACCOUNT_PAGES_PATH',
    flag: '--account-pages-path',
    group: 'Server',
    doc: 'where the account pages are served: `/` and path segments of letters, digits, `-`, `_`, `.`, `~`; not under a path of the API',
    default: '/account',
    parse: (text, variable) => {
      const path = text.replace(/\/+$/, '')
      if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(path)) {
        throw new ConfigError(
          variable,
          `"${text}" must be a path such as /account: / and segments of letters, digits, - _ . ~`,
        )
      }
      const taken = ['/auth', '/oauth', '/.well-known', '/healthz', '/readyz', '/metrics']
      const clash = taken.find((prefix) => path === prefix || path.startsWith(`${prefix}/`))
      if (clash !== undefined || path === '/openapi.json') {
        throw new ConfigError(variable, `"${text}" is a path of the API (${clash ?? path})`)
      }
      return path
    },
  },
  loginMaxFailures: {
    variable: 'BATON_LOGIN_MAX_FAILURES',
    flag: '--login-max-failures',
    group: 'Login protection',
    doc: 'failed logins per account within `BATON_LOGIN_FAILURE_WINDOW` before 429 with `Retry-After`',
    default: '5',
    parse: (text, variable) => integer(variable, text, 1, 1_000_000),
  },
  loginFailureWindow: {
    variable: 'BATON_LOGIN_FAILURE_WINDOW',
    flag: '--login-failure-window',
    group: 'Login protection',
    doc: 'window over which `BATON_LOGIN_MAX_FAILURES` are counted',
    default: '15m',
    parse: (text, variable) => duration(variable, text, 1),
  },
  requireVerifiedEmail: {
    variable: 'BATON_REQUIRE_VERIFIED_EMAIL',
    flag: '--require-verified-email',
    group: 'Email and password reset',
    doc: 'sign-up mails a verification link and answers 202 without tokens; sign-in (`/auth/login`, the password grant) is refused with 403 `email_not_verified` until the link is followed. Accounts made before it was turned on are unverified too: they ask for a link (`/auth/email/resend`), and operators create users with `--verified` / `emailVerified`',
    default: 'false',
    parse: (text, variable) => boolean(variable, text),
  },
  mailerUrl: {
    variable: 'BATON_MAILER_URL',
    flag: '--mailer-url',
    group: 'Email and password reset',
    doc: 'how mail is sent: `log` writes each link to the server log (`info`) for development and sends nothing (with an `https://` issuer, real users, only when set explicitly); `smtp://[user:pass@]host[:port]` (STARTTLS when the server offers it) or `smtps://…` (TLS from the start, port 465 by default)',
    default: {
      describe: '`log` with an `http://` issuer; none with `https://` (start-up stops until set)',
      // Empty only as a default (a value given empty reads as not given): see mailerUrl().
      text: (config) => (/^https:/i.test(config.issuer) ? '' : 'log'),
    },
    parse: (text, variable) => mailerUrl(variable, text),
  },
  mailFrom: {
    variable: 'BATON_MAIL_FROM',
    flag: '--mail-from',
    group: 'Email and password reset',
    doc: '`From` of every message: an address, or `Name <address>`',
    default: 'Baton <no-reply@localhost>',
    parse: (text, variable) => mailFrom(variable, text),
  },
  mailTemplates: {
    variable: 'BATON_MAIL_TEMPLATES',
    flag: '--mail-templates',
    group: 'Email and password reset',
    doc: 'a directory of templates replacing the built-in messages: `password-reset.txt`, `password-reset.html`, `email-verification.txt`, `email-verification.html` (any of them), with `{{link}}`, `{{email}}`, `{{minutes}}`, `{{lifetime}}`; see "Mail" in docs/configuration.md',
    default: '',
    parse: (text) => (text === '' ? null : text),
  },
  passwordResetUrl: {
    variable: 'BATON_PASSWORD_RESET_URL',
    flag: '--password-reset-url',
    group: 'Email and password reset',
    doc: 'the page a password-reset link opens (an http(s) URL; the token is added as `?token=`); it posts the token and the new password to `/auth/password/reset`',
    default: {
      describe: 'the account pages: `<issuer><BATON_ACCOUNT_PAGES_PATH>/reset-password`',
      text: (config) => `${config.issuer}${config.accountPagesPath}/reset-password`,
    },
    parse: (text, variable) => linkUrl(variable, text),
  },
  emailVerificationUrl: {
    variable: 'BATON_EMAIL_VERIFICATION_URL',
    flag: '--email-verification-url',
    group: 'Email and password reset',
    doc: 'the page an email-verification link opens (an http(s) URL; the token is added as `?token=`); it posts the token to `/auth/email/verify`',
    default: {
      describe: 'the account pages: `<issuer><BATON_ACCOUNT_PAGES_PATH>/verify-email`',
      text: (config) => `${config.issuer}${config.accountPagesPath}/verify-email`,
    },
    parse: (text, variable) => linkUrl(variable, text),
  },
}

/** The table as a list, in reading and documentation order. */
export const settings: readonly Setting[] = Object.entries(table).map(
  ([key, setting]) => ({ key, ...setting }) as Setting,
)

const settingOf = new Map(settings.map((setting) => [setting.variable, setting]))

/** The setting of a field of `BatonConfig`. */
export function settingFor<K extends keyof BatonConfig>(key: K): Setting<K> {
  return { key, ...table[key] }
}

/** Markdown for a setting's default: `` `15m` ``, "none", or what a derived default is. */
export function describeDefault(setting: Setting): string {
  if (typeof setting.default !== 'string') return setting.default.describe
  return setting.default === '' ? 'none' : `\`${setting.default}\``
}

/** The same without Markdown, for `--help` and .env.example. */
export function plainDefault(setting: Setting): string {
  if (typeof setting.default !== 'string') return setting.default.describe.replaceAll('`', '')
  return setting.default === '' ? 'none' : setting.default
}

type Env = Partial<Record<string, string | undefined>>

/**
 * Reads and validates every setting once. A bad value, or a `BATON_*` variable that is no
 * setting (a misspelt one would otherwise leave its setting at the default without a word),
 * throws `ConfigError` naming the variable, so start-up stops with a message an operator can
 * act on.
 */
export function loadConfig(env: Env = process.env): BatonConfig {
  rejectUnknownVariables(env)
  const values: Record<string, unknown> = {}
  // Derived defaults see only what is read so far: a table reordered wrongly fails loudly.
  const readSoFar = new Proxy(values, {
    get(target, key) {
      if (!Object.hasOwn(target, key)) {
        throw new Error(`settings table: ${String(key)} is used by a default above it`)
      }
      return target[key as string]
    },
  }) as unknown as BatonConfig
  for (const setting of settings) {
    const given = env[setting.variable]?.trim()
    const text =
      given !== undefined && given !== ''
        ? given
        : typeof setting.default === 'string'
          ? setting.default
          : setting.default.text(readSoFar)
    values[setting.key] = setting.parse(text, setting.variable)
  }
  const config = values as unknown as BatonConfig
  for (const setting of settings) setting.check?.(config, setting.variable)
  return config
}

const settingPrefix = 'BATON_'

/**
 * `BATON_` names that programs around Baton use, so they are often in the environment Baton
 * starts in, and that are no setting: refusing them would stop a server for a client's variable.
 * Never make one of these a setting.
 */
export const reservedVariables: Readonly<Record<string, string>> = {
  BATON_URL: 'where a client, script or test finds a running Baton',
  BATON_CMD: 'the peer benchmark: the command that starts Baton',
  BATON_DIR: 'the peer benchmark: the directory it starts Baton in',
  BATON_PID: 'the peer benchmark: the process of a Baton started by hand',
}

function rejectUnknownVariables(env: Env): void {
  const unknown = Object.keys(env)
    .filter(
      (name) =>
        name.startsWith(settingPrefix) &&
        env[name] !== undefined &&
        !settingOf.has(name) &&
        !Object.hasOwn(reservedVariables, name),
    )
    .sort()
  const [first, ...others] = unknown
  if (first === undefined) return
  const candidates = closestNames(first, [...settingOf.keys()])
  let message =
    candidates.length > 0
      ? `not a Baton setting; did you mean ${candidates.join(' or ')}?`
      : 'not a Baton setting; the settings are listed in docs/configuration.md and by `baton serve --help`'
  if (others.length > 0) message += ` (neither are ${others.join(', ')})`
  throw new ConfigError(first, message)
}

/**
 * The names nearest to `name` by edit distance (a swap of two neighbours counts once), when
 * near enough to be a slip of the keyboard rather than another name: up to a quarter of the
 * part after `BATON_`, at least 1, at most 3. Case is ignored.
 */
export function closestNames(name: string, names: readonly string[]): string[] {
  const wanted = name.toUpperCase()
  const allowed = Math.min(3, Math.max(1, Math.floor((wanted.length - settingPrefix.length) / 4)))
  let best = allowed + 1
  let nearest: string[] = []
  for (const candidate of names) {
    const distance = editDistance(wanted, candidate.toUpperCase())
    if (distance < best) {
      best = distance
      nearest = [candidate]
    } else if (distance === best) {
      nearest.push(candidate)
    }
  }
  return nearest
}

/** Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = []
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [i]
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j)
        continue
      }
      const above = rows[i - 1] as number[]
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let distance = Math.min(
        (above[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (above[j - 1] as number) + cost,
      )
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        distance = Math.min(distance, ((rows[i - 2] as number[])[j - 2] as number) + 1)
      }
      row.push(distance)
    }
    rows.push(row)
  }
  return (rows[a.length] as number[])[b.length] as number
}

/**
 * Why OAuth clients cannot have a refresh token that lives no longer than the access token: a
 * client refreshes once its access token has expired (RFC 6749 §1.5), and by then its refresh
 * token has expired too; the sliding row that renews it at `/auth/refresh` needs the access token
 * beside it, which the refresh_token grant does not carry (RFC 6749 §6).
 */
export function shortRefreshWithOAuthClients(config: BatonConfig, clients: string): string {
  return (
    `must be longer than BATON_ACCESS_TOKEN_TTL (${config.refreshTokenTtl}s is not longer than ` +
    `${config.accessTokenTtl}s) while OAuth clients ${clients}: the refresh_token grant carries ` +
    "no access token (RFC 6749 §6), so sliding refresh cannot renew an OAuth client's expired " +
    'refresh token, and every OAuth session would end with its first access token. Lengthen ' +
    'BATON_REFRESH_TOKEN_TTL, or set BATON_OAUTH_CLIENTS=none to keep the short refresh token ' +
    'for /auth sessions alone'
  )
}

function revocationChannelUrl(variable: string, text: string): string | null {
  if (text === 'off') return null
  if (!redisScheme.test(text)) {
    throw new ConfigError(
      variable,
      'expected a redis://, rediss:// or redis-cluster:// URL, or off',
    )
  }
  return text
}

function mailerUrl(variable: string, text: string): string {
  if (text === '') {
    // Links written to a log nobody reads would leave real users waiting for mail that never
    // comes: with an https issuer the choice must be made.
    throw new ConfigError(
      variable,
      'must be set when BATON_ISSUER is https://: smtp://… or smtps://… to mail password-reset and verification links, or log to write them to the server log instead',
    )
  }
  if (text === 'log') return text
  let url: URL
  try {
    url = new URL(text)
  } catch {
    // Never the text itself: it may hold a password.
    throw new ConfigError(variable, 'is not a URL; expected log, smtp://… or smtps://…')
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    throw new ConfigError(variable, `expected log, smtp://… or smtps://…, not ${url.protocol}//…`)
  }
  if (url.hostname === '') throw new ConfigError(variable, 'names no host')
  return text
}

function mailFrom(variable: string, text: string): string {
  // One line with an address in it: a line break would let it add headers of its own.
  if (/[\r\n]/.test(text) || !/^[^\s@<>]+@[^\s@<>]+$|<[^\s@<>]+@[^\s@<>]+>$/.test(text)) {
    throw new ConfigError(variable, `"${text}" is not an address or Name <address>`)
  }
  return text
}

/** `text` as an http or https URL, or a ConfigError saying why not. */
function httpUrl(variable: string, text: string): URL {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new ConfigError(variable, `"${text}" is not a URL`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(variable, 'must be an http(s) URL')
  }
  return url
}

function linkUrl(variable: string, text: string): string {
  if (httpUrl(variable, text).searchParams.has('token')) {
    throw new ConfigError(variable, 'must not have a token parameter: Baton adds it')
  }
  return text
}

function orList(items: readonly string[]): string {
  return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`
}

function oneOf<T extends string>(variable: string, text: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(text)) {
    throw new ConfigError(variable, `"${text}" is not one of ${allowed.join(', ')}`)
  }
  return text as T
}

function integer(name: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new ConfigError(name, `"${text}" is not a whole number from ${min} to ${max}`)
  }
  return Number(text)
}

function duration(name: string, text: string, min: number): number {
  const seconds = parseDuration(text)
  if (seconds === null) {
    throw new ConfigError(name, `"${text}" is not a duration (seconds, or e.g. 30s, 15m, 12h, 14d)`)
  }
  if (seconds < min) throw new ConfigError(name, `must be at least ${min} second(s)`)
  return seconds
}

function boolean(name: string, text: string): boolean {
  const value = text.toLowerCase()
  if (['true', '1', 'yes', 'on'].includes(value)) return true
  if (['false', '0', 'no', 'off'].includes(value)) return false
  throw new ConfigError(name, `"${text}" is not true or false`)
}

function hostForUrl(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1'
  return host.includes(':') ? `[${host}]` : host
}

function issuerUrl(variable: string, text: string): string {
  const url = httpUrl(variable, text)
  if (url.search || url.hash) {
    throw new ConfigError(variable, 'must have no query or fragment (RFC 8414)')
  }
  // RFC 8414 compares issuers as strings: keep what the operator wrote, minus a trailing slash.
  return text.replace(/\/+$/, '')
}

function origins(variable: string, text: string): string[] {
  return splitList(text).map((entry) => {
    let url: URL
    try {
      url = new URL(entry)
    } catch {
      throw new ConfigError(variable, `"${entry}" is not an origin such as https://app.example.com`)
    }
    if (url.origin === 'null' || url.origin !== entry.replace(/\/$/, '')) {
      throw new ConfigError(variable, `"${entry}" is not an origin (scheme://host[:port], no path)`)
    }
    return url.origin
  })
}

function oauthClients(variable: string, text: string): OAuthClientConfig[] {
  const clients = splitList(text).map((entry) => {
    const separator = entry.indexOf(':')
    const id = separator === -1 ? entry : entry.slice(0, separator)
    const secret = separator === -1 ? null : entry.slice(separator + 1)
    if (!clientIdPattern.test(id)) {
      throw new ConfigError(variable, `"${id}" is not a valid client id`)
    }
    if (secret !== null && secret.length < 16) {
      throw new ConfigError(variable, `the secret of client "${id}" is shorter than 16 characters`)
    }
    return { id, secret }
  })
  const ids = new Set(clients.map((client) => client.id))
  if (ids.size !== clients.length) throw new ConfigError(variable, 'a client id appears twice')
  return clients
}

function credentials(variable: string, text: string): { id: string; secret: string }[] {
  return splitList(text).map((entry) => {
    const separator = entry.indexOf(':')
    if (separator <= 0 || separator === entry.length - 1) {
      throw new ConfigError(variable, 'each entry must be id:secret')
    }
    const secret = entry.slice(separator + 1)
    if (secret.length < 16) {
      throw new ConfigError(variable, 'each secret must be at least 16 characters')
    }
    return { id: entry.slice(0, separator), secret }
  })
}

// RFC 6749 §3.3 scope-token characters, minus the separators of this setting (`,` and `=`).
const scopeNamePattern = /^[\x21\x23-\x2B\x2D-\x3C\x3E-\x5B\x5D-\x7E]+$/
const rolePattern = /^[^\s,|=]+$/

function scopeDefinitions(variable: string, text: string): ScopeDefinition[] {
  const definitions: ScopeDefinition[] = []
  for (const entry of text.split(/[\s,]+/).filter((part) => part !== '')) {
    const separator = entry.indexOf('=')
    const name = separator === -1 ? entry : entry.slice(0, separator)
    if (!scopeNamePattern.test(name)) {
      throw new ConfigError(variable, `"${entry}" is not a scope name (RFC 6749 §3.3)`)
    }
    if (definitions.some((definition) => definition.name === name)) {
      throw new ConfigError(variable, `the scope "${name}" appears twice`)
    }
    let roles: string[] | null = null
    if (separator !== -1) {
      roles = entry.slice(separator + 1).split('|')
      if (!roles.every((role) => rolePattern.test(role))) {
        throw new ConfigError(
          variable,
          `"${entry}" must list roles as name=role|role, with at least one role`,
        )
      }
    }
    definitions.push({ name, roles })
  }
  return definitions
}

function splitList(text: string): string[] {
  return text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
}
