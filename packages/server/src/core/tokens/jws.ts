import {
  createHmac,
  sign,
  timingSafeEqual,
  verify,
  type KeyObject,
  type SignKeyObjectInput,
  type VerifyKeyObjectInput,
} from 'node:crypto'
import { maxTokenLength, type SigningAlgorithm } from '@baton-auth/verify/shared'

/**
 * A thin compact-JWS layer over `node:crypto` for the hot path. `jose` costs ~90 µs of overhead
 * per operation here; this stays within a few percent of raw `crypto.sign`/`crypto.verify`.
 * `test/tokens/jose-crosscheck.test.ts` proves both directions against `jose`.
 */

interface AlgorithmBinding {
  hash: string | null
  dsaEncoding?: 'ieee-p1363'
  /** The only key type this algorithm may use: binds `alg` to the key, never to the header. */
  keyType: string
  signatureLength?: number
}

const bindings: Record<SigningAlgorithm, AlgorithmBinding> = {
  ES256: { hash: 'sha256', dsaEncoding: 'ieee-p1363', keyType: 'ec', signatureLength: 64 },
  EdDSA: { hash: null, keyType: 'ed25519', signatureLength: 64 },
  RS256: { hash: 'sha256', keyType: 'rsa' },
}

/**
 * Refresh tokens are signed with a server-only secret: only Baton ever verifies them, so a public
 * key buys nothing, and an HMAC costs a few microseconds where an ES256 verification costs about
 * a hundred. It is also deterministic: a grace replay gets the very same token back.
 */
export const secretAlgorithm = 'HS256'

/** What a ring key signs with: an asymmetric algorithm (access tokens) or the refresh secret. */
export type KeyAlgorithm = SigningAlgorithm | typeof secretAlgorithm

export interface JWSSigner {
  readonly alg: KeyAlgorithm
  readonly kid: string
  /** `header.payload.signature` with a precomputed header segment for `typ`. */
  sign(typ: string, payload: object): string
}

export interface JWSVerifierKey {
  readonly alg: KeyAlgorithm
  readonly kid: string
  verifySignature(signingInput: string, signature: Buffer): boolean
}

export function createJWSSigner(
  alg: SigningAlgorithm,
  kid: string,
  privateKey: KeyObject,
): JWSSigner {
  const binding = bindingFor(alg, privateKey)
  const keyInput: SignKeyObjectInput = binding.dsaEncoding
    ? { key: privateKey, dsaEncoding: binding.dsaEncoding }
    : { key: privateKey }
  const headerSegment = headerSegments(alg, kid)
  return {
    alg,
    kid,
    sign(typ, payload) {
      const signingInput = `${headerSegment(typ)}.${base64url(JSON.stringify(payload))}`
      const signature = sign(binding.hash, Buffer.from(signingInput), keyInput)
      return `${signingInput}.${signature.toString('base64url')}`
    },
  }
}

/** Shortest HS256 secret RFC 7518 §3.2 allows: as long as the hash output. */
export const minimumSecretBytes = 32

/** HS256 over a secret `KeyObject` (RFC 7518 §3.2). */
export function createHmacSigner(kid: string, secret: KeyObject): JWSSigner {
  assertSecret(secret)
  const headers = headerSegments(secretAlgorithm, kid)
  return {
    alg: secretAlgorithm,
    kid,
    sign(typ, payload) {
      const signingInput = `${headers(typ)}.${base64url(JSON.stringify(payload))}`
      const signature = createHmac('sha256', secret).update(signingInput).digest('base64url')
      return `${signingInput}.${signature}`
    },
  }
}

export function createHmacVerifierKey(kid: string, secret: KeyObject): JWSVerifierKey {
  assertSecret(secret)
  return {
    alg: secretAlgorithm,
    kid,
    verifySignature(signingInput, signature) {
      const expected = createHmac('sha256', secret).update(signingInput).digest()
      // The length is public (always 32); the bytes are compared in constant time.
      return signature.length === expected.length && timingSafeEqual(signature, expected)
    },
  }
}

function assertSecret(secret: KeyObject): void {
  if (secret.type !== 'secret' || (secret.symmetricKeySize ?? 0) < minimumSecretBytes) {
    throw new TypeError(`HS256 needs a secret key of at least ${minimumSecretBytes} bytes`)
  }
}

