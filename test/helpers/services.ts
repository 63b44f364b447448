import { describe } from 'vitest'
import { checkService, type Service } from './service-probes.js'

export { checkService, postgresUrl, redisUrl, type Service } from './service-probes.js'

/**
 * The real servers some suites need. Where one is missing the suite skips with one line saying
 * what is missing; with CI=true it fails instead, so CI can never go green by skipping.
 */
/**
 * `describe`, or a skip with one clear line when a service is missing. Under CI=true a missing
 * service throws, failing the file.
 */
export async function describeWith(
  services: Service[],
  name: string,
  body: () => void,
): Promise<void> {
  const results = await Promise.all(services.map(checkService))
  const missing = results.filter((result) => result.missing !== null)
  if (missing.length === 0) {
    describe(name, body)
    return
  }
  const reasons = missing.map((result) => result.missing).join('; ')
  if (process.env['CI'] === 'true') {
    throw new Error(`${name}: cannot run with CI=true: ${reasons}`)
  }
  console.warn(`skipping "${name}": ${reasons}`)
  describe.skip(name, body)
}
