export { createMemoryStore } from './memory-store.js'
export type { MemoryStore } from './memory-store.js'