export function createJWSVerifierKey(
  alg: SigningAlgorithm,
  kid: string,
  publicKey: KeyObject,
): JWSVerifierKey {
  const binding = bindingFor(alg, publicKey)
  const keyInput: VerifyKeyObjectInput = binding.dsaEncoding
    ? { key: publicKey, dsaEncoding: binding.dsaEncoding }
    : { key: publicKey }
  return {
    alg,
    kid,
    verifySignature(signingInput, signature) {
      if (binding.signatureLength !== undefined && signature.length !== binding.signatureLength) {
        return false
      }
      return verify(binding.hash, Buffer.from(signingInput), keyInput, signature)
    },
  }
}

export interface DecodedJWS {
  header: Readonly<Record<string, unknown>>
  payloadSegment: string
  signingInput: string
  signature: Buffer
}

/**
 * Splits and decodes a compact JWS without trusting anything in it. Returns null for anything
 * that is not exactly three base64url segments with a JSON-object header.
 */
export function decodeJWS(token: unknown): DecodedJWS | null {
  // Anything longer than the shared limit is refused before any parsing.
  if (typeof token !== 'string' || token.length === 0 || token.length > maxTokenLength) return null
  const firstDot = token.indexOf('.')
  const secondDot = token.indexOf('.', firstDot + 1)
  if (firstDot <= 0 || secondDot <= firstDot + 1 || token.indexOf('.', secondDot + 1) !== -1) {
    return null
  }
  const signatureSegment = token.slice(secondDot + 1)
  // Node's base64url decoder skips foreign characters and maps + and / too: without this check
  // one signature would match endlessly many token strings (RFC 7515 §2 allows none of them).
  if (!base64urlSegment.test(signatureSegment) || !endsCanonically(signatureSegment)) return null
  const header = parseHeader(token.slice(0, firstDot))
  if (header === null) return null
  return {
    header,
    payloadSegment: token.slice(firstDot + 1, secondDot),
    signingInput: token.slice(0, secondDot),
    signature: Buffer.from(signatureSegment, 'base64url'),
  }
}

const base64urlSegment = /^[A-Za-z0-9_-]+$/

/**
 * The bits past a segment's last byte are zero, so that one signature has one spelling: ES256 and
 * EdDSA signatures end in a character carrying 2 bits and 4 unused ones, which Node's decoder
 * ignores, so 16 token strings would otherwise carry the same signature.
 */
function endsCanonically(segment: string): boolean {
  const rest = segment.length % 4
  if (rest === 0) return true
  if (rest === 1) return false
  const code = segment.charCodeAt(segment.length - 1)
  const value =
    code >= 97 ? code - 71 : code >= 65 ? code - 65 : code >= 48 ? code + 4 : code === 45 ? 62 : 63
  return (value & (rest === 2 ? 0x0f : 0x03)) === 0
}

// Every token of one key and type carries the same header segment, so its parse is kept:
// decoding it was a fixed microsecond per verification, a fifth of an RS256 verify's overhead.
// Bounded, since a client can send any number of distinct headers.
const parsedHeaders = new Map<string, Readonly<Record<string, unknown>> | null>()
const maxParsedHeaders = 256

function parseHeader(segment: string): Readonly<Record<string, unknown>> | null {
  let header = parsedHeaders.get(segment)
  if (header === undefined) {
    const parsed = parseJSONObject(segment)
    header = parsed === null ? null : Object.freeze(parsed)
    if (parsedHeaders.size >= maxParsedHeaders) parsedHeaders.clear()
    parsedHeaders.set(segment, header)
  }
  return header
}

export function parseJSONObject(segment: string): Record<string, unknown> | null {
  if (!base64urlSegment.test(segment)) return null
  return decodeJSONObject(segment)
}

/**
 * For a segment the signature has already vouched for: it is exactly what we signed, so the
 * alphabet check of `parseJSONObject` would only repeat work on the hot path.
 */
export function parseSignedJSONObject(segment: string): Record<string, unknown> | null {
  return decodeJSONObject(segment)
}

function decodeJSONObject(segment: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null
  } catch {
    return null
  }
}

function bindingFor(alg: SigningAlgorithm, key: KeyObject): AlgorithmBinding {
  const binding = bindings[alg]
  if (key.asymmetricKeyType !== binding.keyType) {
    throw new TypeError(`a ${String(key.asymmetricKeyType)} key cannot be used with ${alg}`)
  }
  if (alg === 'ES256' && key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new TypeError('ES256 needs a P-256 key')
  }
  return binding
}

/** Every token of one key and type has the same header: encode it once per `typ`. */
function headerSegments(alg: KeyAlgorithm, kid: string): (typ: string) => string {
  const segments = new Map<string, string>()
  return (typ) => {
    let segment = segments.get(typ)
    if (segment === undefined) {
      segment = base64url(JSON.stringify({ alg, kid, typ }))
      segments.set(typ, segment)
    }
    return segment
  }
}

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url')
}
