import { BatonError } from '../errors.js'

/** Trimmed and lower-cased, so one person cannot hold two accounts by changing case. */
export function normalizeEmail(email: string): string {
  const normalized = email.trim().toLowerCase()
  // Deliberately loose: deliverability is proven by mail, not by a regex. It only rules out
  // what cannot be an address at all.
  if (normalized.length > 254 || !/^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/.test(normalized)) {
    throw new BatonError('invalid_request', 'email is not a valid address')
  }
  return normalized
}
