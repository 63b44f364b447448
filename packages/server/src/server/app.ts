import fastifyCors from '@fastify/cors'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, {
  LogController,
  type FastifyInstance,
  type FastifyServerOptions,
  type onSendHookHandler,
} from 'fastify'
import secureJSON from 'secure-json-parse'
import { createBaton, type Baton } from '../core/baton.js'
import { createArgon2Hasher } from '../passwords/argon2-hasher.js'
import type { Clock } from '../core/clock.js'
import type { BatonConfig } from '../core/config/config.js'
import type { DatabaseStore, Mailer, PasswordHasher, SessionStore } from '../core/ports.js'
import type { BatonObserver } from '../core/events.js'
import { createMailer, loadMailTemplates, type MailLog } from '../mail/mailer.js'
import { accountPagesRoutes } from './account-pages.js'
import { openRevocationAnnouncer } from './engine.js'
import { frameworkErrorHandler, installErrorHandler, maxParamLength } from './error-handler.js'
import { createServerMetrics, type ServerMetrics } from './metrics.js'
import { buildOpenApiDocument, collectRoutes, serverVersion } from './openapi.js'
import { RefreshCookie } from './refresh-delivery.js'
import { adminRoutes } from './routes/admin.js'
import { authAccountRoutes } from './routes/auth-account.js'
import { authRecoveryRoutes } from './routes/auth-recovery.js'
import { authTokenRoutes } from './routes/auth-tokens.js'
import { oauthRoutes } from './routes/oauth.js'
import { operationsRoutes } from './routes/operations.js'

/** docs/api.md: bodies over 16 KiB get 413. */
export const bodyLimit = 16 * 1024

export interface BuildServerOptions {
  config: BatonConfig
  database: DatabaseStore
  sessions: SessionStore
  clock?: Clock
  /** Default: argon2id (`createArgon2Hasher`), the only hasher the server ships. */
  hasher?: PasswordHasher
  /**
   * Default: the one BATON_MAILER_URL names (`createMailer`: the server log, or SMTP). The
   * server closes it when it closes.
   */
  mailer?: Mailer
  /** A pino logger config or instance, as Fastify takes it; defaults to the configured level. */
  logger?: FastifyServerOptions['logger'] | FastifyServerOptions['loggerInstance']
}

export interface BatonServer {
  app: FastifyInstance
  baton: Baton
  metrics: ServerMetrics
}

/**
 * Log lines never carry a credential: headers are not logged at all, query strings are cut
 * (a client may put a token there), and the redact list covers anything that slips through.
 */
export const loggerRedaction = {
  paths: [
    'req.headers.authorization',
    'req.headers.cookie',
    'res.headers["set-cookie"]',
    'headers.authorization',
    'headers.cookie',
    '*.password',
    '*.refreshToken',
    '*.accessToken',
    '*.refresh_token',
    '*.access_token',
    '*.client_secret',
  ],
  censor: '[redacted]',
}

export const requestSerializers = {
  req(request: { method: string; url: string; ip?: string }) {
    return { method: request.method, url: request.url.split('?')[0], ip: request.ip }
  },
}

/** The logger Baton runs with; tests add a `stream` to read what it writes. */
export function loggerOptions(level: string) {
  return { level, redact: loggerRedaction, serializers: requestSerializers }
}

