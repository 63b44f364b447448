// Node only: follows Baton's revocation channel on Redis. Give the result to `createVerifier`
// (or the Hono middleware) as `revocations`; Express and Fastify take `revocationRedisUrl`.
export {
  subscribeToRevocations,
  type RevocationSubscription,
  type SubscribeOptions,
} from './subscriber.js'
