export { openRedisSessionStore } from './redis-store.js'
export type { RedisSessionStore, RedisSessionStoreOptions } from './redis-store.js'
