import { ESLint } from 'eslint'
import { describe, expect, it } from 'vitest'

// The layer rule lives in eslint.config.js; this proves it fires, so a broken config cannot
// silently let src/core import an HTTP framework or a driver.
describe('layer boundaries', () => {
  const eslint = new ESLint({ cwd: import.meta.dirname + '/../..' })
  const lint = async (filePath: string, code: string) => {
    const [result] = await eslint.lintText(code, { filePath })
    return (result?.messages ?? []).filter((message) =>
      message.ruleId?.endsWith('no-restricted-imports'),
    )
  }

  it.each([
    "import Fastify from 'fastify'",
    "import Database from 'better-sqlite3'",
    "import { Redis } from 'ioredis'",
    "import pg from 'pg'",
    "import { buildServer } from '../server/app.js'",
    "import { openStores } from '../stores/from-url.js'",
  ])('refuses `%s` in src/core', async (statement) => {
    const messages = await lint(
      'packages/server/src/core/baton.ts',
      `${statement}\nexport const x = 1\n`,
    )
    expect(messages).toHaveLength(1)
  })

  it('allows core imports in src/core, and drivers in src/stores', async () => {
    expect(
      await lint(
        'packages/server/src/core/baton.ts',
        "import { randomId } from './ids.js'\nexport const x = randomId\n",
      ),
    ).toHaveLength(0)
    expect(
      await lint(
        'packages/server/src/stores/sqlite/sqlite-store.ts',
        "import Database from 'better-sqlite3'\nexport const x = Database\n",
      ),
    ).toHaveLength(0)
  })

  it('keeps HTTP out of src/stores', async () => {
    expect(
      await lint(
        'packages/server/src/stores/sqlite/sqlite-store.ts',
        "import Fastify from 'fastify'\nexport const x = Fastify\n",
      ),
    ).toHaveLength(1)
  })
})
