import { Option } from 'commander'
import { loadConfig, plainDefault, settingFor, type BatonConfig } from '../core/config/config.js'
import { BatonError, ConfigError } from '../core/errors.js'
import type { Baton } from '../core/baton.js'
import { openStores } from '../stores/from-url.js'
import { openEngine } from '../server/engine.js'
import { CommandError, print } from './database-command.js'

/**
 * What `baton users`, `baton sessions` and `baton events` share: the stores named exactly as
 * the server reads them (`--database-url` / BATON_DATABASE_URL, `--session-store-url` /
 * BATON_SESSION_STORE_URL), the engine over them, `--json`, and how they fail: a message on
 * stderr and exit status 1.
 */

const databaseSetting = settingFor('databaseUrl')
const sessionStoreSetting = settingFor('sessionStoreUrl')

export interface EngineOptions {
  databaseUrl?: string
  sessionStoreUrl?: string
  json?: boolean
}

export function storeOptions(): Option[] {
  return [
    new Option(
      '--database-url <url>',
      `the database of users and audit events (${databaseSetting.variable}, default ${plainDefault(databaseSetting)})`,
    ),
    new Option(
      '--session-store-url <url>',
      `where the sessions live (${sessionStoreSetting.variable}, default: the database)`,
    ),
    new Option('--json', 'print JSON instead of a table'),
  ]
}

export async function withEngine(
  options: EngineOptions,
  body: (baton: Baton, config: BatonConfig) => Promise<void>,
): Promise<void> {
  let close: (() => Promise<void>) | undefined
  try {
    const config = loadConfig({
      ...process.env,
      ...(options.databaseUrl === undefined
        ? {}
        : { [databaseSetting.variable]: options.databaseUrl }),
      ...(options.sessionStoreUrl === undefined
        ? {}
        : { [sessionStoreSetting.variable]: options.sessionStoreUrl }),
    })
    if (/^memory:/i.test(config.databaseUrl)) {
      throw new CommandError('memory: keeps nothing once this command exits; name a database')
    }
    const stores = await openStores({
      databaseUrl: config.databaseUrl,
      sessionStoreUrl: config.sessionStoreUrl,
    })
    let engine: Awaited<ReturnType<typeof openEngine>>
    try {
      engine = await openEngine({ ...config, logLevel: 'silent' }, stores)
    } catch (error) {
      await stores.close().catch(() => undefined)
      throw error
    }
    close = async () => {
      try {
        await engine.close()
      } finally {
        await stores.close().catch(() => undefined)
      }
    }
    await body(engine.baton, config)
    const closing = close
    close = undefined
    await closing()
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`baton: configuration error: ${error.message}\n`)
    } else if (error instanceof BatonError) {
      process.stderr.write(`baton: ${error.message} (${error.code})\n`)
    } else {
      process.stderr.write(`baton: ${error instanceof Error ? error.message : String(error)}\n`)
    }
    process.exitCode = 1
  } finally {
    await close?.().catch(() => undefined)
  }
}

export function printJson(value: unknown): void {
  print(JSON.stringify(value, null, 2))
}

/** An ISO time, or a dash for none. */
export function when(epochMs: number | null): string {
  return epochMs === null ? '-' : new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** `--limit`: a whole number from 1 to `max`. */
export function limitOf(text: string | undefined, fallback: number, max: number): number {
  if (text === undefined) return fallback
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > max) {
    throw new CommandError(`--limit must be a whole number from 1 to ${max}, not "${text}"`)
  }
  return Number(text)
}
