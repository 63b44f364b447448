import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config'
import { checkService, type Service } from './test/helpers/service-probes.js'

// The whole HTTP suite runs once more on each of these store combinations (issue 3): the same
// tests, with test servers on a fresh PostgreSQL schema and Redis key prefix of their own.
const serverStoreProfiles: { profile: string; services: Service[] }[] = [
  { profile: 'postgres+redis', services: ['postgres', 'redis'] },
  { profile: 'postgres', services: ['postgres'] },
]

export default defineConfig(async () => {
  const projects: TestProjectInlineConfiguration[] = [
    { extends: true, test: { name: 'sqlite', include: ['src/**/*.test.ts', 'test/**/*.test.ts'] } },
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
        env: { BATON_TEST_STORES: profile },
      },
    })
  }
  return {
    test: {
      testTimeout: 30_000,
      hookTimeout: 60_000,
      pool: 'forks',
      projects,
    },
  }
})
