import { signingAlgorithms, type SigningAlgorithm } from '@baton-auth/verify/shared'
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
  /** How often an instance rereads the key ring (seconds). */
  keyReloadInterval: number
  /** Redis where revocations are announced to middleware; null: not announced. */
  revocationChannelUrl: string | null
}

/** Each variable of API.md "Configuration", with its documentation and default. */
export const configVariables = {
  BATON_HOST: { default: '127.0.0.1', doc: 'address the server listens on' },
  BATON_PORT: { default: '3000', doc: 'port the server listens on' },
  BATON_ISSUER: {
    default: 'http://<host>:<port>',
    doc: '`iss` of every token, base of the metadata URLs',
  },
  BATON_AUDIENCE: { default: 'baton', doc: '`aud` of access tokens (the APIs that accept them)' },
  BATON_DATABASE_URL: {
    default: 'sqlite:./data/baton.db',
    doc: 'users, keys and audit events: `sqlite:<path>`, `postgres://user:pass@host:5432/db[?schema=name]`, `memory:`',
  },
  BATON_SESSION_STORE_URL: {
    default: 'same as the database',
    doc: 'sessions, refresh tokens, deny-list, rate-limit counters: anything the database takes, or `redis://[user:pass@]host:6379[/db][?prefix=baton:]`, `rediss://…` (TLS), `redis-cluster://host:port,host:port`',
  },
  BATON_ACCESS_TOKEN_TTL: { default: '15m', doc: 'access token lifetime' },
  BATON_REFRESH_TOKEN_TTL: {
    default: '14d',
    doc: 'refresh token lifetime (idle timeout of a session)',
  },
  BATON_SESSION_MAX_AGE: { default: '90d', doc: 'absolute lifetime of a session' },
  BATON_REFRESH_REUSE_GRACE: {
    default: '10s',
    doc: 'grace window for a retried refresh; `0` turns it off',
  },
  BATON_SLIDING_REFRESH: {
    default: 'true',
    doc: 'the "valid access, expired refresh" row of the two-token table',
  },
  BATON_SIGNING_ALG: { default: 'ES256', doc: '`ES256`, `EdDSA` or `RS256`' },
  BATON_ALLOWED_ORIGINS: {
    default: '',
    doc: "comma-separated origins allowed to use the refresh cookie besides the issuer's",
  },
  BATON_COOKIE_SECURE: {
    default: 'true',
    doc: '`false` only for plain-HTTP development on a non-localhost name',
  },
  BATON_COOKIE_NAME: {
    default: '__Secure-baton_rt (baton_rt when not secure)',
    doc: 'name of the refresh cookie',
  },
  BATON_COOKIE_PATH: { default: '/auth', doc: 'path of the refresh cookie' },
  BATON_COOKIE_DOMAIN: { default: '', doc: 'domain of the refresh cookie (host-only when empty)' },
  BATON_OAUTH_CLIENTS: {
    default: 'baton',
    doc: 'OAuth clients: `id` (public) or `id:secret` (confidential), comma-separated',
  },
  BATON_INTROSPECTION_CREDENTIALS: {
    default: '',
    doc: '`id:secret` pairs for `/oauth/introspect`',
  },
  BATON_SCOPES: {
    default: '',
    doc: 'scopes OAuth clients may request, space- or comma-separated; `name=role|role` limits one to users with one of those roles (e.g. `read write admin:users=admin|ops`)',
  },
  BATON_LOGIN_MAX_FAILURES: {
    default: '5',
    doc: 'failed logins per account per window before 429',
  },
  BATON_LOGIN_FAILURE_WINDOW: { default: '15m', doc: 'window of `BATON_LOGIN_MAX_FAILURES`' },
  BATON_TRUST_PROXY: {
    default: 'false',
    doc: 'take the client IP from X-Forwarded-For (behind your own proxy only)',
  },
  BATON_LOG_LEVEL: {
    default: 'info',
    doc: 'pino level: fatal, error, warn, info, debug, trace, silent',
  },
  BATON_KEY_RELOAD_INTERVAL: {
    default: '60s',
    doc: 'how often an instance rereads the shared key ring',
  },
  BATON_REVOCATION_CHANNEL_URL: {
    default: 'the session store, when it is Redis',
    doc: 'Redis where revoked sessions are announced to middleware (`redis://…`), or `off`',
  },
} as const

