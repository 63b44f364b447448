import { Option } from 'commander'
import { loadConfig, plainDefault, settingFor, type BatonConfig } from '../core/config/config.js'
import { ConfigError } from '../core/errors.js'
import type { DatabaseStore } from '../core/ports.js'
import { openStores } from '../stores/from-url.js'

/**
 * What the commands that work on the database (`baton keys`, `baton clients`) share: the
 * `--database-url` option, opening the database of the configuration, and how they fail.
 */

/** A failure the operator can act on: printed as is, exit status 1. */
export class CommandError extends Error {}

const databaseSetting = settingFor('databaseUrl')

export const databaseUrlOption = (what: string): Option =>
  new Option(
    '--database-url <url>',
    `the database holding the ${what} (${databaseSetting.variable}, default ${plainDefault(databaseSetting)})`,
  )

export interface DatabaseOptions {
  databaseUrl?: string
}

/** Runs `body` on the configured database, closes it, and reports failures with exit status 1. */
export async function withDatabase(
  options: DatabaseOptions,
  body: (database: DatabaseStore, config: BatonConfig) => Promise<void>,
): Promise<void> {
  let stores: Awaited<ReturnType<typeof openStores>> | undefined
  try {
    const config = loadConfig({
      ...process.env,
      ...(options.databaseUrl === undefined
        ? {}
        : { [databaseSetting.variable]: options.databaseUrl }),
    })
    if (/^memory:/i.test(config.databaseUrl)) {
      throw new CommandError('memory: keeps nothing once this command exits; name a database')
    }
    stores = await openStores({
      databaseUrl: config.databaseUrl,
      sessionStoreUrl: config.databaseUrl,
    })
    await body(stores.database, config)
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`baton: configuration error: ${error.message}\n`)
    } else {
      process.stderr.write(`baton: ${error instanceof Error ? error.message : String(error)}\n`)
    }
    process.exitCode = 1
  } finally {
    await stores?.close().catch(() => undefined)
  }
}

/**
 * Prints a line (or lines) with control characters other than newline shown as `\u001b`: stored text (a user agent, an
 * address from before addresses were checked) must not drive the operator's terminal.
 */
export function print(line: string): void {
  process.stdout.write(`${safeForTerminal(line)}\n`)
}

// Every C0 and C1 control character but the newline.
// eslint-disable-next-line no-control-regex
const controlCharacters = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g

export function safeForTerminal(text: string): string {
  return text.replace(
    controlCharacters,
    (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
}

/** Columns padded to their widest cell, two spaces apart. */
export function printTable(header: readonly string[], rows: string[][]): void {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)),
  )
  for (const row of [header, ...rows]) {
    print(
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd(),
    )
  }
}
