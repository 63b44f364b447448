import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { describeDefault, settings } from '../packages/server/src/core/config/config.js'
import { batonErrorCodes } from '../packages/server/src/core/errors.js'
import { httpStatusOf } from '../packages/server/src/server/http-errors.js'

const docs = (name: string): string =>
  readFileSync(join(import.meta.dirname, '..', 'docs', name), 'utf8')

describe('docs stay in step with the code', () => {
  it('docs/errors.md lists every error code with the status the server sends, and nothing else', () => {
    const rows = [...docs('errors.md').matchAll(/^\|\s*`([a-z_]+)`\s*\|\s*(\d{3})\s*\|/gm)].map(
      (match) => [match[1], Number(match[2])],
    )
    const documented = new Map(
      rows.filter(([code]) => code !== 'server_error') as [string, number][],
    )
    expect([...documented.keys()].sort()).toEqual([...batonErrorCodes].sort())
    for (const code of batonErrorCodes) expect(documented.get(code), code).toBe(httpStatusOf[code])
  })

  it('the contract mirror lists every error code', () => {
    const contract = docs('api.md')
    for (const code of batonErrorCodes) expect(contract, code).toContain(`\`${code}\``)
  })

  it('docs/configuration.md lists every variable with its default', () => {
    const page = docs('configuration.md')
    for (const setting of settings) {
      const name = setting.variable
      expect(page, name).toMatch(new RegExp(`^\\|\\s*\`${name}\`\\s*\\|`, 'm'))
      expect(page, name).toContain(describeDefault(setting))
    }
  })
})
