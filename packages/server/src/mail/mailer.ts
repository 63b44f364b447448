import type { Mailer } from '../core/ports.js'
import { createLogMailer, type MailLog } from './log-mailer.js'
import { createSmtpMailer } from './smtp-mailer.js'

/** The mailer BATON_MAILER_URL names: `log`, or SMTP (`smtp://…`, `smtps://…`). */
export function createMailer(
  config: { mailerUrl: string; mailFrom: string },
  log: MailLog,
): Mailer {
  if (config.mailerUrl === 'log') return createLogMailer(log)
  return createSmtpMailer({ url: config.mailerUrl, from: config.mailFrom })
}

export { createLogMailer, type MailLog } from './log-mailer.js'
export { createSmtpMailer, type SmtpMailerOptions } from './smtp-mailer.js'
export { loadMailTemplates } from './templates.js'
