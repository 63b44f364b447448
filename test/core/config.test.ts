import { describe, expect, it } from 'vitest'
import {
  loadConfig,
  reservedVariables,
  settings,
} from '../../packages/server/src/core/config/config.js'
import { parseDuration } from '../../packages/server/src/core/config/duration.js'
import { ConfigError } from '../../packages/server/src/core/errors.js'

describe('parseDuration', () => {
  it.each([
    ['900', 900],
    ['30s', 30],
    ['15m', 900],
    ['12h', 43_200],
    ['14d', 1_209_600],
    ['2w', 1_209_600],
    [' 5m ', 300],
    ['0', 0],
  ])('%s is %i seconds', (text, seconds) => expect(parseDuration(text)).toBe(seconds))

  it.each(['', '15 minutes', '-5m', '1.5h', 'm', '15M', '1e3', '99999999999999999d'])(
    '%s is refused',
    (text) => expect(parseDuration(text)).toBeNull(),
  )
})

describe('loadConfig', () => {
  it('has defaults that work on one machine with nothing else', () => {
    const config = loadConfig({})
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 3000,
      issuer: 'http://127.0.0.1:3000',
      databaseUrl: 'sqlite:./data/baton.db',
      sessionStoreUrl: 'sqlite:./data/baton.db',
      accessTokenTtl: 900,
      refreshTokenTtl: 1_209_600,
      sessionMaxAge: 7_776_000,
      refreshReuseGrace: 10,
      slidingRefresh: true,
      signingAlg: 'ES256',
      allowedOrigins: [],
      cookieSecure: true,
      cookieName: '__Secure-baton_rt',
      cookiePath: '/auth',
      oauthClients: [{ id: 'baton', secret: null }],
      introspectionCredentials: [],
      scopes: [],
      loginMaxFailures: 5,
    })
  })

  it('wants the mailer chosen when the issuer is https, and takes log when it is chosen', () => {
    expect(loadConfig({}).mailerUrl).toBe('log')
    expect(() => loadConfig({ BATON_ISSUER: 'https://auth.example.com' })).toThrow(
      'BATON_MAILER_URL: must be set when BATON_ISSUER is https://',
    )
    expect(() =>
      loadConfig({ BATON_ISSUER: 'https://auth.example.com', BATON_MAILER_URL: ' ' }),
    ).toThrow('BATON_MAILER_URL: must be set')
    expect(
      loadConfig({ BATON_ISSUER: 'https://auth.example.com', BATON_MAILER_URL: 'log' }).mailerUrl,
    ).toBe('log')
  })

  it('reads every variable', () => {
    const config = loadConfig({
      BATON_HOST: '0.0.0.0',
      BATON_PORT: '8080',
      BATON_ISSUER: 'https://auth.example.com/',
      BATON_MAILER_URL: 'smtps://mailer:secret@mail.example.com',
      BATON_DATABASE_URL: 'memory:',
      BATON_SESSION_STORE_URL: 'sqlite:/tmp/sessions.db',
      BATON_ACCESS_TOKEN_TTL: '5m',
      BATON_REFRESH_TOKEN_TTL: '7d',
      BATON_SESSION_MAX_AGE: '30d',
      BATON_REFRESH_REUSE_GRACE: '0',
      BATON_SLIDING_REFRESH: 'false',
      BATON_SIGNING_ALG: 'EdDSA',
      BATON_ALLOWED_ORIGINS: 'https://app.example.com, http://localhost:5173',
      BATON_COOKIE_SECURE: 'false',
      BATON_OAUTH_CLIENTS: 'web,backend:0123456789abcdef0123',
      BATON_INTROSPECTION_CREDENTIALS: 'api:0123456789abcdef',
      BATON_SCOPES: 'read, write\tadmin:users=admin|ops  https://api.example.com/x',
      BATON_LOGIN_MAX_FAILURES: '10',
    })
    expect(config).toMatchObject({
      host: '0.0.0.0',
      port: 8080,
      issuer: 'https://auth.example.com',
      databaseUrl: 'memory:',
      sessionStoreUrl: 'sqlite:/tmp/sessions.db',
      accessTokenTtl: 300,
      refreshTokenTtl: 604_800,
      sessionMaxAge: 2_592_000,
      refreshReuseGrace: 0,
      slidingRefresh: false,
      signingAlg: 'EdDSA',
      allowedOrigins: ['https://app.example.com', 'http://localhost:5173'],
      cookieSecure: false,
      cookieName: 'baton_rt',
      oauthClients: [
        { id: 'web', secret: null },
        { id: 'backend', secret: '0123456789abcdef0123' },
      ],
      introspectionCredentials: [{ id: 'api', secret: '0123456789abcdef' }],
      scopes: [
        { name: 'read', roles: null },
        { name: 'write', roles: null },
        { name: 'admin:users', roles: ['admin', 'ops'] },
        { name: 'https://api.example.com/x', roles: null },
      ],
      loginMaxFailures: 10,
    })
  })

  it.each([
    ['BATON_PORT', 'eighty'],
    ['BATON_PORT', '70000'],
    ['BATON_ISSUER', 'not a url'],
    ['BATON_ISSUER', 'ftp://example.com'],
    ['BATON_ACCESS_TOKEN_TTL', '15 minutes'],
    ['BATON_ACCESS_TOKEN_TTL', '0'],
    ['BATON_REFRESH_TOKEN_TTL', 'two weeks'],
    ['BATON_SESSION_MAX_AGE', '1d'],
    ['BATON_REFRESH_REUSE_GRACE', '1h'],
    ['BATON_SLIDING_REFRESH', 'maybe'],
    ['BATON_SIGNING_ALG', 'HS256'],
    ['BATON_SIGNING_ALG', 'none'],
    ['BATON_ALLOWED_ORIGINS', 'https://app.example.com/path'],
    ['BATON_ALLOWED_ORIGINS', 'app.example.com'],
    ['BATON_COOKIE_SECURE', 'nope'],
    ['BATON_COOKIE_NAME', 'bad name;'],
    ['BATON_OAUTH_CLIENTS', 'web:short'],
    ['BATON_OAUTH_CLIENTS', 'a,a'],
    ['BATON_INTROSPECTION_CREDENTIALS', 'nosecret'],
    ['BATON_SCOPES', 'read read'],
    ['BATON_SCOPES', 'admin='],
    ['BATON_SCOPES', 'admin=ops||x'],
    ['BATON_SCOPES', 'say"hi"'],
    ['BATON_SCOPES', '=admin'],
    ['BATON_LOGIN_MAX_FAILURES', '0'],
    ['BATON_LOG_LEVEL', 'loud'],
    ['BATON_AUDIENCE', 'http://127.0.0.1:3000'],
  ])('stops on a bad %s (%s) with a message naming it', (variable, value) => {
    let error: unknown
    try {
      loadConfig({ [variable]: value })
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).variable).toBe(variable)
    expect((error as ConfigError).message).toContain(variable)
  })

  it('takes a refresh token shorter than the access token while sliding refresh is on and no OAuth client is configured', () => {
    const short = { BATON_ACCESS_TOKEN_TTL: '10s', BATON_REFRESH_TOKEN_TTL: '2s' }
    const config = loadConfig({ ...short, BATON_OAUTH_CLIENTS: 'none' })
    expect(config).toMatchObject({
      accessTokenTtl: 10,
      refreshTokenTtl: 2,
      slidingRefresh: true,
      oauthClients: [],
    })
    expect(() =>
      loadConfig({ BATON_REFRESH_TOKEN_TTL: '1m', BATON_SLIDING_REFRESH: 'false' }),
    ).toThrow(/BATON_REFRESH_TOKEN_TTL: must be longer than BATON_ACCESS_TOKEN_TTL while/)
    // The default client, `baton`, is a configured client.
    expect(() => loadConfig(short)).toThrow(
      /BATON_REFRESH_TOKEN_TTL: must be longer than BATON_ACCESS_TOKEN_TTL \(2s is not longer than 10s\) while OAuth clients are configured \(BATON_OAUTH_CLIENTS=baton\)/,
    )
  })

  it('reads BATON_OAUTH_CLIENTS=none as no client, in any case', () => {
    expect(loadConfig({ BATON_OAUTH_CLIENTS: 'none' }).oauthClients).toEqual([])
    expect(loadConfig({ BATON_OAUTH_CLIENTS: 'NONE' }).oauthClients).toEqual([])
    expect(loadConfig({}).oauthClients).toEqual([{ id: 'baton', secret: null }])
  })

  it('refuses a __Secure- cookie without Secure, naming the cookie variable', () => {
    expect(() =>
      loadConfig({ BATON_COOKIE_SECURE: 'false', BATON_COOKIE_NAME: '__Secure-x' }),
    ).toThrow(/BATON_COOKIE_NAME/)
  })
})

