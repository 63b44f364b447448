import { Command, Option } from 'commander'
import { signingAlgorithms, type SigningAlgorithm } from '../core/config/config.js'
import { parseDuration } from '../core/config/duration.js'
import { addNextKey, isSecretAlgorithm } from '../core/keys/keyring.js'
import { secretAlgorithm } from '../core/tokens/jws.js'
import type { StoredKey } from '../core/ports.js'
import { databaseUrlOption, withDatabase, type DatabaseOptions } from './database-command.js'
import { CommandError, print, printTable } from './output.js'

/** What verifiers may cache the JWKS for: the max-age of `/.well-known/jwks.json`. */
export const jwksMaxAgeSeconds = 300

/** `baton keys list` and `baton keys rotate`, on the database of `BATON_DATABASE_URL`. */
export function keysCommand(): Command {
  const keys = new Command('keys').description(
    'Keys in the database of BATON_DATABASE_URL (the published access-token signing keys and the ' +
      'refresh-token secrets): list them, or rotate to a new one.',
  )
  keys
    .command('list')
    .description(
      'Every key with its use (access: signs access tokens, published in the JWKS; refresh: the ' +
        'HS256 secret of refresh tokens, never published) and state: next (not yet signing), ' +
        'current, retired.',
    )
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
    .addOption(
      new Option(
        '--refresh',
        'rotate the refresh-token secret (HS256) instead: nothing is published, so it signs once ' +
          'every instance has reread the ring (default --activate-in: BATON_KEY_RELOAD_INTERVAL); ' +
          'the old secret keeps verifying until every refresh token it signed has expired',
      ).conflicts('alg'),
    )
    .option(
      '--activate-in <duration>',
      `when the new key starts signing (default: the JWKS max-age, ${jwksMaxAgeSeconds}s, plus BATON_KEY_RELOAD_INTERVAL); 0 for at once, e.g. after a leak`,
    )
    .addOption(databaseUrlOption('keys'))
    .action(
      (
        flags: DatabaseOptions & { alg?: SigningAlgorithm; refresh?: boolean; activateIn?: string },
      ) =>
        withDatabase(flags, async (database, config) => {
          const defaultDelay = flags.refresh
            ? config.keyReloadInterval
            : jwksMaxAgeSeconds + config.keyReloadInterval
          const delay =
            flags.activateIn === undefined ? defaultDelay : parseDuration(flags.activateIn)
          if (delay === null || delay < 0) {
            throw new CommandError(
              `--activate-in: "${flags.activateIn}" is not a duration such as 5m`,
            )
          }
          const now = Date.now()
          const key = await addNextKey(
            database,
            flags.refresh ? secretAlgorithm : (flags.alg ?? config.signingAlg),
            now,
            now + delay * 1000,
          )
          const what = flags.refresh ? 'refresh-token secret' : `${key.alg} key`
          await database.record({
            type: 'signing_key_rotated',
            at: now,
            userId: null,
            sessionId: null,
            ip: null,
            userAgent: null,
            actor: 'cli',
            detail: `${what} ${key.kid} added as next, signing from ${new Date(key.activatedAt ?? now).toISOString()}`,
          })
          print(
            `added ${what} ${key.kid} as next; it signs from ${new Date(key.activatedAt ?? now).toISOString()}`,
          )
          if (!flags.refresh && key.alg !== config.signingAlg) {
            // An instance starting with another BATON_SIGNING_ALG makes a key of that one at once.
            print(
              `note: set BATON_SIGNING_ALG=${key.alg} on every instance before they next restart`,
            )
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
  'use',
  'alg',
  'state',
  'created',
  'signsFrom',
  'retired',
  'removedAfter',
] as const

function describeKey(key: StoredKey): Record<(typeof keyColumns)[number], string | null> {
  return {
    kid: key.kid,
    use: isSecretAlgorithm(key.alg) ? 'refresh' : 'access',
    alg: key.alg,
    state: key.state,
    created: iso(key.createdAt),
    signsFrom: iso(key.activatedAt),
    retired: iso(key.retiredAt),
    removedAfter: iso(key.removeAfter),
  }
}
