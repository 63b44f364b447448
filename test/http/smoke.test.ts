import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestServer, me, refresh, signup, type TestServer } from '../helpers/server.js'

describe('signup → me → refresh → logout', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await createTestServer()
  })
  afterAll(async () => server.close())

  it('runs the happy path', async () => {
    const tokens = await signup(server)
    expect((await me(server, tokens.accessToken)).statusCode).toBe(200)
    const refreshed = await refresh(server, tokens.refreshToken)
    expect(refreshed.statusCode).toBe(200)
  })
})
