import { Option } from 'commander'
import { plainDefault, settingFor, type BatonConfig } from '../core/config/config.js'
import type { DatabaseStore } from '../core/ports.js'
import { locateOperatorStores, configWith, type StorePolicy } from './operator-stores.js'
import { print, runCommand } from './output.js'

/**
 * What the commands that work on the database alone (`baton keys`, `baton clients`) share: the
 * `--database-url` option, opening the database of the configuration, and how they fail.
 */

const databaseSetting = settingFor('databaseUrl')

export const databaseUrlOption = (what: string): Option =>
  new Option(
    '--database-url <url>',
    `the database holding the ${what} (${databaseSetting.variable}, default ${plainDefault(databaseSetting)})`,
  )

export interface DatabaseOptions {
  databaseUrl?: string
}

/**
 * Runs `body` on the configured database, closes it, and reports failures with exit status 1. A
 * database that is not there yet is refused unless `policy.mayCreate`; then it is made, and said.
 */
export async function withDatabase(
  options: DatabaseOptions,
  body: (database: DatabaseStore, config: BatonConfig) => Promise<void>,
  policy: Pick<StorePolicy, 'mayCreate'> & {
    /** Checks that need no database, made before one may be made. */
    beforeOpen?: (config: BatonConfig) => void
  } = {},
): Promise<void> {
  let close: (() => Promise<void>) | undefined
  await runCommand(async () => {
    const config = configWith({ databaseUrl: options.databaseUrl })
    const located = await locateOperatorStores(
      { databaseUrl: config.databaseUrl, sessionStoreUrl: config.databaseUrl },
      options,
      policy,
    )
    policy.beforeOpen?.(config)
    const stores = await located.open()
    close = () => stores.close()
    for (const note of located.created) print(note)
    await body(stores.database, config)
  })
  await close?.().catch(() => undefined)
}
