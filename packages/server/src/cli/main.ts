#!/usr/bin/env node
import { Command } from 'commander'
import { clientsCommand } from './clients.js'
import { keysCommand } from './keys.js'
import { serveCommand } from './serve.js'

const program = new Command('baton')
  .description('Baton: access and refresh tokens with rotation, reuse detection and revocation.')
  .addCommand(serveCommand())
  .addCommand(clientsCommand())
  .addCommand(keysCommand())

await program.parseAsync(process.argv)
