#!/usr/bin/env node
import { Command } from 'commander'
import { serverVersion } from '../server/openapi.js'
import { clientsCommand } from './clients.js'
import { eventsCommand } from './events.js'
import { keysCommand } from './keys.js'
import { handleClosedOutput, safeCommanderOutput } from './output.js'
import { serveCommand } from './serve.js'
import { sessionsCommand } from './sessions.js'
import { usersCommand } from './users.js'

handleClosedOutput()

const program = new Command('baton')
  .description('Baton: access and refresh tokens with rotation, reuse detection and revocation.')
  .version(serverVersion(), '-V, --version', 'print the version of @baton-auth/server')
  .addCommand(serveCommand())
  .addCommand(usersCommand())
  .addCommand(sessionsCommand())
  .addCommand(eventsCommand())
  .addCommand(clientsCommand())
  .addCommand(keysCommand())
safeCommanderOutput(program)

await program.parseAsync(process.argv)
