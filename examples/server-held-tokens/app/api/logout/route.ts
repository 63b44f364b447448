import { signOut } from '../../../sessions.js'

/** `POST /api/logout`: signs out at Baton and clears this app's session cookie. */
export async function POST(request: Request): Promise<Response> {
  return new Response(null, { status: 204, headers: { 'set-cookie': await signOut(request) } })
}