describe('the settings table', () => {
  it('gives each field of BatonConfig one variable and one flag, none twice', () => {
    expect(settings.map((setting) => setting.key).sort()).toEqual(
      Object.keys(loadConfig({})).sort(),
    )
    const variables = settings.map((setting) => setting.variable)
    expect(new Set(variables).size).toBe(variables.length)
    for (const variable of variables) expect(variable).toMatch(/^BATON_[A-Z0-9_]+$/)
    const flags = settings.map((setting) => setting.flag).filter((flag) => flag !== null)
    expect(new Set(flags).size).toBe(flags.length)
  })

  it('reads an unset and an empty variable as its default', () => {
    const unset = loadConfig({})
    expect(loadConfig(Object.fromEntries(settings.map((s) => [s.variable, ' '])))).toEqual(unset)
    for (const setting of settings) {
      if (typeof setting.default !== 'string') continue
      expect(loadConfig({ [setting.variable]: setting.default }), setting.variable).toEqual(unset)
    }
  })

  it('derives the defaults that depend on other settings', () => {
    expect(loadConfig({ BATON_HOST: '::1', BATON_PORT: '8080' }).issuer).toBe('http://[::1]:8080')
    expect(loadConfig({ BATON_HOST: '0.0.0.0' }).issuer).toBe('http://127.0.0.1:3000')
    expect(loadConfig({ BATON_DATABASE_URL: 'memory:' }).sessionStoreUrl).toBe('memory:')
    expect(loadConfig({}).revocationChannelUrl).toBeNull()
    const redis = loadConfig({ BATON_SESSION_STORE_URL: 'redis://127.0.0.1:6379' })
    expect(redis.revocationChannelUrl).toBe('redis://127.0.0.1:6379')
    const off = { BATON_SESSION_STORE_URL: 'redis://127.0.0.1:6379' }
    expect(
      loadConfig({ ...off, BATON_REVOCATION_CHANNEL_URL: 'off' }).revocationChannelUrl,
    ).toBeNull()
    expect(loadConfig({ BATON_COOKIE_SECURE: 'false' }).cookieName).toBe('baton_rt')
    expect(loadConfig({}).cookieDomain).toBeNull()
  })
})

