// What a service that only verifies tokens installs: each workspace package packed, its size,
// and `npm install <tarball> express` into an empty project (packages, seconds). With
// --baseline <checkout>, the same for that checkout's package (before the split: the whole
// server), in the same run. The npm cache is warmed by a first install of each, not measured.
//
//   npm run build && node bench/install.js [--baseline /tmp/baseline]
import console from 'node:console'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import process from 'node:process'
import { fileURLToPath, URL } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const work = mkdtempSync(join(tmpdir(), 'baton-install-'))
process.on('exit', () => rmSync(work, { recursive: true, force: true }))

const npm = (args, cwd) =>
  execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  })

function pack(cwd, workspace) {
  const args = ['pack', '--json', '--pack-destination', work]
  const [entry] = JSON.parse(npm(workspace ? [...args, '-w', workspace] : args, cwd))
  return {
    name: entry.name,
    tarball: join(work, entry.filename),
    packed: entry.size,
    unpacked: entry.unpackedSize,
  }
}

function install(label, specs) {
  const dir = mkdtempSync(join(work, 'project-'))
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'empty', private: true }))
  const started = performance.now()
  npm(['install', ...specs], dir)
  const seconds = (performance.now() - started) / 1000
  const lock = JSON.parse(readFileSync(join(dir, 'node_modules', '.package-lock.json'), 'utf8'))
  return { label, packages: Object.keys(lock.packages).length, seconds }
}

const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`
const candidates = [pack(root, 'packages/verify')]
const baselineIndex = process.argv.indexOf('--baseline')
if (baselineIndex !== -1) candidates.push(pack(resolve(process.argv[baselineIndex + 1])))

for (const candidate of candidates) {
  console.log(
    `${candidate.name}: tarball ${kib(candidate.packed)}, unpacked ${kib(candidate.unpacked)}`,
  )
}
for (const candidate of candidates) {
  install('warm-up', [candidate.tarball, 'express@5'])
  const result = install(candidate.name, [candidate.tarball, 'express@5'])
  console.log(
    `npm install ${candidate.name} express: ${result.packages} packages, ${result.seconds.toFixed(1)} s`,
  )
}
