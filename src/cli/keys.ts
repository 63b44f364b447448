import { Command, Option } from 'commander'
import { loadConfig, signingAlgorithms, type SigningAlgorithm } from '../core/config/config.js'
import { parseDuration } from '../core/config/duration.js'
import { addNextKey } from '../core/keys/keyring.js'
import type { StoredKey } from '../core/ports.js'
import { openStores } from '../stores/from-url.js'
import { fail } from './serve.js'

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
    .action(async (flags: { json?: boolean }) => {
      await withDatabase(async (database) => {
        const stored = await database.listKeys()
        const rows = stored.sort(byLifecycle).map(describeKey)
        if (flags.json) {
          for (const row of rows) process.stdout.write(`${JSON.stringify(row)}\n`)
          return
        }
        process.stdout.write(table(rows))
      })
    })
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
    .action(async (flags: { alg?: SigningAlgorithm; activateIn?: string }) => {
      await withDatabase(async (database, config) => {
        const delay =
          flags.activateIn === undefined
            ? jwksMaxAgeSeconds + config.keyReloadInterval
            : parseDuration(flags.activateIn)
        if (delay === null || delay < 0) {
          throw new Error(`--activate-in: "${flags.activateIn}" is not a duration such as 5m`)
        }
        const now = Date.now()
        const key = await addNextKey(
          database,
          flags.alg ?? config.signingAlg,
          now,
          now + delay * 1000,
        )
        process.stdout.write(
          `added ${key.alg} key ${key.kid} as next; it signs from ${new Date(key.activatedAt ?? now).toISOString()}\n`,
        )
        if (key.alg !== config.signingAlg) {
          // An instance starting with another BATON_SIGNING_ALG makes a key of that one at once.
          process.stdout.write(
            `note: set BATON_SIGNING_ALG=${key.alg} on every instance before they next restart\n`,
          )
        }
      })
    })
  return keys
}

async function withDatabase(
  run: (
    database: Awaited<ReturnType<typeof openStores>>['database'],
    config: ReturnType<typeof loadConfig>,
  ) => Promise<void>,
): Promise<void> {
  let config
  try {
    config = loadConfig(process.env)
  } catch (error) {
    fail(error)
    return
  }
  const stores = await openStores({
    databaseUrl: config.databaseUrl,
    sessionStoreUrl: config.databaseUrl,
  }).catch(fail)
  if (stores === undefined) return
  try {
    await run(stores.database, config)
  } catch (error) {
    process.stderr.write(`baton: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exitCode = 1
  } finally {
    await stores.close()
  }
}

const stateOrder = { next: 0, current: 1, retired: 2 }

function byLifecycle(a: StoredKey, b: StoredKey): number {
  return stateOrder[a.state] - stateOrder[b.state] || b.createdAt - a.createdAt
}

const iso = (time: number | null): string | null =>
  time === null ? null : new Date(time).toISOString()

function describeKey(key: StoredKey): Record<string, string | null> {
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

function table(rows: Record<string, string | null>[]): string {
  const [first] = rows
  if (first === undefined) return 'no keys yet (the server creates one at its first start)\n'
  const columns = Object.keys(first)
  const cells = [columns, ...rows.map((row) => columns.map((column) => row[column] ?? '-'))]
  const widths = columns.map((_, index) =>
    Math.max(...cells.map((line) => (line[index] ?? '').length)),
  )
  return cells
    .map((line) =>
      line
        .map((cell, index) => cell.padEnd(widths[index] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
    .concat('\n')
}
