import type { Command } from 'commander'
import { BatonError, ConfigError } from '../core/errors.js'

/**
 * Everything `baton` writes, results and errors alike, goes through here, so that:
 * - stored text (a user agent, an address from before addresses were checked) and the operator's
 *   own input echoed in a message cannot drive the terminal or read other than it is;
 * - a reader that stops reading (`baton events | head -1`) ends the output quietly, the way
 *   `git log | head` does, rather than with a stack trace.
 */

/** A failure the operator can act on: printed as is, exit status 1. */
export class CommandError extends Error {}

// Control characters (Cc: escape sequences, carriage return, line feed, bell …) and format
// characters (Cf: the invisible and bidirectional marks, U+202E RIGHT-TO-LEFT OVERRIDE among them).
const unsafeCharacters = /[\p{Cc}\p{Cf}]/gu

/**
 * `text` with every control and format character written as `\u001b`, one `\uXXXX` per UTF-16
 * unit, so that JSON text stays JSON that reads back the same. Line feeds too: stored text with
 * one would otherwise print as a line of its own (a forged table row, a second message).
 */
export function safeForTerminal(text: string): string {
  return text.replace(unsafeCharacters, (character) => {
    let escaped = ''
    for (let index = 0; index < character.length; index++) {
      escaped += `\\u${character.charCodeAt(index).toString(16).padStart(4, '0')}`
    }
    return escaped
  })
}

/** Text of several lines, each made safe; its own line breaks kept. */
function safeLines(text: string): string {
  return text.split('\n').map(safeForTerminal).join('\n')
}

const closed = { stdout: false, stderr: false }

/**
 * Makes a closed standard output or error (EPIPE: the reader went away) end the writing, not the
 * process: the command still finishes what it started (an announced revocation, closing the
 * stores), then exits with its own status. Called once, by main.ts.
 */
export function handleClosedOutput(): void {
  for (const name of ['stdout', 'stderr'] as const) {
    process[name].on('error', (error: NodeJS.ErrnoException) => {
      const already = closed[name]
      closed[name] = true
      if (already || error.code === 'EPIPE') return
      process.exitCode = 1
      if (name === 'stdout') printError(`cannot write the output: ${error.message}`)
    })
  }
}

/** Whether standard output was closed by its reader: `--follow` stops then. */
export function outputClosed(): boolean {
  return closed.stdout
}

function write(name: 'stdout' | 'stderr', text: string): void {
  if (!closed[name]) process[name].write(text)
}

/** Prints a line on standard output, made safe for a terminal. */
export function print(line: string): void {
  write('stdout', `${safeForTerminal(line)}\n`)
}

/** `baton: <message>` on standard error, made safe for a terminal. */
export function printError(message: string): void {
  write('stderr', `baton: ${safeForTerminal(message)}\n`)
}

/** Columns padded to their widest cell, two spaces apart. */
export function printTable(header: readonly string[], rows: string[][]): void {
  // Escaped before measuring, so that an escaped cell does not push its row out of line.
  const lines = [header, ...rows].map((row) => row.map(safeForTerminal))
  const widths = header.map((_title, column) =>
    Math.max(...lines.map((row) => row[column]?.length ?? 0)),
  )
  for (const row of lines) {
    print(
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd(),
    )
  }
}

/** Indented JSON: its line breaks are its own, as every one inside a string is escaped. */
export function printJson(value: unknown): void {
  write('stdout', `${safeLines(JSON.stringify(value, null, 2))}\n`)
}

/** How a failure is told: on standard error, with exit status 1. */
export function reportFailure(error: unknown): void {
  if (error instanceof ConfigError) {
    printError(`configuration error: ${error.message}`)
  } else if (error instanceof BatonError) {
    printError(`${error.message} (${error.code})`)
  } else {
    printError(error instanceof Error ? error.message : String(error))
  }
  process.exitCode = 1
}

/** Runs a command's action, telling its failure as `reportFailure` does. */
export async function runCommand(action: () => Promise<void>): Promise<void> {
  try {
    await action()
  } catch (error) {
    reportFailure(error)
  }
}

/** Commander's own messages (an unknown option, a missing argument) echo what was typed. */
export function safeCommanderOutput(command: Command): void {
  command.configureOutput({
    writeOut: (text) => write('stdout', safeLines(text)),
    writeErr: (text) => write('stderr', safeLines(text)),
  })
  for (const sub of command.commands) safeCommanderOutput(sub)
}

/** "1 session", "2 sessions". */
export function count(n: number, noun: string): string {
  return `${n} ${n === 1 ? noun : `${noun}s`}`
}

/** A user agent cut to fit a table column. */
export function shortUserAgent(userAgent: string | null, max = 60): string {
  if (userAgent === null) return '-'
  const characters = [...userAgent]
  return characters.length <= max ? userAgent : `${characters.slice(0, max - 1).join('')}…`
}
