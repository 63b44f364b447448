/**
 * Where `body` delivery keeps the refresh token between calls (and, with a persistent storage,
 * between launches). Methods may be synchronous or return promises, so `localStorage`-like,
 * React Native's AsyncStorage and secure key stores all fit.
 */
export interface TokenStorage {
  get(key: string): string | null | undefined | Promise<string | null | undefined>
  set(key: string, value: string): void | Promise<void>
  remove(key: string): void | Promise<void>
}

/**
 * The default: the refresh token lives as long as the client object. Nothing is written where
 * another script or a later reader could find it; a reload signs the user out.
 */
export function memoryStorage(): TokenStorage {
  const values = new Map<string, string>()
  return {
    get: (key) => values.get(key) ?? null,
    set: (key, value) => {
      values.set(key, value)
    },
    remove: (key) => {
      values.delete(key)
    },
  }
}

/**
 * A Web Storage object (`localStorage`, `sessionStorage`) as a `TokenStorage`. Whatever runs in
 * the page can read it: prefer `cookie` delivery in browsers.
 */
export function webStorage(storage: {
  getItem(key: string): string | null
  setItem(key: string, value: string): void
  removeItem(key: string): void
}): TokenStorage {
  return {
    get: (key) => storage.getItem(key),
    set: (key, value) => storage.setItem(key, value),
    remove: (key) => storage.removeItem(key),
  }
}
