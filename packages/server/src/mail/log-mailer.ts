import type { Mailer } from '../core/ports.js'

/** Where the log mailer writes: the server's logger (pino's `info(object, message)`). */
export interface MailLog {
  info(fields: object, message: string): void
}

const linkPattern = /https?:\/\/[^\s<>"']+/g

/**
 * BATON_MAILER_URL=log, the default: nothing is sent; each message's links are written to the
 * server log at `info`, for a developer to follow. This is the one place a link (and so its
 * token) is ever logged: never use it where others read the log.
 */
export function createLogMailer(log: MailLog): Mailer {
  return {
    send(message) {
      const links = [...new Set(message.text.match(linkPattern) ?? [])]
      log.info(
        { mail: { to: message.to, subject: message.subject, links } },
        `mail not sent (BATON_MAILER_URL=log): "${message.subject}" to ${message.to}; open ${links.join(' ') || 'the text below'}`,
      )
      return Promise.resolve()
    },
  }
}
