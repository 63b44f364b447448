import { Command, Option } from 'commander'
import { signingAlgorithms, type SigningAlgorithm } from '../core/config/config.js'
import { parseDuration } from '../core/config/duration.js'
import { addNextKey } from '../core/keys/keyring.js'
import type { StoredKey } from '../core/ports.js'
import {
  CommandError,
  databaseUrlOption,
  print,
  printTable,
  withDatabase,
  type DatabaseOptions,
} from './database-command.js'

/** What verifiers may cache the JWKS for: the max-age of `/.well-known/jwks.json`. */
export const jwksMaxAgeSeconds = 300

/** `baton keys list` and `baton keys rotate`, on the database of `BATON_DATABASE_URL`. */
export function keysCommand(): Command {
  const keys = new Command('keys').description(
    'Signing keys in the database of BATON_DATABASE_URL: list them, or rotate to a new one.',
  )
  keys
    .command('list')
    .description('Every key with its state: next (published, not yet signing), current, retired.')
    .option('--json', 'one JSON object per key')
    .addOption(databaseUrlOption('keys'))
    .action((flags: DatabaseOptions & { json?: boolean }) =>
      withDatabase(flags, async (database) => {
        const rows = (await database.listKeys()).sort(byLifecycle).map(describeKey)
        if (flags.json) {
          for (const row of rows) print(JSON.stringify(row))
        } else if (rows.length === 0) {
          print('no keys yet (the server creates one at its first start)')
        } else {
          printTable(
            keyColumns,
            rows.map((row) => keyColumns.map((column) => row[column] ?? '-')),
          )
        }
      }),
    )
  keys
    .command('rotate')
    .description(
      'Add a new key as next: published at once, signing after --activate-in, when every verifier ' +
        'has had time to fetch it; the current key then retires and stays published until every ' +
        'token it signed has expired.',
    )
    .addOption(
      new Option('--alg <alg>', 'algorithm of the new key (default BATON_SIGNING_ALG)').choices(
        signingAlgorithms,
      ),
    )
    .option(
      '--activate-in <duration>',
      `when the new key starts signing (default: the JWKS max-age, ${jwksMaxAgeSeconds}s, plus BATON_KEY_RELOAD_INTERVAL); 0 for at once, e.g. after a leak`,
    )
    .addOption(databaseUrlOption('keys'))
    .action((flags: DatabaseOptions & { alg?: SigningAlgorithm; activateIn?: string }) =>
      withDatabase(flags, async (database, config) => {
        const delay =
          flags.activateIn === undefined
            ? jwksMaxAgeSeconds + config.keyReloadInterval
            : parseDuration(flags.activateIn)
        if (delay === null || delay < 0) {
          throw new CommandError(
            `--activate-in: "${flags.activateIn}" is not a duration such as 5m`,
          )
        }
        const now = Date.now()
        const key = await addNextKey(
          database,
          flags.alg ?? config.signingAlg,
          now,
          now + delay * 1000,
        )
        print(
          `added ${key.alg} key ${key.kid} as next; it signs from ${new Date(key.activatedAt ?? now).toISOString()}`,
        )
        if (key.alg !== config.signingAlg) {
          // An instance starting with another BATON_SIGNING_ALG makes a key of that one at once.
          print(`note: set BATON_SIGNING_ALG=${key.alg} on every instance before they next restart`)
        }
      }),
    )
  return keys
}

const stateOrder = { next: 0, current: 1, retired: 2 }

function byLifecycle(a: StoredKey, b: StoredKey): number {
  return stateOrder[a.state] - stateOrder[b.state] || b.createdAt - a.createdAt
}

const iso = (time: number | null): string | null =>
  time === null ? null : new Date(time).toISOString()

const keyColumns = [
  'kid',
  'alg',
  'state',
  'created',
  'signsFrom',
  'retired',
  'unpublishedAfter',
] as const

function describeKey(key: StoredKey): Record<(typeof keyColumns)[number], string | null> {
  return {
    kid: key.kid,
    alg: key.alg,
    state: key.state,
    created: iso(key.createdAt),
    signsFrom: iso(key.activatedAt),
    retired: iso(key.retiredAt),
    unpublishedAfter: iso(key.removeAfter),
  }
}
