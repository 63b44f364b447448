import { createBaton, type Baton } from '../core/baton.js'
import type { BatonConfig } from '../core/config/config.js'
import type { DatabaseStore, SessionStore } from '../core/ports.js'
import { createArgon2Hasher } from '../passwords/argon2-hasher.js'
import { openRevocationPublisher } from '../revocation/publisher.js'

export interface Engine {
  baton: Baton
  /** Waits for revocations still being announced, then closes the engine. */
  close(): Promise<void>
}

/**
 * The engine as the server wires it, without HTTP: what `baton users` and `baton sessions` act
 * through, so that a revocation from the command line is deny-listed in the session store and
 * announced on the revocation channel (BATON_REVOCATION_CHANNEL_URL) exactly as the server's.
 */
export async function openEngine(
  config: BatonConfig,
  stores: { database: DatabaseStore; sessions: SessionStore },
): Promise<Engine> {
  const publisher =
    config.revocationChannelUrl === null
      ? undefined
      : await openRevocationPublisher(config.revocationChannelUrl)
  const announcing = new Set<Promise<void>>()
  const failures: unknown[] = []
  const baton = await createBaton({
    config,
    database: stores.database,
    sessions: stores.sessions,
    hasher: createArgon2Hasher(),
    // The server's retention applies; this environment may not hold it.
    purgeAudit: false,
    observer: publisher && {
      sessionsRevoked(sessionIds, denyUntil) {
        const sent = publisher
          .publish(sessionIds, denyUntil)
          .catch((error: unknown) => void failures.push(error))
          .finally(() => announcing.delete(sent))
        announcing.add(sent)
      },
    },
  })
  return {
    baton,
    async close() {
      await Promise.all(announcing)
      baton.close()
      await publisher?.close()
      if (failures.length > 0) {
        throw new Error(
          `the revocation is in the session store, but announcing it on the revocation channel failed: ${String(failures[0])}`,
        )
      }
    },
  }
}