export type ConfigVariable = keyof typeof configVariables

type Env = Partial<Record<string, string | undefined>>

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

/**
 * Reads and validates every setting once. A bad value throws `ConfigError` naming the
 * variable, so start-up stops with a message an operator can act on.
 */
export function loadConfig(env: Env = process.env): BatonConfig {
  const read = (name: ConfigVariable): string | undefined => {
    const value = env[name]
    return value === undefined || value.trim() === '' ? undefined : value.trim()
  }

  const host = read('BATON_HOST') ?? '127.0.0.1'
  const port = integer('BATON_PORT', read('BATON_PORT') ?? '3000', 0, 65_535)
  const issuer = issuerUrl(read('BATON_ISSUER') ?? `http://${hostForUrl(host)}:${port}`)
  const databaseUrl = read('BATON_DATABASE_URL') ?? 'sqlite:./data/baton.db'
  const cookieSecure = boolean('BATON_COOKIE_SECURE', read('BATON_COOKIE_SECURE') ?? 'true')
  const cookieName = read('BATON_COOKIE_NAME') ?? (cookieSecure ? '__Secure-baton_rt' : 'baton_rt')
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(cookieName)) {
    throw new ConfigError('BATON_COOKIE_NAME', `"${cookieName}" is not a valid cookie name`)
  }
  if (!cookieSecure && /^__(Secure|Host)-/.test(cookieName)) {
    throw new ConfigError(
      'BATON_COOKIE_NAME',
      `browsers refuse a "${cookieName}" cookie without Secure; rename it or set BATON_COOKIE_SECURE=true`,
    )
  }
  const cookiePath = read('BATON_COOKIE_PATH') ?? '/auth'
  if (!cookiePath.startsWith('/') || /[;\s]/.test(cookiePath)) {
    throw new ConfigError(
      'BATON_COOKIE_PATH',
      `"${cookiePath}" must start with / and hold no ; or spaces`,
    )
  }
  const cookieDomain = read('BATON_COOKIE_DOMAIN') ?? null
  if (cookieDomain !== null && !/^\.?[A-Za-z0-9.-]+$/.test(cookieDomain)) {
    throw new ConfigError('BATON_COOKIE_DOMAIN', `"${cookieDomain}" is not a domain`)
  }

  const accessTokenTtl = duration(
    'BATON_ACCESS_TOKEN_TTL',
    read('BATON_ACCESS_TOKEN_TTL') ?? '15m',
    1,
  )
  const refreshTokenTtl = duration(
    'BATON_REFRESH_TOKEN_TTL',
    read('BATON_REFRESH_TOKEN_TTL') ?? '14d',
    1,
  )
  const sessionMaxAge = duration('BATON_SESSION_MAX_AGE', read('BATON_SESSION_MAX_AGE') ?? '90d', 1)
  if (refreshTokenTtl <= accessTokenTtl) {
    throw new ConfigError(
      'BATON_REFRESH_TOKEN_TTL',
      'must be longer than BATON_ACCESS_TOKEN_TTL, or every access token outlives its session',
    )
  }
  if (sessionMaxAge < refreshTokenTtl) {
    throw new ConfigError('BATON_SESSION_MAX_AGE', 'must be at least BATON_REFRESH_TOKEN_TTL')
  }
  const refreshReuseGrace = duration(
    'BATON_REFRESH_REUSE_GRACE',
    read('BATON_REFRESH_REUSE_GRACE') ?? '10s',
    0,
  )
  if (refreshReuseGrace > 300) {
    throw new ConfigError(
      'BATON_REFRESH_REUSE_GRACE',
      'at most 5m: a long window lets a stolen token ride along with its owner',
    )
  }

  const signingAlg = read('BATON_SIGNING_ALG') ?? 'ES256'
  if (!signingAlgorithms.includes(signingAlg as SigningAlgorithm)) {
    throw new ConfigError(
      'BATON_SIGNING_ALG',
      `"${signingAlg}" is not one of ${signingAlgorithms.join(', ')}`,
    )
  }

  const loginFailureWindow = duration(
    'BATON_LOGIN_FAILURE_WINDOW',
    read('BATON_LOGIN_FAILURE_WINDOW') ?? '15m',
    1,
  )
  const logLevel = read('BATON_LOG_LEVEL') ?? 'info'
  if (!logLevels.includes(logLevel)) {
    throw new ConfigError('BATON_LOG_LEVEL', `"${logLevel}" is not one of ${logLevels.join(', ')}`)
  }

  const audience = read('BATON_AUDIENCE') ?? 'baton'
  if (audience === issuer) {
    // Refresh tokens carry the issuer as audience; an access audience equal to it would leave
    // `typ` as the only thing telling the two apart.
    throw new ConfigError(
      'BATON_AUDIENCE',
      'must differ from the issuer (refresh tokens use that audience)',
    )
  }

  return {
    host,
    port,
    issuer,
    audience,
    databaseUrl,
    sessionStoreUrl: read('BATON_SESSION_STORE_URL') ?? databaseUrl,
    accessTokenTtl,
    refreshTokenTtl,
    sessionMaxAge,
    refreshReuseGrace,
    slidingRefresh: boolean('BATON_SLIDING_REFRESH', read('BATON_SLIDING_REFRESH') ?? 'true'),
    signingAlg: signingAlg as SigningAlgorithm,
    allowedOrigins: origins(read('BATON_ALLOWED_ORIGINS') ?? ''),
    cookieSecure,
    cookieName,
    cookiePath,
    cookieDomain,
    oauthClients: oauthClients(read('BATON_OAUTH_CLIENTS') ?? 'baton'),
    introspectionCredentials: credentials(read('BATON_INTROSPECTION_CREDENTIALS') ?? ''),
    scopes: scopeDefinitions(read('BATON_SCOPES') ?? ''),
    loginMaxFailures: integer(
      'BATON_LOGIN_MAX_FAILURES',
      read('BATON_LOGIN_MAX_FAILURES') ?? '5',
      1,
      1_000_000,
    ),
    loginFailureWindow,
    trustProxy: boolean('BATON_TRUST_PROXY', read('BATON_TRUST_PROXY') ?? 'false'),
    logLevel,
    keyReloadInterval: duration(
      'BATON_KEY_RELOAD_INTERVAL',
      read('BATON_KEY_RELOAD_INTERVAL') ?? '60s',
      1,
    ),
    revocationChannelUrl: revocationChannelUrl(
      read('BATON_REVOCATION_CHANNEL_URL'),
      read('BATON_SESSION_STORE_URL') ?? databaseUrl,
    ),
  }
}

