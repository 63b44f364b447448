/**
 * base64url without Buffer or atob, so that it runs on every runtime: `atob` takes the other
 * alphabet and would need a rewritten copy of each segment first.
 */
const values = new Int16Array(128).fill(-1)
for (let index = 0; index < 64; index++) {
  values['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.charCodeAt(index)] =
    index
}

/** The bytes of an unpadded base64url segment, or null for any character outside RFC 7515's alphabet. */
export function decodeBase64url(segment: string): Uint8Array | null {
  const length = segment.length
  if (length % 4 === 1) return null
  const bytes = new Uint8Array((length * 3) >> 2)
  let byteIndex = 0
  let buffer = 0
  let bits = 0
  for (let index = 0; index < length; index++) {
    const code = segment.charCodeAt(index)
    const value = code < 128 ? (values[code] as number) : -1
    if (value < 0) return null
    buffer = (buffer << 6) | value
    bits += 6
    if (bits >= 8) {
      bits -= 8
      bytes[byteIndex++] = (buffer >> bits) & 0xff
    }
  }
  return bytes
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** A segment that decodes to a JSON object, or null. */
export function decodeJSONObject(segment: string): Record<string, unknown> | null {
  const bytes = decodeBase64url(segment)
  if (bytes === null) return null
  try {
    const value: unknown = JSON.parse(utf8.decode(bytes))
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null
  } catch {
    return null
  }
}

/**
 * The text of a base64url segment that a signature has already vouched for, decoded by the
 * runtime's native `atob` (several times faster than the table above on Node and in browsers).
 * Only for signed content: `atob` is forgiving about padding and whitespace, which the signature
 * check makes irrelevant.
 */
export function decodeSignedJSONObject(segment: string): Record<string, unknown> | null {
  try {
    const binary = atob(segment.replace(/-/g, '+').replace(/_/g, '/'))
    // Baton's claims are ASCII; anything else is UTF-8 and goes through the decoder.
    const text = nonAscii.test(binary) ? utf8.decode(bytesOf(binary)) : binary
    const value: unknown = JSON.parse(text)
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null
  } catch {
    return null
  }
}

const nonAscii = /[\x80-\xff]/

/**
 * The bytes of a base64url segment whose alphabet the caller has checked, written into `into`
 * (a view of it is returned; null when it does not fit or does not decode).
 */
export function decodeCheckedBase64urlInto(segment: string, into: Uint8Array): Uint8Array | null {
  let binary: string
  try {
    binary = atob(segment.replace(/-/g, '+').replace(/_/g, '/'))
  } catch {
    return null
  }
  if (binary.length > into.length) return null
  for (let index = 0; index < binary.length; index++) into[index] = binary.charCodeAt(index)
  return into.subarray(0, binary.length)
}

function bytesOf(binary: string): Uint8Array {
  const bytes = new Uint8Array(binary.length)
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index)
  return bytes
}
