// Temporary directories for bench databases, removed at the end (also on error and Ctrl-C).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const created = new Set()

export function makeTempDir(label) {
  const dir = mkdtempSync(join(tmpdir(), `baton-bench-${label}-`))
  created.add(dir)
  return dir
}

export function removeTempDir(dir) {
  rmSync(dir, { recursive: true, force: true })
  created.delete(dir)
}

/** Synchronous, so it can run from a process 'exit' handler. */
export function removeAllTempDirs() {
  for (const dir of created) removeTempDir(dir)
}
