import { Command } from 'commander'
import { shortRefreshWithOAuthClients } from '../core/config/config.js'
import { ConfigError } from '../core/errors.js'
import { generateClientSecret, hashClientSecret, isValidClientId } from '../core/oauth/clients.js'
import { databaseUrlOption, withDatabase, type DatabaseOptions } from './database-command.js'
import { CommandError, print, printTable } from './output.js'

/**
 * `baton clients add|list|remove`: OAuth clients kept in the database, next to those of
 * `BATON_OAUTH_CLIENTS`. A running server sees a change within seconds, without a restart.
 */
export function clientsCommand(): Command {
  const command = new Command('clients').description(
    'Manage the OAuth clients kept in the database (BATON_OAUTH_CLIENTS lists the others).',
  )

  command
    .command('add')
    .description(
      'Register a client. A confidential one gets a generated secret, printed once: only its hash is stored. Makes the database when there is none yet, and says so.',
    )
    .argument('<id>', 'the client_id: letters, digits and . _ ~ -')
    .option('--confidential', 'give the client a secret (without it: a public client)')
    .addOption(databaseUrlOption('clients'))
    .action((id: string, options: DatabaseOptions & { confidential?: boolean }) =>
      withDatabase(
        options,
        async (database) => {
          const secret = options.confidential === true ? generateClientSecret() : null
          const inserted = await database.insertClient({
            id,
            secretHash: secret === null ? null : hashClientSecret(secret),
            createdAt: Date.now(),
          })
          if (!inserted) throw new CommandError(`client "${id}" already exists`)
          if (secret === null) {
            print(`Added public client "${id}" (it authenticates with its client_id alone).`)
          } else {
            print(`Added confidential client "${id}".`)
            print(`client_id:     ${id}`)
            print(`client_secret: ${secret}`)
            print('Keep the secret now: Baton stores only its hash and cannot show it again.')
          }
        },
        {
          mayCreate: true,
          beforeOpen: (config) => {
            if (!isValidClientId(id)) {
              throw new CommandError(`"${id}" is not a valid client id (letters, digits, . _ ~ -)`)
            }
            if (config.oauthClients.some((client) => client.id === id)) {
              throw new CommandError(`client "${id}" is already configured in BATON_OAUTH_CLIENTS`)
            }
            if (config.refreshTokenTtl <= config.accessTokenTtl) {
              throw new ConfigError(
                'BATON_REFRESH_TOKEN_TTL',
                shortRefreshWithOAuthClients(config, `are registered (adding ${id})`),
              )
            }
          },
        },
      ),
    )

  command
    .command('list')
    .description(
      'List every client, from BATON_OAUTH_CLIENTS and from the database (never secrets).',
    )
    .addOption(databaseUrlOption('clients'))
    .action((options: DatabaseOptions) =>
      withDatabase(options, async (database, config) => {
        const configured = new Set(config.oauthClients.map((client) => client.id))
        const rows = [
          ...config.oauthClients.map((client) => ({
            id: client.id,
            type: client.secret === null ? 'public' : 'confidential',
            source: 'env (BATON_OAUTH_CLIENTS)',
          })),
          ...(await database.listClients()).map((client) => ({
            id: client.id,
            type: client.secretHash === null ? 'public' : 'confidential',
            // The configured client of the same id is the one the server uses.
            source: configured.has(client.id) ? 'database (ignored: also in env)' : 'database',
          })),
        ]
        printTable(
          ['ID', 'TYPE', 'SOURCE'],
          rows.map((row) => [row.id, row.type, row.source]),
        )
      }),
    )

  command
    .command('remove')
    .description('Remove a client from the database; its refresh tokens stop working.')
    .argument('<id>', 'the client_id')
    .addOption(databaseUrlOption('clients'))
    .action((id: string, options: DatabaseOptions) =>
      withDatabase(options, async (database, config) => {
        if (await database.deleteClient(id)) {
          print(`Removed client "${id}".`)
          return
        }
        if (config.oauthClients.some((client) => client.id === id)) {
          throw new CommandError(
            `client "${id}" comes from BATON_OAUTH_CLIENTS: remove it there and restart`,
          )
        }
        throw new CommandError(`no client "${id}" in the database`)
      }),
    )

  return command
}
