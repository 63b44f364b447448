import { hash, verify } from '@node-rs/argon2'
import { createLimiter } from '../core/concurrency.js'
import type { PasswordHasher } from '../core/ports.js'

/** OWASP's argon2id minimum: 19 MiB, 2 passes, 1 lane. */
export const argon2Parameters = {
  // Algorithm.Argon2id: a const enum, which verbatimModuleSyntax cannot import.
  algorithm: 2,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const

export interface Argon2HasherOptions {
  /** Hashes in flight at once; the rest queue. */
  concurrency?: number
}

/**
 * argon2id on libuv's thread pool (off the event loop), at most `concurrency` at a time. A
 * native addon, so it lives outside the core: the server (and an embedding app) passes it to
 * `createBaton` as the `PasswordHasher`.
 */
export function createArgon2Hasher(options: Argon2HasherOptions = {}): PasswordHasher {
  const limit = createLimiter(options.concurrency ?? 2)
  return {
    hash: (password) => limit(() => hash(password, argon2Parameters)),
    verify: (passwordHash, password) =>
      limit(async () => {
        try {
          return await verify(passwordHash, password)
        } catch {
          // A corrupt stored hash is a failed login, not a crash.
          return false
        }
      }),
  }
}
