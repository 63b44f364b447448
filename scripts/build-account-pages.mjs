// Bundles the account pages' script (with @baton-auth/client, built before) and stylesheet
// into packages/server/dist/account/, where server/account-pages.ts serves them from. Run by
// the server package's build; the output ships in the package, so no bundler runs at start.
import { copyFileSync, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const server = join(dirname(fileURLToPath(import.meta.url)), '..', 'packages', 'server')
const source = join(server, 'src', 'account-pages')
const out = join(server, 'dist', 'account')
mkdirSync(out, { recursive: true })

const common = { bundle: true, minify: true, legalComments: 'none', logLevel: 'warning' }
await build({
  ...common,
  entryPoints: [join(source, 'main.ts')],
  outfile: join(out, 'account.js'),
  format: 'esm',
  // Current browsers: the client needs fetch, BroadcastChannel and private class fields.
  target: ['chrome100', 'firefox100', 'safari15.4'],
})
await build({
  ...common,
  entryPoints: [join(source, 'account.css')],
  outfile: join(out, 'account.css'),
})
copyFileSync(join(source, 'icon.svg'), join(out, 'icon.svg'))
