import { randomBytes } from 'node:crypto'

/** 128 random bits, base64url: unguessable ids for sessions, token ids and users. */
export function randomId(): string {
  return randomBytes(16).toString('base64url')
}
