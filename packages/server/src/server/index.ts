export { buildServer, bodyLimit, type BuildServerOptions, type BatonServer } from './app.js'
export { startServer, type RunningServer } from './start.js'
export { httpStatusOf } from './http-errors.js'
export { createArgon2Hasher, argon2Parameters } from '../passwords/argon2-hasher.js'
export {
  createMailer,
  createLogMailer,
  createSmtpMailer,
  loadMailTemplates,
  type MailLog,
  type SmtpMailerOptions,
} from '../mail/mailer.js'