const redisScheme = /^(?:redis|rediss|redis-cluster):\/\//i

function revocationChannelUrl(text: string | undefined, sessionStoreUrl: string): string | null {
  if (text === undefined) return redisScheme.test(sessionStoreUrl) ? sessionStoreUrl : null
  if (text === 'off' || text === '') return null
  if (!redisScheme.test(text)) {
    throw new ConfigError(
      'BATON_REVOCATION_CHANNEL_URL',
      'expected a redis://, rediss:// or redis-cluster:// URL, or off',
    )
  }
  return text
}

function integer(name: ConfigVariable, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new ConfigError(name, `"${text}" is not a whole number from ${min} to ${max}`)
  }
  return Number(text)
}

function duration(name: ConfigVariable, text: string, min: number): number {
  const seconds = parseDuration(text)
  if (seconds === null) {
    throw new ConfigError(name, `"${text}" is not a duration (seconds, or e.g. 30s, 15m, 12h, 14d)`)
  }
  if (seconds < min) throw new ConfigError(name, `must be at least ${min} second(s)`)
  return seconds
}

function boolean(name: ConfigVariable, text: string): boolean {
  const value = text.toLowerCase()
  if (['true', '1', 'yes', 'on'].includes(value)) return true
  if (['false', '0', 'no', 'off'].includes(value)) return false
  throw new ConfigError(name, `"${text}" is not true or false`)
}

