import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser'
import { SMTPServer } from 'smtp-server'
import { freePort } from './ports.js'

/** A real SMTP server on 127.0.0.1 that keeps every message it is given, parsed. */
export interface TestSmtpServer {
  /** `smtp://127.0.0.1:<port>`, for BATON_MAILER_URL. */
  url: string
  messages: ParsedMail[]
  /** The messages to `address`, in the order they arrived. */
  messagesTo(address: string): ParsedMail[]
  /** Waits until `address` has received `count` messages; the last of them. */
  waitFor(address: string, count?: number): Promise<ParsedMail>
  close(): Promise<void>
}

export async function startSmtpServer(): Promise<TestSmtpServer> {
  const messages: ParsedMail[] = []
  let arrived = (): void => undefined
  const server = new SMTPServer({
    authOptional: true,
    // Plain SMTP: no certificate to make, nothing to upgrade to.
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream).then(
        (mail) => {
          messages.push(mail)
          arrived()
          callback()
        },
        (error: Error) => callback(error),
      )
    },
  })
  const port = await freePort()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve())
  })
  const messagesTo = (address: string): ParsedMail[] =>
    messages.filter((mail) => recipients(mail).includes(address.toLowerCase()))
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    messagesTo,
    async waitFor(address, count = 1) {
      const deadline = Date.now() + 10_000
      for (;;) {
        const received = messagesTo(address)
        if (received.length >= count) return received[count - 1] as ParsedMail
        if (Date.now() > deadline) {
          throw new Error(`no message ${count} to ${address} within 10 s (${received.length} came)`)
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 50)
          arrived = () => {
            clearTimeout(timer)
            resolve()
          }
        })
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

function recipients(mail: ParsedMail): string[] {
  const to: AddressObject[] = mail.to === undefined ? [] : [mail.to].flat()
  return to.flatMap((list) => list.value.map((entry) => (entry.address ?? '').toLowerCase()))
}

/** The token of the link in a message's text part. */
export function tokenOfMail(mail: ParsedMail): { link: URL; token: string } {
  const match = /https?:\/\/\S+/.exec(mail.text ?? '')
  if (match === null) throw new Error(`no link in: ${mail.text ?? ''}`)
  const link = new URL(match[0])
  const token = link.searchParams.get('token')
  if (token === null) throw new Error(`no token in ${link.toString()}`)
  return { link, token }
}