/** The Fastify app speaking docs/api.md, over the given stores. Call `app.listen` or `app.inject`. */
export async function buildServer(options: BuildServerOptions): Promise<BatonServer> {
  const { config } = options
  // Before anything is opened: a bad template directory stops the start with a ConfigError.
  const mailTemplates = loadMailTemplates(config.mailTemplates)
  const metrics = createServerMetrics()
  let announceFailed = (_error: unknown): void => undefined
  const announcer = await openRevocationAnnouncer(config.revocationChannelUrl, (error) =>
    announceFailed(error),
  )
  // Mail goes out after the answer; the app's logger exists only once the engine does.
  let mailLog: FastifyInstance['log'] | null = null
  const observer: BatonObserver = {
    ...metrics.observer,
    mail(kind, outcome, error) {
      metrics.observer.mail?.(kind, outcome)
      if (outcome === 'failed') {
        // The error's message only: never the message itself, which holds the link.
        mailLog?.warn(
          { kind, detail: error instanceof Error ? error.message : String(error) },
          'could not send mail',
        )
      }
    },
    ...announcer.observer,
  }
  const toLog: MailLog = { info: (fields, message) => mailLog?.info(fields, message) }
  const mailer = options.mailer ?? createMailer(config, toLog)
  const baton = await createBaton({
    config,
    database: options.database,
    sessions: options.sessions,
    clock: options.clock,
    hasher: options.hasher ?? createArgon2Hasher(),
    mailer,
    mailTemplates,
    observer,
  })

  // At `silent` Fastify still builds a child logger per request: build none at all.
  const logger =
    options.logger ?? (config.logLevel === 'silent' ? false : loggerOptions(config.logLevel))
  const app = Fastify({
    ...(isLoggerInstance(logger) ? { loggerInstance: logger } : { logger }),
    // Fastify's two lines per request cost a third of a cached `/auth/me`; the access log below
    // is one line, and only when asked for. (Fastify 5.12 moved the setting into a LogController
    // and warns on the top-level option at every start.)
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit,
    // Past 100 characters the router would refuse a parameter before any schema runs; the
    // params' schemas set the real limits and say them in our words. Past this one the router
    // still refuses, and frameworkErrors answers it (and an undecodable path) in our shape.
    routerOptions: { maxParamLength },
    frameworkErrors: frameworkErrorHandler(metrics),
    trustProxy: config.trustProxy,
    // Wrong types are refused, not coerced: `{"email": 5}` is a client bug worth reporting.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>()

  // Our JSON parser: an empty body is "no body" (browsers and SDKs send them on /auth/refresh),
  // and prototype-poisoning keys are refused like Fastify's own parser does.
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'string', bodyLimit },
    (_request, body, done) => {
      const text = typeof body === 'string' ? body : body.toString('utf8')
      if (text.trim() === '') return done(null, undefined)
      try {
        done(
          null,
          secureJSON.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' }),
        )
      } catch {
        done(new SyntaxError('malformed JSON'), undefined)
      }
    },
  )

  // Before any route, `@fastify/cors`' included: the document lists what Fastify registers.
  const registeredRoutes = collectRoutes(app)
  installErrorHandler(app, metrics)
  if (config.allowedOrigins.length > 0) {
    // An allowed origin's page calls Baton cross-origin with credentials (the refresh cookie):
    // the browser lets it read the answers only with these headers. Exact origins, never `*`.
    const allowed = new Set(config.allowedOrigins)
    await app.register(fastifyCors, {
      origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
      credentials: true,
      methods: ['GET', 'POST', 'DELETE'],
      allowedHeaders: [
        ...new Set([
          'content-type',
          'authorization',
          config.accessTokenHeader,
          'baton-token-delivery',
        ]),
      ],
      // Not CORS-safelisted: without these a page on another origin cannot read when to retry
      // (429, 503) or the server's clock, which the client corrects its own by.
      exposedHeaders: ['date', 'retry-after'],
      maxAge: 600,
    })
  }

  // Latency is recorded, and the access line written, when the payload is ready (onSend), per
  // route with its pattern captured here: an onResponse hook makes Fastify listen for every response's 'finish', and reading
  // `request.routeOptions` per request builds a fresh object; together they cost more than the
  // rest of a cached bearer request.
  const { accessLog } = config
  app.addHook('onRoute', (route) => {
    const pattern = route.url
    const hook: onSendHookHandler = (request, reply, payload, done) => {
      const elapsed = reply.elapsedTime
      metrics.observeRequest(request.method, pattern, reply.statusCode, elapsed)
      if (accessLog) {
        request.log.info(
          {
            method: request.method,
            // Never the query string: a client may put a token there.
            path: request.url.split('?', 1)[0],
            route: pattern,
            status: reply.statusCode,
            ms: Math.round(elapsed * 10) / 10,
            ip: request.ip,
          },
          'request',
        )
      }
      done(null, payload)
    }
    route.onSend = [...asArray(route.onSend), hook]
  })
  app.addHook('onClose', async () => {
    baton.close()
    await announcer.close()
    await mailer.close?.()
  })
  mailLog = app.log
  if (
    options.mailer === undefined &&
    config.mailerUrl === 'log' &&
    /^https:/i.test(config.issuer)
  ) {
    app.log.warn(
      'BATON_MAILER_URL=log: password-reset and verification links are written to this log, ' +
        'not mailed; set an smtp:// or smtps:// URL for real users',
    )
  }
  announceFailed = (error) =>
    app.log.warn(
      { detail: error instanceof Error ? error.message : String(error) },
      'could not announce a revocation on the revocation channel',
    )

  const cookie = new RefreshCookie(config)
  const { accessTokenHeader } = config
  await app.register(authTokenRoutes, { baton, cookie, accessTokenHeader })
  await app.register(authAccountRoutes, { baton, accessTokenHeader })
  await app.register(authRecoveryRoutes, { baton, accessTokenHeader })
  await app.register(adminRoutes, { baton, accessTokenHeader })
  await app.register(operationsRoutes, {
    baton,
    metrics,
    openapi: () => buildOpenApiDocument(registeredRoutes(), config, serverVersion()),
  })
  await app.register(oauthRoutes, { baton })
  if (config.accountPages) await app.register(accountPagesRoutes, { base: config.accountPagesPath })
  return { app, baton, metrics }
}

function asArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return []
  return Array.isArray(value) ? value : [value]
}

function isLoggerInstance(logger: unknown): logger is FastifyServerOptions['loggerInstance'] {
  return (
    typeof logger === 'object' &&
    logger !== null &&
    typeof (logger as { child?: unknown }).child === 'function'
  )
}
