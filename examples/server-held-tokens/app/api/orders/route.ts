import { BatonClientError } from '@baton-auth/client'
import { clientOf } from '../../../sessions.js'

/**
 * `GET /api/orders`: calls the orders API with the session's access token in X-AUTH-TOKEN.
 * An expired access token is refreshed (and the refresh token rotated) on the way, once.
 */
export async function GET(request: Request): Promise<Response> {
  const baton = clientOf(request)
  if (baton === undefined) return Response.json({ error: 'login_required' }, { status: 401 })
  try {
    const answer = await baton.fetch(`${process.env['ORDERS_API_URL']}/orders`)
    // Only what the browser needs: fetch has already decoded the body (so the upstream's
    // content-encoding and length no longer hold), and the upstream's cookies are not ours.
    const type = answer.headers.get('content-type')
    return new Response(await answer.arrayBuffer(), {
      status: answer.status,
      headers: type === null ? {} : { 'content-type': type },
    })
  } catch (error) {
    // The session ended (revoked, reused, expired): the visitor signs in again.
    if (error instanceof BatonClientError) {
      return Response.json({ error: error.code }, { status: error.status || 502 })
    }
    throw error
  }
}
