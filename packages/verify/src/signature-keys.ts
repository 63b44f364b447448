/**
 * Public keys for JWS verification on any runtime. On Node (and runtimes that offer its
 * `node:crypto`) a key verifies synchronously through `node:crypto`, found at run time with
 * `process.getBuiltinModule`: there is no import, so bundlers for edge runtimes see none, and
 * measured here WebCrypto's asynchronous `verify` gives 55–60% of the synchronous call's
 * throughput one at a time. Everywhere else it is WebCrypto.
 */

import { signingAlgorithms, type SigningAlgorithm } from './vocabulary.js'

/** An algorithm the verifier accepts: exactly those Baton signs with. */
export type VerifyAlgorithm = SigningAlgorithm
export const verifyAlgorithms: readonly VerifyAlgorithm[] = signingAlgorithms

/** Which implementation verifies: `auto` picks `node:crypto` when the runtime has it. */
export type CryptoBackend = 'auto' | 'node' | 'webcrypto'

export interface SignatureKey {
  readonly kid: string
  readonly alg: VerifyAlgorithm
  readonly backend: 'node' | 'webcrypto'
  verify(data: Uint8Array, signature: Uint8Array): boolean | Promise<boolean>
}

/** What a JWKS entry may carry; only the public members of the key are ever used. */
export interface JsonWebKeyLike {
  kty?: unknown
  crv?: unknown
  x?: unknown
  y?: unknown
  n?: unknown
  e?: unknown
  kid?: unknown
  alg?: unknown
  use?: unknown
  key_ops?: unknown
}

interface Binding {
  kty: string
  crv?: string
  /** Fixed signature length in bytes, checked before any crypto runs. */
  signatureLength?: number
  node: { hash: string | null; dsaEncoding?: 'ieee-p1363' }
  webImport: { name: string; namedCurve?: string; hash?: string }
  webVerify: { name: string; hash?: string }
}

const bindings: Record<VerifyAlgorithm, Binding> = {
  ES256: {
    kty: 'EC',
    crv: 'P-256',
    signatureLength: 64,
    node: { hash: 'sha256', dsaEncoding: 'ieee-p1363' },
    webImport: { name: 'ECDSA', namedCurve: 'P-256' },
    webVerify: { name: 'ECDSA', hash: 'SHA-256' },
  },
  EdDSA: {
    kty: 'OKP',
    crv: 'Ed25519',
    signatureLength: 64,
    node: { hash: null },
    webImport: { name: 'Ed25519' },
    webVerify: { name: 'Ed25519' },
  },
  RS256: {
    kty: 'RSA',
    node: { hash: 'sha256' },
    webImport: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    webVerify: { name: 'RSASSA-PKCS1-v1_5' },
  },
}

/** RSA moduli under 2048 bits are refused (NIST SP 800-131A). */
const minRsaModulusBase64urlLength = Math.ceil((2048 / 8) * (4 / 3))

/**
 * The algorithm a JWK is for: its `alg` when present, else what its key type implies. Null for
 * anything we do not verify with (private members are never read, HMAC keys never match).
 */
export function algorithmOf(jwk: JsonWebKeyLike): VerifyAlgorithm | null {
  if (jwk.use !== undefined && jwk.use !== 'sig') return null
  if (jwk.alg !== undefined) {
    const alg = verifyAlgorithms.find((candidate) => candidate === jwk.alg)
    if (alg === undefined) return null
    const binding = bindings[alg]
    return jwk.kty === binding.kty && (binding.crv === undefined || jwk.crv === binding.crv)
      ? alg
      : null
  }
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256'
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA'
  if (jwk.kty === 'RSA') return 'RS256'
  return null
}

/** Imports the public part of `jwk` for `alg`; rejects a key that does not fit it. */
export async function importSignatureKey(
  jwk: JsonWebKeyLike,
  kid: string,
  alg: VerifyAlgorithm,
  backend: CryptoBackend = 'auto',
): Promise<SignatureKey> {
  const binding = bindings[alg]
  const publicJwk = publicMembers(jwk, alg)
  const node = backend === 'webcrypto' ? undefined : nodeCrypto()
  if (backend === 'node' && node === undefined) {
    throw new Error('node:crypto is not available on this runtime')
  }
  const fixedLength = binding.signatureLength
  if (node !== undefined) {
    const key = node.createPublicKey({ key: publicJwk, format: 'jwk' })
    const keyInput = binding.node.dsaEncoding
      ? { key, dsaEncoding: binding.node.dsaEncoding }
      : { key }
    const hash = binding.node.hash
    return {
      kid,
      alg,
      backend: 'node',
      verify(data, signature) {
        if (fixedLength !== undefined && signature.length !== fixedLength) return false
        return node.verify(hash, data, keyInput, signature)
      },
    }
  }
  const subtle = globalThis.crypto?.subtle
  if (subtle === undefined) throw new Error('this runtime has neither node:crypto nor WebCrypto')
  const key = await subtle.importKey('jwk', publicJwk, binding.webImport, false, ['verify'])
  const parameters = binding.webVerify
  return {
    kid,
    alg,
    backend: 'webcrypto',
    async verify(data, signature) {
      if (fixedLength !== undefined && signature.length !== fixedLength) return false
      return subtle.verify(parameters, key, signature, data)
    },
  }
}

/** Only public members: a private `d` in a published JWKS is never passed on. */
interface PublicJwk {
  kty: string
  crv?: string
  x?: string
  y?: string
  n?: string
  e?: string
}

function publicMembers(jwk: JsonWebKeyLike, alg: VerifyAlgorithm): PublicJwk {
  const binding = bindings[alg]
  const text = (name: string, value: unknown): string => {
    if (typeof value !== 'string' || value === '') throw new Error(`JWK member ${name} missing`)
    return value
  }
  if (jwk.kty !== binding.kty)
    throw new Error(`a ${String(jwk.kty)} key cannot be used with ${alg}`)
  switch (alg) {
    case 'ES256':
      if (jwk.crv !== 'P-256') throw new Error('ES256 needs a P-256 key')
      return { kty: 'EC', crv: 'P-256', x: text('x', jwk.x), y: text('y', jwk.y) }
    case 'EdDSA':
      if (jwk.crv !== 'Ed25519') throw new Error('EdDSA here means Ed25519')
      return { kty: 'OKP', crv: 'Ed25519', x: text('x', jwk.x) }
    case 'RS256': {
      const n = text('n', jwk.n)
      if (n.length < minRsaModulusBase64urlLength)
        throw new Error('RSA keys under 2048 bits are refused')
      return { kty: 'RSA', n, e: text('e', jwk.e) }
    }
  }
}

interface NodeKeyObject {
  readonly asymmetricKeyType?: string
}

/** The part of `node:crypto` used here, typed without Node's type definitions. */
interface NodeCrypto {
  createPublicKey(input: { key: PublicJwk; format: 'jwk' }): NodeKeyObject
  verify(
    hash: string | null,
    data: Uint8Array,
    key: { key: NodeKeyObject; dsaEncoding?: 'ieee-p1363' },
    signature: Uint8Array,
  ): boolean
}

let nodeCryptoModule: NodeCrypto | null | undefined

function nodeCrypto(): NodeCrypto | undefined {
  if (nodeCryptoModule === undefined) {
    const runtime = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } })
      .process
    nodeCryptoModule =
      typeof runtime?.getBuiltinModule === 'function'
        ? ((runtime.getBuiltinModule('node:crypto') as NodeCrypto | undefined) ?? null)
        : null
  }
  return nodeCryptoModule ?? undefined
}
