// The size an app ships of @baton-auth/client: its build bundled and minified (esbuild), then
// gzipped. Run by the client's build, which fails above the budget, so the client cannot grow
// past it unnoticed (docs/benchmarks.md reports the figure).
import console from 'node:console'
import process from 'node:process'
import { gzipSync } from 'node:zlib'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

export const budget = 5 * 1024
const entry = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'packages',
  'client',
  'dist',
  'index.js',
)

export async function clientSize() {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: 'esm',
    write: false,
  })
  const minified = result.outputFiles[0].contents
  return { minified: minified.length, gzipped: gzipSync(minified, { level: 9 }).length }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { minified, gzipped } = await clientSize()
  const line = `@baton-auth/client: ${minified} bytes minified, ${gzipped} bytes minified + gzip (budget ${budget})`
  if (gzipped > budget) {
    console.error(`${line}: over budget`)
    process.exit(1)
  }
  if (process.argv.includes('--verbose')) console.log(line)
}
