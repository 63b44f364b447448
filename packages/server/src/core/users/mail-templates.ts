import type { MailKind } from '../events.js'
import type { MailMessage } from '../ports.js'

/**
 * The messages Baton mails, and how they are filled in. The built-in ones are here; an operator
 * may replace any of them (BATON_MAIL_TEMPLATES, read by `src/mail/templates.ts`).
 *
 * A template is text with placeholders `{{link}}`, `{{email}}`, `{{minutes}}` (how long the
 * link works) and `{{lifetime}}` (the same in words: "15 minutes", "24 hours"). In the HTML template the values are HTML-escaped; in the text one, and in the
 * subject, they are put as they are. A text template may start with a `Subject: …` line (then
 * a blank line), which replaces the built-in subject.
 */
export interface MailTemplate {
  subject: string
  text: string
  html: string
}

export type MailTemplates = Record<MailKind, MailTemplate>

/** The file names of BATON_MAIL_TEMPLATES, without `.txt` / `.html`. */
export const templateFileNames: Readonly<Record<MailKind, string>> = {
  password_reset: 'password-reset',
  email_verification: 'email-verification',
}

export const placeholders = ['link', 'email', 'minutes', 'lifetime'] as const
export type MailValues = Record<(typeof placeholders)[number], string>

const placeholder = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g

const page = (title: string, body: string): string => `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${title}</title></head>
<body style="font-family: system-ui, sans-serif; line-height: 1.5; color: #1a1a1a; max-width: 36rem; margin: 2rem auto; padding: 0 1rem">
${body}
</body>
</html>
`

const button = (label: string): string =>
  `<p><a href="{{link}}" style="display: inline-block; padding: 0.6rem 1.2rem; background: #1f4fd1; color: #ffffff; text-decoration: none; border-radius: 6px">${label}</a></p>
<p style="font-size: 0.9rem; color: #555555">Or copy this address into your browser:<br><a href="{{link}}" style="word-break: break-all">{{link}}</a></p>`

export const defaultMailTemplates: MailTemplates = {
  password_reset: {
    subject: 'Reset your password',
    text: `Someone asked to reset the password of the account {{email}}.

To choose a new password, open this link within {{lifetime}}:

{{link}}

The link works once. Every device signed in to the account will be signed out.
If you did not ask for this, ignore this message: your password stays as it is.
`,
    html: page(
      'Reset your password',
      `<p>Someone asked to reset the password of the account <strong>{{email}}</strong>.</p>
<p>To choose a new password, open this link within {{lifetime}}:</p>
${button('Choose a new password')}
<p>The link works once. Every device signed in to the account will be signed out.
If you did not ask for this, ignore this message: your password stays as it is.</p>`,
    ),
  },
  email_verification: {
    subject: 'Confirm your email address',
    text: `Please confirm that {{email}} is your email address by opening this link:

{{link}}

The link works once, for {{lifetime}}. If you did not create an account, ignore this message.
`,
    html: page(
      'Confirm your email address',
      `<p>Please confirm that <strong>{{email}}</strong> is your email address:</p>
${button('Confirm my address')}
<p>The link works once, for {{lifetime}}. If you did not create an account, ignore this message.</p>`,
    ),
  },
}

/** What is wrong with a template's text, or null: an unknown placeholder, or no `{{link}}`. */
export function templateProblem(text: string): string | null {
  const names = [...text.matchAll(placeholder)].map((match) => match[1] ?? '')
  const unknown = names.find((name) => !(placeholders as readonly string[]).includes(name))
  if (unknown !== undefined) {
    return `{{${unknown}}} is not a placeholder (${placeholders.map((name) => `{{${name}}}`).join(', ')})`
  }
  if (!names.includes('link')) return 'has no {{link}}: the message would be useless'
  return null
}

/**
 * A text template's own subject line, if it starts with one: `Subject: …`, then the body after
 * the blank line that follows it.
 */
export function splitSubject(text: string): { subject: string | null; text: string } {
  const match = /^Subject:[ \t]*([^\r\n]*)\r?\n(?:[ \t]*\r?\n)?/i.exec(text)
  if (match === null) return { subject: null, text }
  return { subject: (match[1] ?? '').trim(), text: text.slice(match[0].length) }
}

function fill(template: string, values: MailValues, escape: (value: string) => string): string {
  return template.replace(placeholder, (whole, name: string) =>
    Object.hasOwn(values, name) ? escape(values[name as keyof MailValues]) : whole,
  )
}

export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;')
}

/** The message of `template` for `to`, with the values filled in. */
export function renderMail(template: MailTemplate, to: string, values: MailValues): MailMessage {
  const asIs = (value: string): string => value
  return {
    to,
    // One line, whatever a value holds: a line break in a header would start another header.
    subject: fill(template.subject, values, asIs).replace(/[\r\n]+/g, ' '),
    text: fill(template.text, values, asIs),
    html: fill(template.html, values, escapeHtml),
  }
}

/** A link's lifetime in words, for `{{lifetime}}`: "15 minutes", "1 hour", "24 hours". */
export function lifetimeInWords(minutes: number): string {
  if (minutes % 60 !== 0) return `${minutes} minute${minutes === 1 ? '' : 's'}`
  const hours = minutes / 60
  return `${hours} hour${hours === 1 ? '' : 's'}`
}
