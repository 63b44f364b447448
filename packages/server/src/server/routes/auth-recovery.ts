import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import type { Baton } from '../../core/baton.js'
import { requireBearer } from '../bearer.js'
import { clientContextOf } from '../client-context.js'
import type { ResponseDoc, RouteDoc } from '../openapi.js'
import {
  EmailBody,
  LinkTokenBody,
  MailRequestedResponse,
  PasswordChangeBody,
  PasswordResetBody,
} from './schemas.js'

export interface RecoveryRoutesOptions {
  baton: Baton
  /** `BATON_ACCESS_TOKEN_HEADER`, lower case. */
  accessTokenHeader: string
}

const noContent: ResponseDoc = { description: 'Done' }

const accepted: ResponseDoc = {
  description:
    'Accepted, whether or not the address has an account (a link is mailed only if it does)',
  schema: MailRequestedResponse,
}

const mailRequested: MailRequestedResponse = { status: 'accepted' }

function sendAccepted(reply: FastifyReply): FastifyReply {
  return reply.code(202).header('cache-control', 'no-store').send(mailRequested)
}

function sendDone(reply: FastifyReply): FastifyReply {
  return reply.code(204).header('cache-control', 'no-store').send()
}

/**
 * Password change, password reset and email verification (docs/api.md, "Password change, reset
 * and email verification"). The links are mailed by the core after the answer.
 */
export const authRecoveryRoutes: FastifyPluginAsyncTypebox<RecoveryRoutesOptions> = async (
  app,
  { baton, accessTokenHeader },
) => {
  const changeDoc: RouteDoc = {
    tag: 'auth',
    summary: 'Change the password; every other session is signed out',
    description:
      'The current password is checked under the login limit of the account ' +
      '(BATON_LOGIN_MAX_FAILURES per BATON_LOGIN_FAILURE_WINDOW, then 429), the new one under ' +
      'the sign-up policy. The session of the access token stays signed in.',
    security: [['bearer']],
    responses: { 204: noContent },
    errors: [
      'invalid_request',
      'weak_password',
      'invalid_token',
      'access_token_expired',
      'session_revoked',
      'invalid_credentials',
      'payload_too_large',
      'rate_limited',
      'store_unavailable',
    ],
  }
  app.post(
    '/auth/password',
    { schema: { body: PasswordChangeBody }, config: { bearer: true, openapi: changeDoc } },
    async (request, reply) => {
      const claims = await requireBearer(baton, request, accessTokenHeader)
      await baton.accounts.changePassword(
        claims,
        request.body.currentPassword,
        request.body.newPassword,
        clientContextOf(request),
      )
      return sendDone(reply)
    },
  )

  const forgotDoc: RouteDoc = {
    tag: 'auth',
    summary: 'Mail a password-reset link',
    description:
      'The same answer, at about the same speed, whether or not the address has an account; ' +
      'the link (valid 15 minutes, once) is mailed after the answer. Requests are counted per ' +
      'address and per client IP, known addresses or not: past the limit, 429.',
    responses: { 202: accepted },
    errors: ['invalid_request', 'payload_too_large', 'rate_limited', 'store_unavailable'],
  }
  app.post(
    '/auth/password/forgot',
    { schema: { body: EmailBody }, config: { openapi: forgotDoc } },
    async (request, reply) => {
      await baton.recovery.requestPasswordReset(request.body.email, clientContextOf(request))
      return sendAccepted(reply)
    },
  )

  const resetDoc: RouteDoc = {
    tag: 'auth',
    summary: 'Set a new password with the token of a reset link',
    description:
      'Every session of the user is signed out, and the address counts as verified. A link ' +
      'works once: used, expired, replaced by a newer one, forged or for an address the account ' +
      'no longer has, it is `invalid_link`. A password the policy refuses leaves the link usable.',
    responses: { 204: noContent },
    errors: [
      'invalid_request',
      'weak_password',
      'invalid_link',
      'payload_too_large',
      'store_unavailable',
    ],
  }
  app.post(
    '/auth/password/reset',
    { schema: { body: PasswordResetBody }, config: { openapi: resetDoc } },
    async (request, reply) => {
      await baton.recovery.resetPassword(
        request.body.token,
        request.body.password,
        clientContextOf(request),
      )
      return sendDone(reply)
    },
  )

  const verifyDoc: RouteDoc = {
    tag: 'auth',
    summary: 'Verify the email address with the token of a verification link',
    description: 'A link works once; used, expired, replaced or forged, it is `invalid_link`.',
    responses: { 204: noContent },
    errors: ['invalid_request', 'invalid_link', 'payload_too_large', 'store_unavailable'],
  }
  app.post(
    '/auth/email/verify',
    { schema: { body: LinkTokenBody }, config: { openapi: verifyDoc } },
    async (request, reply) => {
      await baton.recovery.verifyEmail(request.body.token, clientContextOf(request))
      return sendDone(reply)
    },
  )

  const resendDoc: RouteDoc = {
    tag: 'auth',
    summary: 'Mail a new email-verification link',
    description:
      'Mailed only to an account whose address is not verified yet; the same answer otherwise. ' +
      'Counted like `/auth/password/forgot`.',
    responses: { 202: accepted },
    errors: ['invalid_request', 'payload_too_large', 'rate_limited', 'store_unavailable'],
  }
  app.post(
    '/auth/email/resend',
    { schema: { body: EmailBody }, config: { openapi: resendDoc } },
    async (request, reply) => {
      await baton.recovery.requestVerification(request.body.email, clientContextOf(request))
      return sendAccepted(reply)
    },
  )
}
