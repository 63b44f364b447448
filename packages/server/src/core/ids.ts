import { randomFillSync } from 'node:crypto'

const idBytes = 16
// One call into the CSPRNG per 256 ids, as `crypto.randomUUID` batches its own: a call per id
// cost more than the rest of making it. Each byte is handed out once.
const pool = Buffer.allocUnsafeSlow(idBytes * 256)
let next = pool.length

/** 128 random bits, base64url: unguessable ids for sessions, token ids and users. */
export function randomId(): string {
  if (next === pool.length) {
    randomFillSync(pool)
    next = 0
  }
  const id = pool.toString('base64url', next, next + idBytes)
  next += idBytes
  return id
}
