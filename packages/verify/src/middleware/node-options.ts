import { subscribeToRevocations } from '../revocation/subscriber.js'
import { createVerifier, type Verifier } from '../verifier.js'
import type { AuthOptions } from './bearer-challenge.js'

/** Options of the Node middleware (Express, Fastify). */
export type NodeAuthOptions = AuthOptions & {
  /**
   * Redis of the Baton server (its `BATON_REVOCATION_CHANNEL_URL`): follow its revocation
   * channel and refuse revoked sessions' access tokens at once instead of at `exp`.
   */
  revocationRedisUrl?: string
}

export interface Closable {
  /** Stops following the revocation channel, if it was. */
  close(): Promise<void>
}

/** The options with a verifier that follows the revocation channel, when one was asked for. */
export function withRevocations(options: NodeAuthOptions): {
  options: AuthOptions
  close: () => Promise<void>
} {
  const { revocationRedisUrl, header, ...rest } = options
  if (revocationRedisUrl === undefined) {
    return { options: { ...rest, header }, close: async () => undefined }
  }
  if ('verifier' in rest) {
    throw new TypeError(
      'with a ready verifier, give it `revocations` instead of revocationRedisUrl',
    )
  }
  const subscription = subscribeToRevocations(revocationRedisUrl)
  const inner = createVerifier({ ...rest, revocations: subscription })
  let loaded = false
  void subscription.ready.then(() => (loaded = true))
  // Until the snapshot of revoked sessions is loaded, a request waits for it (at most the start
  // timeout) rather than accept a token revoked before this process started.
  const verifier: Verifier = {
    async verify(token) {
      if (!loaded) await subscription.ready
      return inner.verify(token)
    },
  }
  return { options: { verifier, header }, close: () => subscription.close() }
}