function hostForUrl(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1'
  return host.includes(':') ? `[${host}]` : host
}

function issuerUrl(text: string): string {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new ConfigError('BATON_ISSUER', `"${text}" is not a URL`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError('BATON_ISSUER', 'must be an http(s) URL')
  }
  if (url.search || url.hash) {
    throw new ConfigError('BATON_ISSUER', 'must have no query or fragment (RFC 8414)')
  }
  // RFC 8414 compares issuers as strings: keep what the operator wrote, minus a trailing slash.
  return text.replace(/\/+$/, '')
}

function origins(text: string): string[] {
  return splitList(text).map((entry) => {
    let url: URL
    try {
      url = new URL(entry)
    } catch {
      throw new ConfigError(
        'BATON_ALLOWED_ORIGINS',
        `"${entry}" is not an origin such as https://app.example.com`,
      )
    }
    if (url.origin === 'null' || url.origin !== entry.replace(/\/$/, '')) {
      throw new ConfigError(
        'BATON_ALLOWED_ORIGINS',
        `"${entry}" is not an origin (scheme://host[:port], no path)`,
      )
    }
    return url.origin
  })
}

function oauthClients(text: string): OAuthClientConfig[] {
  const clients = splitList(text).map((entry) => {
    const separator = entry.indexOf(':')
    const id = separator === -1 ? entry : entry.slice(0, separator)
    const secret = separator === -1 ? null : entry.slice(separator + 1)
    if (!clientIdPattern.test(id)) {
      throw new ConfigError('BATON_OAUTH_CLIENTS', `"${id}" is not a valid client id`)
    }
    if (secret !== null && secret.length < 16) {
      throw new ConfigError(
        'BATON_OAUTH_CLIENTS',
        `the secret of client "${id}" is shorter than 16 characters`,
      )
    }
    return { id, secret }
  })
  const ids = new Set(clients.map((client) => client.id))
  if (ids.size !== clients.length)
    throw new ConfigError('BATON_OAUTH_CLIENTS', 'a client id appears twice')
  return clients
}

function credentials(text: string): { id: string; secret: string }[] {
  return splitList(text).map((entry) => {
    const separator = entry.indexOf(':')
    if (separator <= 0 || separator === entry.length - 1) {
      throw new ConfigError('BATON_INTROSPECTION_CREDENTIALS', 'each entry must be id:secret')
    }
    const secret = entry.slice(separator + 1)
    if (secret.length < 16) {
      throw new ConfigError(
        'BATON_INTROSPECTION_CREDENTIALS',
        'each secret must be at least 16 characters',
      )
    }
    return { id: entry.slice(0, separator), secret }
  })
}

// RFC 6749 §3.3 scope-token characters, minus the separators of this setting (`,` and `=`).
const scopeNamePattern = /^[\x21\x23-\x2B\x2D-\x3C\x3E-\x5B\x5D-\x7E]+$/
const rolePattern = /^[^\s,|=]+$/

function scopeDefinitions(text: string): ScopeDefinition[] {
  const definitions: ScopeDefinition[] = []
  for (const entry of text.split(/[\s,]+/).filter((part) => part !== '')) {
    const separator = entry.indexOf('=')
    const name = separator === -1 ? entry : entry.slice(0, separator)
    if (!scopeNamePattern.test(name)) {
      throw new ConfigError('BATON_SCOPES', `"${entry}" is not a scope name (RFC 6749 §3.3)`)
    }
    if (definitions.some((definition) => definition.name === name)) {
      throw new ConfigError('BATON_SCOPES', `the scope "${name}" appears twice`)
    }
    let roles: string[] | null = null
    if (separator !== -1) {
      roles = entry.slice(separator + 1).split('|')
      if (!roles.every((role) => rolePattern.test(role))) {
        throw new ConfigError(
          'BATON_SCOPES',
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
