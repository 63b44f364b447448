import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError } from '../core/errors.js'
import type { MailKind } from '../core/events.js'
import {
  defaultMailTemplates,
  splitSubject,
  templateFileNames,
  templateProblem,
  type MailTemplate,
  type MailTemplates,
} from '../core/users/mail-templates.js'

const variable = 'BATON_MAIL_TEMPLATES'

/**
 * The messages to mail: the built-in ones, each replaced by the file of the same name in
 * `directory` (BATON_MAIL_TEMPLATES) when there is one: `password-reset.txt`,
 * `password-reset.html`, `email-verification.txt`, `email-verification.html`. Read and checked
 * once, at start: a missing directory, a directory with none of these files, an unknown
 * placeholder or a template without `{{link}}` stops the start (`ConfigError`).
 */
export function loadMailTemplates(directory: string | null): MailTemplates {
  if (directory === null) return defaultMailTemplates
  let isDirectory = false
  try {
    isDirectory = statSync(directory).isDirectory()
  } catch {
    // Said below.
  }
  if (!isDirectory) throw new ConfigError(variable, `${directory} is not a directory`)
  let found = 0
  const read = (file: string): string | null => {
    let text: string
    try {
      text = readFileSync(join(directory, file), 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw new ConfigError(variable, `cannot read ${file}: ${(error as Error).message}`)
    }
    const problem = templateProblem(text)
    if (problem !== null) throw new ConfigError(variable, `${file}: ${problem}`)
    found++
    return text
  }
  const templates = {} as Record<MailKind, MailTemplate>
  for (const kind of Object.keys(templateFileNames) as MailKind[]) {
    const name = templateFileNames[kind]
    const builtIn = defaultMailTemplates[kind]
    const text = read(`${name}.txt`)
    const html = read(`${name}.html`)
    const own = text === null ? null : splitSubject(text)
    templates[kind] = {
      subject: own?.subject || builtIn.subject,
      text: own?.text ?? builtIn.text,
      html: html ?? builtIn.html,
    }
  }
  if (found === 0) {
    const names = Object.values(templateFileNames).flatMap((name) => [
      `${name}.txt`,
      `${name}.html`,
    ])
    throw new ConfigError(variable, `${directory} holds none of ${names.join(', ')}`)
  }
  return templates
}