describe('a BATON_ variable that is no setting', () => {
  const errorOf = (env: Record<string, string | undefined>): ConfigError => {
    try {
      loadConfig(env)
    } catch (error) {
      if (error instanceof ConfigError) return error
      throw error
    }
    throw new Error('loadConfig accepted it')
  }

  it.each([
    ['BATON_ACESS_TOKEN_TTL', 'BATON_ACCESS_TOKEN_TTL'],
    ['BATON_PROT', 'BATON_PORT'],
    ['BATON_DATABSE_URL', 'BATON_DATABASE_URL'],
    ['BATON_access_token_ttl', 'BATON_ACCESS_TOKEN_TTL'],
    ['BATON_SESION_STORE_URLS', 'BATON_SESSION_STORE_URL'],
  ])('%s stops loading and suggests %s', (misspelt, meant) => {
    const error = errorOf({ [misspelt]: '1m' })
    expect(error.variable).toBe(misspelt)
    expect(error.message).toBe(`${misspelt}: not a Baton setting; did you mean ${meant}?`)
  })

  it('suggests nothing when no setting is near, and says where they are listed', () => {
    const error = errorOf({ BATON_DB: 'postgres://x' })
    expect(error.message).toBe(
      'BATON_DB: not a Baton setting; the settings are listed in docs/configuration.md and by `baton serve --help`',
    )
  })

  it('names every unknown variable, and checks even an empty one', () => {
    const error = errorOf({ BATON_ZZZ: '', BATON_PROT: '1', BATON_HOST: 'localhost' })
    expect(error.message).toBe(
      'BATON_PROT: not a Baton setting; did you mean BATON_PORT? (neither are BATON_ZZZ)',
    )
  })

  it('stops before any value is read, so the misspelling is the error shown', () => {
    expect(errorOf({ BATON_PORT: 'eighty', BATON_POTR: '80' }).variable).toBe('BATON_POTR')
  })

  it('leaves other variables alone, including lower-case baton_ ones and unset entries', () => {
    expect(() =>
      loadConfig({ PATH: '/bin', BATONX: '1', baton_port: 'x', BATON_NOTHING: undefined }),
    ).not.toThrow()
  })

  it('lets the names reserved for programs around Baton through, and none of them is a setting', () => {
    expect(() =>
      loadConfig({
        BATON_URL: 'http://127.0.0.1:3000',
        BATON_CMD: 'npm start',
        BATON_DIR: '.',
        BATON_PID: '42',
      }),
    ).not.toThrow()
    for (const name of Object.keys(reservedVariables)) {
      expect(settings.map((setting) => setting.variable)).not.toContain(name)
    }
    // Reserved means exactly those: a slip of one still stops the start.
    expect(errorOf({ BATON_URLS: 'x' }).variable).toBe('BATON_URLS')
  })

  it('is checked against process.env by default', () => {
    process.env['BATON_ACESS_TOKEN_TTL'] = '1m'
    try {
      expect(() => loadConfig()).toThrow(/did you mean BATON_ACCESS_TOKEN_TTL\?/)
    } finally {
      delete process.env['BATON_ACESS_TOKEN_TTL']
    }
  })
})
