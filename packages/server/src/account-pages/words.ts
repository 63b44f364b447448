import type { BatonClientError, SessionEndReason } from '@baton-auth/client'

/** What a person reads when a call fails: never a raw code. */
const messages: Record<string, string> = {
  invalid_credentials: 'That email and password do not match an account.',
  email_taken: 'An account with this email already exists. Sign in instead?',
  weak_password: 'This password is among the most common ones. Choose one that is harder to guess.',
  network_error: 'The server could not be reached. Check your connection and try again.',
  store_unavailable: 'The service is busy for a moment. Please try again.',
  csrf_origin_mismatch: 'This page is not allowed to sign you in. Open it from its own address.',
  login_required: 'Please sign in.',
  session_revoked: 'You were signed out on this device.',
  refresh_token_expired: 'Your session has expired. Please sign in again.',
  refresh_token_reused:
    'For your safety you were signed out: your session was used from two places.',
  not_found: 'That device is no longer signed in.',
  invalid_link: 'This link is invalid or has expired. Ask for a new one.',
  account_disabled: 'This account is disabled. Contact the people who run this service.',
  email_not_verified:
    'Please confirm your email address first: follow the link we sent you, or ask for a new one.',
}

export function describeError(error: unknown): string {
  const { code, status, retryAfter, message } = (error ?? {}) as Partial<BatonClientError>
  if (code === 'rate_limited') {
    const wait = retryAfter === undefined ? 'a while' : durationWords(retryAfter)
    return `Too many attempts. Try again in ${wait}.`
  }
  if (code === 'invalid_request' && typeof message === 'string') {
    // The server names the field in plain words ("password must be at least 8 characters").
    return `${message.charAt(0).toUpperCase()}${message.slice(1)}`.replace(/\.?$/, '.')
  }
  if (code !== undefined && Object.hasOwn(messages, code)) return messages[code] ?? ''
  if (status !== undefined && status >= 500)
    return 'Something went wrong on the server. Please try again.'
  return 'Something went wrong. Please try again.'
}

const endings: Record<SessionEndReason | 'password_reset', string> = {
  expired: 'Your session has expired. Please sign in again.',
  revoked: 'You were signed out from another device.',
  reused: 'For your safety you were signed out: your session was used from two places.',
  signed_out: 'You are signed out.',
  password_reset: 'Your password is changed. Sign in with the new one.',
}

export function describeEnding(reason: string | null): string {
  return reason !== null && Object.hasOwn(endings, reason)
    ? endings[reason as SessionEndReason]
    : ''
}

function durationWords(seconds: number): string {
  if (seconds < 60) return seconds === 1 ? '1 second' : `${seconds} seconds`
  const minutes = Math.ceil(seconds / 60)
  return minutes === 1 ? '1 minute' : `${minutes} minutes`
}
