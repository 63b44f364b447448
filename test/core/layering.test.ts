import { ESLint } from 'eslint'
import { beforeAll, describe, expect, it } from 'vitest'

// The layer rule lives in eslint.config.js; this proves it fires, so a broken config cannot
// silently let src/core import an HTTP framework, a driver or a native addon.
describe('layer boundaries', () => {
  const eslint = new ESLint({ cwd: import.meta.dirname + '/../..' })
  const lint = async (filePath: string, code: string) => {
    const [result] = await eslint.lintText(code, { filePath })
    return (result?.messages ?? []).filter((message) =>
      message.ruleId?.endsWith('no-restricted-imports'),
    )
  }
  // The first lint builds the TypeScript program for type-aware rules: tens of seconds on a
  // loaded machine, which would otherwise count against whichever case happens to run first.
  beforeAll(async () => {
    await lint('packages/server/src/core/ids.ts', 'export const x = 1\n')
  }, 180_000)

  it.each([
    "import Fastify from 'fastify'",
    "import Database from 'better-sqlite3'",
    "import { Redis } from 'ioredis'",
    "import pg from 'pg'",
    "import { buildServer } from '../server/app.js'",
    "import { openStores } from '../stores/from-url.js'",
    // Native addons: the core takes the argon2 hasher injected, it never loads one itself.
    "import { hash } from '@node-rs/argon2'",
    "import { Algorithm } from '@node-rs/argon2'",
    "import bcrypt from 'bcrypt'",
    "import addon from './build/Release/addon.node'",
    "import { createArgon2Hasher } from '../passwords/argon2-hasher.js'",
  ])('refuses `%s` in src/core', async (statement) => {
    const messages = await lint(
      'packages/server/src/core/baton.ts',
      `${statement}\nexport const x = 1\n`,
    )
    expect(messages).toHaveLength(1)
  })

  it('refuses a native addon deeper in src/core too', async () => {
    expect(
      await lint(
        'packages/server/src/core/passwords/password-policy.ts',
        "import { verify } from '@node-rs/argon2'\nexport const x = verify\n",
      ),
    ).toHaveLength(1)
  })

  it('allows the argon2 addon outside src/core, where the server injects it', async () => {
    expect(
      await lint(
        'packages/server/src/passwords/argon2-hasher.ts',
        "import { hash } from '@node-rs/argon2'\nexport const x = hash\n",
      ),
    ).toHaveLength(0)
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
