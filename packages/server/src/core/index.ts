export { createBaton, type Baton, type CreateBatonOptions } from './baton.js'
export { loadConfig, type BatonConfig, type SigningAlgorithm } from './config/config.js'
export { parseDuration } from './config/duration.js'
export * from './errors.js'
export type * from './ports.js'
export type * from './events.js'
export { systemClock, type Clock } from './clock.js'
export type { AccessTokenClaims } from './tokens/access-token.js'
export type { RefreshTokenClaims } from './tokens/refresh-token.js'
export type { ClientContext, IssuedTokens, SessionView } from './sessions/session-service.js'
export type { AwaitingVerification, UserView } from './users/account-service.js'
export {
  defaultMailTemplates,
  renderMail,
  type MailTemplate,
  type MailTemplates,
} from './users/mail-templates.js'
