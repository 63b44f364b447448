import { BatonError } from '../errors.js'

/** Trimmed and lower-cased, so one person cannot hold two accounts by changing case. */
export function normalizeEmail(email: string): string {
  const normalized = email.trim().toLowerCase()
  // Deliberately loose: deliverability is proven by mail, not by a regex. It only rules out
  // what cannot be an address at all.
  if (
    normalized.length > 254 ||
    !/^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/.test(normalized) ||
    // Control characters would reach operators' terminals through `baton users` and the log.
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u001f\u007f-\u009f]/.test(normalized)
  ) {
    throw new BatonError('invalid_request', 'email is not a valid address')
  }
  return normalized
}
