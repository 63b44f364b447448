import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config'
import { fileURLToPath } from 'node:url'
import { checkService, type Service } from './test/helpers/service-probes.js'

// The whole HTTP suite runs once more on each of these store combinations (issue 3): the same
// tests, with test servers on a fresh PostgreSQL schema and Redis key prefix of their own.
const serverStoreProfiles: { profile: string; services: Service[] }[] = [
  { profile: 'postgres+redis', services: ['postgres', 'redis'] },
  { profile: 'postgres', services: ['postgres'] },
]

const verifySource = (path: string): string =>
  fileURLToPath(new URL(`./packages/verify/src/${path}`, import.meta.url))

export default defineConfig(async () => {
  const projects: TestProjectInlineConfiguration[] = [
    {
      extends: true,
      test: { name: 'sqlite', include: ['packages/server/src/**/*.test.ts', 'test/**/*.test.ts'] },
    },
  ]
  for (const { profile, services } of serverStoreProfiles) {
    const missing = (await Promise.all(services.map(checkService)))
      .map((check) => check.missing)
      .filter((reason) => reason !== null)
    if (missing.length > 0) {
      const line = `HTTP suite on ${profile}: ${missing.join('; ')}`
      if (process.env['CI'] === 'true') throw new Error(`cannot run with CI=true: ${line}`)
      console.warn(`skipping the ${line}`)
      continue
    }
    projects.push({
      extends: true,
      test: {
        name: `http:${profile}`,
        include: ['test/http/**/*.test.ts'],
        env: { TEST_STORES: profile },
      },
    })
  }
  return {
    // Tests run the sources: the server's imports of @baton-auth/verify resolve to its sources
    // too, so a test and the code under test share one copy of each class (instanceof holds).
    resolve: {
      alias: [
        { find: /^@baton-auth\/verify$/, replacement: verifySource('index.ts') },
        {
          find: /^@baton-auth\/verify\/(express|fastify|hono)$/,
          replacement: verifySource('middleware/$1.ts'),
        },
        {
          find: /^@baton-auth\/verify\/revocations$/,
          replacement: verifySource('revocation/index.ts'),
        },
        { find: /^@baton-auth\/verify\/shared$/, replacement: verifySource('shared.ts') },
        {
          find: /^@baton-auth\/client$/,
          replacement: fileURLToPath(new URL('./packages/client/src/index.ts', import.meta.url)),
        },
      ],
    },
    test: {
      testTimeout: 30_000,
      hookTimeout: 60_000,
      pool: 'forks',
      projects,
    },
  }
})
