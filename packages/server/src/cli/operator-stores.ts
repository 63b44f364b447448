import { loadConfig, settingFor, type BatonConfig } from '../core/config/config.js'
import {
  locateStores,
  openStores,
  type OpenStores,
  type OpenStoresOptions,
  type StoreLocation,
} from '../stores/from-url.js'
import { CommandError } from './output.js'

/**
 * How the operator commands (`baton users|sessions|events|keys|clients`) find the server's stores:
 * named as the server reads them, and never made anew by mistake. The server makes its stores at
 * its first start; a command that did so for a mistyped URL would act on a new, empty store and
 * report success (a first administrator made where no server will ever look).
 */

/** The store options; each stands for the server's variable of the same name. */
export interface StoreNaming {
  databaseUrl?: string
  sessionStoreUrl?: string
  revocationChannelUrl?: string
}

const storeSettings = [
  settingFor('databaseUrl'),
  settingFor('sessionStoreUrl'),
  settingFor('revocationChannelUrl'),
] as const

/** The configuration as the server reads it, the options given standing for their variables. */
export function configWith(options: StoreNaming): BatonConfig {
  const env: Record<string, string | undefined> = { ...process.env }
  for (const setting of storeSettings) {
    const value = options[setting.key]
    if (value === undefined) continue
    // The server reads an empty variable as unset; an option given empty is a slip (a shell
    // variable that was not set), never a request for the default store.
    if (value.trim() === '') {
      throw new CommandError(
        `${setting.flag} is empty: give a URL, or leave the option out to use ${setting.variable} (or its default)`,
      )
    }
    env[setting.variable] = value
  }
  return loadConfig(env)
}

export interface StorePolicy {
  /**
   * The command may make the database (or session store) when there is none yet: those that add
   * the first things to it (`users create`, `clients add`), which may come before the server's
   * first start. It then says so.
   */
  mayCreate?: boolean
  /** The command reads or revokes sessions: a memory: session store is out of its reach. */
  sessions?: boolean
}

export interface LocatedStores {
  /** What will be made anew by opening them: a sentence each, for the operator. */
  created: string[]
  open(): Promise<OpenStores>
}

/**
 * Checks the stores `urls` name before anything is made: refuses memory: and a store without
 * Baton's tables (unless `policy.mayCreate`), naming the URL (never its password) and where it
 * came from.
 */
export async function locateOperatorStores(
  urls: OpenStoresOptions,
  options: StoreNaming,
  policy: StorePolicy,
): Promise<LocatedStores> {
  const found = await locateStores(urls)
  const checked: { location: StoreLocation; what: string; url: string; from: string }[] = [
    {
      location: found.database,
      what: 'database',
      url: urls.databaseUrl,
      from: sourceOf(options, storeSettings[0]),
    },
  ]
  if (found.sessions !== null) {
    checked.push({
      location: found.sessions,
      what: 'session store',
      url: urls.sessionStoreUrl,
      from: sourceOf(options, storeSettings[1]),
    })
  }
  const created: string[] = []
  for (const { location, what, url, from } of checked) {
    if (location.kind === 'memory' && what === 'database') {
      throw new CommandError(
        `the database is ${displayUrl(url)} (${from}), which keeps nothing once this command exits: name the server's database`,
      )
    }
    if (location.kind === 'memory' && policy.sessions === true) {
      throw new CommandError(
        `the session store is ${displayUrl(url)} (${from}): a server's memory: sessions live in its own process, out of this command's reach; name the server's session store, or use the admin API`,
      )
    }
    if (location.exists !== false) continue
    if (policy.mayCreate !== true) {
      throw new CommandError(
        `no Baton ${what} at ${displayUrl(url)} (${from}): ${location.where} ${location.missing ?? 'is not there'}. ` +
          `Check the URL (\`baton serve\` makes a new ${what} at its first start; this command does not)`,
      )
    }
    created.push(
      `Created a new ${what} at ${location.where} (${from}): there was none yet; if the server's is elsewhere, check the URL.`,
    )
  }
  return { created, open: () => openStores(urls) }
}

/** Where a URL came from, for messages: the option, the variable, or the default. */
function sourceOf(options: StoreNaming, setting: (typeof storeSettings)[number]): string {
  if (options[setting.key] !== undefined) return setting.flag ?? setting.variable
  if ((process.env[setting.variable] ?? '').trim() !== '') return setting.variable
  return `the default: ${setting.variable} is not set`
}

const secretParameter = /pass|secret|token|key/i

/** A store URL as given, but for its password (and any query parameter that may hold one). */
export function displayUrl(url: string): string {
  if (/^sqlite:|^memory:/i.test(url.trim())) return url
  try {
    const parsed = new URL(url.trim())
    if (parsed.password !== '') parsed.password = '***'
    for (const name of [...parsed.searchParams.keys()]) {
      if (secretParameter.test(name)) parsed.searchParams.set(name, '***')
    }
    return parsed.href
  } catch {
    return url.replace(/\/\/([^/@]*)@/, '//***@')
  }
}
