import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = join(import.meta.dirname, '..')
interface Manifest {
  name: string
  exports: Record<string, unknown>
  bin?: Record<string, string>
}
const manifestOf = (name: string): Manifest =>
  JSON.parse(readFileSync(join(root, 'packages', name, 'package.json'), 'utf8')) as Manifest
const server = manifestOf('server')
const verify = manifestOf('verify')
const client = manifestOf('client')
const specifiers = [server, verify, client].flatMap((manifest) =>
  Object.keys(manifest.exports)
    .filter((subpath) => subpath !== './package.json')
    .map((subpath) => `${manifest.name}${subpath.slice(1)}`),
)

describe('package surface (the workspace links each package by name)', () => {
  it.each(specifiers)('`%s` resolves from the built package', (specifier) => {
    const keys = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import('${specifier}'); console.log(Object.keys(m).join(','))`,
      ],
      { cwd: root, encoding: 'utf8' },
    )
    expect(keys.trim().length).toBeGreaterThan(0)
  })

  it('`@baton-auth/server` exposes the engine and the memory store loads without SQLite', () => {
    const output = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const baton = await import('@baton-auth/server'); await import('@baton-auth/server/stores/memory');
         const loaded = Object.keys((await import('node:module')).createRequire(import.meta.url).cache);
         console.log(typeof baton.createBaton, typeof baton.loadConfig, loaded.some((p) => p.includes('better-sqlite3')))`,
      ],
      { cwd: root, encoding: 'utf8' },
    )
    expect(output.trim()).toBe('function function false')
  })

  it('the SQLite default loads neither the PostgreSQL nor the Redis driver', () => {
    const output = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { openStores } = await import('./packages/server/dist/stores/from-url.js');
         const { mkdtempSync } = await import('node:fs');
         const dir = mkdtempSync((await import('node:os')).tmpdir() + '/baton-exports-');
         const url = 'sqlite:' + dir + '/baton.db';
         const stores = await openStores({ databaseUrl: url, sessionStoreUrl: url });
         await stores.sessions.ping();
         await stores.close();
         (await import('node:fs')).rmSync(dir, { recursive: true, force: true });
         const loaded = Object.keys((await import('node:module')).createRequire(import.meta.url).cache);
         console.log(['better-sqlite3', '/pg/', 'ioredis'].map((name) => loaded.some((p) => p.includes(name))).join(' '))`,
      ],
      { cwd: root, encoding: 'utf8' },
    )
    expect(output.trim()).toBe('true false false')
  })

  it('`bin.baton` points at the built CLI', () => {
    expect(server.bin?.['baton']).toBe('./dist/cli/main.js')
    const cli = join(root, 'packages', 'server', server.bin?.['baton'] ?? '')
    expect(readFileSync(cli, 'utf8').startsWith('#!/usr/bin/env node')).toBe(true)
  })
})
