export { openPostgresStore } from './postgres-store.js'
export type { PostgresStore, PostgresStoreOptions } from './postgres-store.js'
