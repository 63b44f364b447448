import { Option } from 'commander'
import { plainDefault, settingFor, type BatonConfig } from '../core/config/config.js'
import type { Baton } from '../core/baton.js'
import { openEngine } from '../server/engine.js'
import {
  configWith,
  locateOperatorStores,
  type StoreNaming,
  type StorePolicy,
} from './operator-stores.js'
import { CommandError, print, printError, runCommand } from './output.js'

/**
 * What `baton users`, `baton sessions` and `baton events` share: the stores and the revocation
 * channel named exactly as the server reads them (`--database-url` / BATON_DATABASE_URL,
 * `--session-store-url` / BATON_SESSION_STORE_URL, `--revocation-channel-url` /
 * BATON_REVOCATION_CHANNEL_URL), the engine over them, `--json`, and how they fail: a message on
 * stderr and exit status 1.
 */

const databaseSetting = settingFor('databaseUrl')
const sessionStoreSetting = settingFor('sessionStoreUrl')
const channelSetting = settingFor('revocationChannelUrl')

export interface EngineOptions extends StoreNaming {
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
    // As `baton serve` reads it: a server started with the option announces its revocations
    // there, and so must a command that revokes for it.
    new Option(
      `${channelSetting.flag ?? '--revocation-channel-url'} <url>`,
      `where revoked sessions are announced to middleware: redis://…, rediss://…, redis-cluster://… (with ?prefix=), or off (${channelSetting.variable}, default ${plainDefault(channelSetting)})`,
    ),
    new Option('--json', 'print JSON, as the admin API answers, instead of a table'),
  ]
}

export interface EnginePolicy extends StorePolicy {
  /** Runs once the stores are found and before they are opened (a password prompt). */
  beforeOpen?: () => Promise<void>
}

export async function withEngine(
  options: EngineOptions,
  body: (baton: Baton, config: BatonConfig) => Promise<void>,
  policy: EnginePolicy = {},
): Promise<void> {
  let close: (() => Promise<void>) | undefined
  await runCommand(async () => {
    const config = configWith(options)
    const located = await locateOperatorStores(
      { databaseUrl: config.databaseUrl, sessionStoreUrl: config.sessionStoreUrl },
      options,
      policy,
    )
    await policy.beforeOpen?.()
    const stores = await located.open()
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
    // JSON on standard output stays the API's shape alone.
    for (const note of located.created) {
      if (options.json === true) printError(note)
      else print(note)
    }
    await body(engine.baton, config)
    const closing = close
    close = undefined
    await closing()
  })
  await close?.().catch(() => undefined)
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
