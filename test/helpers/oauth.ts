import * as oauth from 'oauth4webapi'
import { createArgon2Hasher } from '../../packages/server/src/passwords/argon2-hasher.js'
import { randomId } from '../../packages/server/src/core/ids.js'
import type { UserRecord } from '../../packages/server/src/core/ports.js'
import { freePort } from './ports.js'
import {
  createTestServer,
  strongPassword,
  uniqueEmail,
  type TestServer,
  type TestServerOptions,
} from './server.js'

/** Plain http://127.0.0.1 in tests: oauth4webapi refuses it unless told. */
export const insecure = { [oauth.allowInsecureRequests]: true } as const

export interface OAuthTestServer extends TestServer {
  /** The issuer, which is also where it listens. */
  issuer: string
  /** The metadata oauth4webapi discovered. */
  as: oauth.AuthorizationServer
}

/**
 * A test server listening on 127.0.0.1 with `BATON_ISSUER` set to its own address, so that a
 * standard client can discover it (RFC 8414 compares the issuer as a string).
 */
export async function createOAuthTestServer(
  options: TestServerOptions = {},
): Promise<OAuthTestServer> {
  const port = await freePort()
  const issuer = `http://127.0.0.1:${port}`
  const server = await createTestServer({
    ...options,
    env: { BATON_ISSUER: issuer, ...options.env },
  })
  try {
    await server.app.listen({ port, host: '127.0.0.1' })
    const as = await oauth.processDiscoveryResponse(
      new URL(issuer),
      await oauth.discoveryRequest(new URL(issuer), { ...insecure, algorithm: 'oauth2' }),
    )
    return { ...server, issuer, as }
  } catch (error) {
    await server.close()
    throw error
  }
}

/** A user with the given roles, stored directly (sign-up always gives `['user']`). */
export async function createUser(
  server: TestServer,
  roles: string[] = ['user'],
  email = uniqueEmail(),
): Promise<UserRecord & { password: string }> {
  const user: UserRecord = {
    id: randomId(),
    email,
    passwordHash: await createArgon2Hasher().hash(strongPassword),
    roles,
    createdAt: server.clock.now(),
    disabledAt: null,
    emailVerifiedAt: null,
    passwordChangedAt: null,
    passwordChangedIn: null,
  }
  if (!(await server.database.createUser(user))) throw new Error('could not create the user')
  return { ...user, password: strongPassword }
}

/** The error oauth4webapi threw, as the client sees it: status, code and challenge. */
export async function oauthFailure(promise: Promise<unknown>): Promise<{
  status: number
  error: string | undefined
  description: string | undefined
  challenge: string | null
}> {
  try {
    await promise
  } catch (caught) {
    if (caught instanceof oauth.ResponseBodyError) {
      return {
        status: caught.status,
        error: caught.error,
        description: caught.error_description,
        challenge: caught.response.headers.get('www-authenticate'),
      }
    }
    if (caught instanceof oauth.WWWAuthenticateChallengeError) {
      const body = (await caught.response.json()) as { error?: string; error_description?: string }
      return {
        status: caught.status,
        error: body.error,
        description: body.error_description,
        challenge: caught.response.headers.get('www-authenticate'),
      }
    }
    throw caught
  }
  throw new Error('expected the request to fail')
}
