import { Counter, Registry, collectDefaultMetrics } from 'prom-client'
import type { BatonObserver } from '../core/events.js'
import { LatencyHistogram } from './latency-histogram.js'

/** Prometheus metrics of one server instance (its own registry, so tests can run several). */
export interface ServerMetrics {
  registry: Registry
  observer: BatonObserver
  /** Records one request's latency; `route` is the route pattern (undefined when unmatched). */
  observeRequest(
    method: string,
    route: string | undefined,
    statusCode: number,
    elapsedMs: number,
  ): void
}

export function createServerMetrics(): ServerMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'baton_' })
  const logins = new Counter({
    name: 'baton_logins_total',
    help: 'Sign-ups and sign-ins by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  })
  const refreshes = new Counter({
    name: 'baton_refreshes_total',
    help: 'Refresh attempts by outcome (rotated, sliding, grace_replay, reused, expired, revoked, invalid, error)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  })
  const revocations = new Counter({
    name: 'baton_session_revocations_total',
    help: 'Sessions revoked, by reason',
    labelNames: ['reason'] as const,
    registers: [registry],
  })
  const mails = new Counter({
    name: 'baton_mails_total',
    help: 'Password-reset and verification mails handed to the mailer (sent) or not (failed)',
    labelNames: ['kind', 'outcome'] as const,
    registers: [registry],
  })
  const requestDuration = new LatencyHistogram({
    name: 'baton_http_request_duration_seconds',
    help: 'HTTP request latency',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registry,
  })
  const series = new Map<string, ReturnType<LatencyHistogram['series']>>()
  const observeRequest: ServerMetrics['observeRequest'] = (
    method,
    route,
    statusCode,
    elapsedMs,
  ) => {
    const key = `${method} ${route ?? ''} ${statusCode}`
    let target = series.get(key)
    if (target === undefined) {
      target = requestDuration.series({
        method,
        route: route ?? 'unmatched',
        status_code: String(statusCode),
      })
      series.set(key, target)
    }
    requestDuration.observe(target, elapsedMs / 1000)
  }
  return {
    registry,
    observeRequest,
    observer: {
      login: (outcome) => logins.inc({ outcome }),
      refresh: (outcome) => refreshes.inc({ outcome }),
      revocation: (reason, sessions) => revocations.inc({ reason }, sessions),
      mail: (kind, outcome) => mails.inc({ kind, outcome }),
    },
  }
}
