import { expect, it } from 'vitest'
import { budget, clientSize } from '../../scripts/client-size.mjs'

// The client's build fails above the budget (scripts/client-size.mjs); this says the figure in
// the test output too, and fails if the build check were removed and the client grew.
it('@baton-auth/client is at most 5 KB minified and gzipped', async () => {
  const { minified, gzipped } = await clientSize()
  console.info(`@baton-auth/client: ${minified} bytes minified, ${gzipped} bytes min+gz`)
  expect(gzipped).toBeLessThanOrEqual(budget)
})
