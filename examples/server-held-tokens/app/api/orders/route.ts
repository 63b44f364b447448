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
    return new Response(answer.body, { status: answer.status, headers: answer.headers })
  } catch (error) {
    // The session ended (revoked, reused, expired): the visitor signs in again.
    if (error instanceof BatonClientError) {
      return Response.json({ error: error.code }, { status: error.status || 502 })
    }
    throw error
  }
}
