#!/usr/bin/env node
import { Command } from 'commander'
import { serveCommand } from './serve.js'

const program = new Command('baton')
  .description('Baton: access and refresh tokens with rotation, reuse detection and revocation.')
  .addCommand(serveCommand())

await program.parseAsync(process.argv)
