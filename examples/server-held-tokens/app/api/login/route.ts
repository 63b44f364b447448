import { BatonClientError } from '@baton-auth/client'
import { signIn } from '../../../sessions.js'

/** `POST /api/login` with `{"email", "password"}`: a Next.js App Router route handler. */
export async function POST(request: Request): Promise<Response> {
  const { email, password } = (await request.json()) as { email: string; password: string }
  try {
    const cookie = await signIn(email, password)
    return new Response(null, { status: 204, headers: { 'set-cookie': cookie } })
  } catch (error) {
    if (error instanceof BatonClientError) {
      return Response.json(
        { error: error.code, message: error.message },
        { status: error.status || 502 },
      )
    }
    throw error
  }
}
