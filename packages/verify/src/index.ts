export {
  createVerifier,
  hasAnyRole,
  hasScopes,
  type AccessTokenClaims,
  type RevocationCheck,
  type Verifier,
  type VerifierOptions,
} from './verifier.js'
export { VerifyError, type VerifyErrorCode } from './errors.js'
export type { JWKSet } from './key-set.js'
export type { CryptoBackend, VerifyAlgorithm } from './signature-keys.js'
