import { Command, Option } from 'commander'
import { loadConfig, plainDefault, settings } from '../core/config/config.js'
import { ConfigError } from '../core/errors.js'
import { startServer } from '../server/start.js'
import { printError } from './output.js'

export function serveCommand(): Command {
  const command = new Command('serve').description(
    'Start the Baton server. Every flag overrides the BATON_* variable of the same name; a BATON_* variable that is no setting stops the start.',
  )
  const flagged: { variable: string; option: Option }[] = []
  for (const setting of settings) {
    if (setting.flag === null) continue
    const option = new Option(
      `${setting.flag} <value>`,
      `${setting.doc} (${setting.variable}, default ${plainDefault(setting)})`,
    )
    command.addOption(option)
    flagged.push({ variable: setting.variable, option })
  }
  command.action(async (flags: Record<string, string | undefined>) => {
    const env: Record<string, string | undefined> = { ...process.env }
    for (const { variable, option } of flagged) {
      const value = flags[option.attributeName()]
      if (value !== undefined) env[variable] = value
    }
    let config
    try {
      config = loadConfig(env)
    } catch (error) {
      return fail(error)
    }
    const server = await startServer(config).catch(fail)
    if (server === undefined) return
    server.app.log.info(
      {
        issuer: config.issuer,
        database: redactUrl(config.databaseUrl),
        sessions: redactUrl(config.sessionStoreUrl),
      },
      `baton listening on ${server.url}`,
    )
    const shutdown = (signal: string): void => {
      server.app.log.info({ signal }, 'shutting down')
      server.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      )
    }
    process.once('SIGINT', shutdown)
    process.once('SIGTERM', shutdown)
  })
  return command
}

function fail(error: unknown): undefined {
  if (error instanceof ConfigError) {
    printError(`configuration error: ${error.message}`)
  } else {
    printError(`could not start: ${error instanceof Error ? error.message : String(error)}`)
  }
  process.exitCode = 1
  return undefined
}

/** A store URL may hold a password: never print it. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^/@]*)@/, '//***@')
}
