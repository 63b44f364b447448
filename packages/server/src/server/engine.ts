import { createBaton, type Baton } from '../core/baton.js'
import type { BatonConfig } from '../core/config/config.js'
import type { BatonObserver } from '../core/events.js'
import type { DatabaseStore, SessionStore } from '../core/ports.js'
import { createArgon2Hasher } from '../passwords/argon2-hasher.js'
import { openRevocationPublisher } from '../revocation/publisher.js'

/** Announces revoked sessions on BATON_REVOCATION_CHANNEL_URL, when one is set. */
export interface RevocationAnnouncer {
  /** The observer hook; none without a channel. */
  observer: Pick<BatonObserver, 'sessionsRevoked'>
  /** Waits for the announcements still being sent. */
  settled(): Promise<void>
  close(): Promise<void>
}

/**
 * The revocation is already in the session store when it is announced; a lost announcement only
 * means other services learn it from the snapshot set at the next announcement or reconnection,
 * so a failure goes to `failed`, never to the caller.
 */
export async function openRevocationAnnouncer(
  channelUrl: string | null,
  failed: (error: unknown) => void,
): Promise<RevocationAnnouncer> {
  if (channelUrl === null) {
    return { observer: {}, settled: async () => undefined, close: async () => undefined }
  }
  const publisher = await openRevocationPublisher(channelUrl)
  const sending = new Set<Promise<void>>()
  return {
    observer: {
      sessionsRevoked(sessionIds, denyUntil) {
        const sent = publisher
          .publish(sessionIds, denyUntil)
          .catch(failed)
          .finally(() => sending.delete(sent))
        sending.add(sent)
      },
    },
    settled: async () => {
      await Promise.all(sending)
    },
    close: () => publisher.close(),
  }
}

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
  const failures: unknown[] = []
  const announcer = await openRevocationAnnouncer(config.revocationChannelUrl, (error) =>
    failures.push(error),
  )
  const baton = await createBaton({
    config,
    database: stores.database,
    sessions: stores.sessions,
    hasher: createArgon2Hasher(),
    observer: announcer.observer,
    // The server's retention applies; this environment may not hold it.
    purgeAudit: false,
  })
  return {
    baton,
    async close() {
      await announcer.settled()
      baton.close()
      await announcer.close()
      if (failures.length > 0) {
        throw new Error(
          `the revocation is in the session store, but announcing it on the revocation channel failed: ${String(failures[0])}`,
        )
      }
    },
  }
}
