export {
  createClient,
  type BatonClient,
  type ClientOptions,
  type SessionEndReason,
  type SessionEvent,
  type TokenDelivery,
} from './client.js'
export { BatonClientError, type ClientSideCode } from './errors.js'
export { memoryStorage, webStorage, type TokenStorage } from './storage.js'
export type { Credentials, Me, Session, SignedIn, TokenResponse, User } from './types.js'
