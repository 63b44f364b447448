import { randomBytes } from 'node:crypto'
import { createClient, type BatonClient } from '@baton-auth/client'

/**
 * Seed 001's setup, on the server: the browser keeps only an opaque, HttpOnly session cookie
 * of this app; the server keeps Baton's token pair for it (a `@baton-auth/client` in `body`
 * delivery per browser session) and sends the access token to the APIs it calls in
 * `X-AUTH-TOKEN`, refreshing when it expires. No token ever reaches the browser.
 *
 * The pairs live in this process's memory, as a Next.js dev server runs it; with several
 * instances, keep the refresh token in a shared store instead (the client's `storage` option),
 * and forget sessions idle for longer than the refresh token lives.
 */
const cookieName = 'app_session'
const held = new Map<string, BatonClient>()

function newClient(): BatonClient {
  return createClient({
    baseUrl: process.env['BATON_URL'] ?? 'http://127.0.0.1:3000',
    delivery: 'body',
    // The server's BATON_ACCESS_TOKEN_HEADER: seed 001 names it X-AUTH-TOKEN.
    accessTokenHeader: 'X-AUTH-TOKEN',
    // A held session refreshes when a request needs it, not on a timer: an idle visitor's
    // session is left to expire.
    proactiveRefresh: false,
  })
}

function sessionIdOf(request: Request): string | undefined {
  const cookies = request.headers.get('cookie') ?? ''
  for (const part of cookies.split(';')) {
    const [name, value] = part.trim().split('=')
    if (name === cookieName && value !== undefined && held.has(value)) return value
  }
  return undefined
}

/** Signs in with Baton and answers the cookie that names the new server-held session. */
export async function signIn(email: string, password: string): Promise<string> {
  const client = newClient()
  await client.login({ email, password })
  const id = randomBytes(32).toString('base64url')
  held.set(id, client)
  // Revoked, reused or expired: nothing left to hold.
  client.onSessionChange((event) => {
    if (event.type === 'ended') held.delete(id)
  })
  return `${cookieName}=${id}; Path=/; HttpOnly; SameSite=Lax; Secure`
}

/** The Baton client of the browser session `request` comes from, if it is signed in. */
export function clientOf(request: Request): BatonClient | undefined {
  const id = sessionIdOf(request)
  return id === undefined ? undefined : held.get(id)
}

/** Signs out at Baton and forgets the session; answers the cookie that clears it. */
export async function signOut(request: Request): Promise<string> {
  const id = sessionIdOf(request)
  const client = id === undefined ? undefined : held.get(id)
  if (id !== undefined) held.delete(id)
  await client?.logout().catch(() => {
    // Forgotten here either way; Baton's refresh token expires on its own.
  })
  return `${cookieName}=; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=0`
}
