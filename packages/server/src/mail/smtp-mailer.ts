import { createTransport } from 'nodemailer'
import type { Mailer } from '../core/ports.js'

export interface SmtpMailerOptions {
  /** `smtp://[user:pass@]host[:port][?option=value…]` or `smtps://…` (BATON_MAILER_URL). */
  url: string
  /** The `From` header (BATON_MAIL_FROM). */
  from: string
}

/**
 * Mail over SMTP with nodemailer. `smtp://` upgrades with STARTTLS when the server offers it
 * (`?requireTLS=true` insists), `smtps://` speaks TLS from the start. Query parameters of the
 * URL are nodemailer's SMTP options (`?pool=true`, `?connectionTimeout=5000`, …) and win over
 * the timeouts below, which keep a stuck server from holding a send for minutes.
 */
export function createSmtpMailer(options: SmtpMailerOptions): Mailer {
  const transport = createTransport(
    {
      url: options.url,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    },
    { from: options.from },
  )
  return {
    async send(message) {
      await transport.sendMail({
        to: message.to,
        subject: message.subject,
        text: message.text,
        html: message.html,
      })
    },
    close() {
      transport.close()
      return Promise.resolve()
    },
  }
}
