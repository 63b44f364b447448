import { Type, type Static } from '@sinclair/typebox'
import { maxTokenLength } from '@baton-auth/verify/shared'

// Generous string limits: the core gives the precise message (e.g. password length), the
// schema only stops absurd input early.
export const CredentialsBody = Type.Object({
  email: Type.String({ maxLength: 1024 }),
  password: Type.String({ maxLength: 4096 }),
})
export type CredentialsBody = Static<typeof CredentialsBody>

export const RefreshTokenBody = Type.Union([
  Type.Object({ refreshToken: Type.Optional(Type.String({ maxLength: maxTokenLength })) }),
  Type.Null(),
])
export type RefreshTokenBody = Static<typeof RefreshTokenBody>

export const SessionIdParams = Type.Object({ id: Type.String({ maxLength: 128 }) })

// Response schemas let Fastify serialize with a compiled serializer instead of JSON.stringify,
// and state the shape API.md promises.
export const MeResponse = Type.Object({
  id: Type.String(),
  email: Type.String(),
  roles: Type.Array(Type.String()),
  createdAt: Type.String(),
})
