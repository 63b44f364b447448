/**
 * base64url (RFC 7515 §2, unpadded) on every runtime: no Buffer. The table decoder is strict and
 * allocation-free, for unsigned input and the signature; signed JSON goes through `atob`.
 */
const values = new Int8Array(128).fill(-1)
for (let index = 0; index < 64; index++) {
  values['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.charCodeAt(index)] =
    index
}

const utf8 = new TextDecoder('utf-8', { fatal: true })
// Large enough for any segment of a token we look at (8 KiB); the decoder copies out of it.
const scratch = new Uint8Array(6144)

/** A segment that decodes to a JSON object, or null. */
export function decodeJSONObject(segment: string): Record<string, unknown> | null {
  const bytes = decodeBase64urlInto(segment, scratch)
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
 * runtime's native `atob` (measured 0.9 µs for a 330-character payload with `JSON.parse`, against
 * 1.5 µs through the table decoder and `TextDecoder`).
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
 * Decodes an unpadded base64url segment into `into` and returns a view of the bytes, or null for
 * any character outside RFC 7515's alphabet, an impossible length, non-zero bits past the last
 * byte (so that one signature has exactly one spelling) or too little room. No allocation but the
 * view: this runs on every verification, where allocating showed as garbage collection.
 */
export function decodeBase64urlInto(segment: string, into: Uint8Array): Uint8Array | null {
  const length = segment.length
  const rest = length % 4
  if (rest === 1 || ((length - rest) / 4) * 3 + (rest === 0 ? 0 : rest - 1) > into.length) {
    return null
  }
  let out = 0
  let index = 0
  for (; index + 4 <= length; index += 4) {
    const a = valueAt(segment, index)
    const b = valueAt(segment, index + 1)
    const c = valueAt(segment, index + 2)
    const d = valueAt(segment, index + 3)
    if ((a | b | c | d) < 0) return null
    const word = (a << 18) | (b << 12) | (c << 6) | d
    into[out++] = word >> 16
    into[out++] = (word >> 8) & 0xff
    into[out++] = word & 0xff
  }
  if (rest >= 2) {
    const a = valueAt(segment, index)
    const b = valueAt(segment, index + 1)
    if ((a | b) < 0) return null
    into[out++] = (a << 2) | (b >> 4)
    if (rest === 2) {
      if ((b & 0x0f) !== 0) return null
    } else {
      const c = valueAt(segment, index + 2)
      if (c < 0 || (c & 0x03) !== 0) return null
      into[out++] = ((b & 0x0f) << 4) | (c >> 2)
    }
  }
  return into.subarray(0, out)
}

function valueAt(segment: string, index: number): number {
  const code = segment.charCodeAt(index)
  return code < 128 ? (values[code] as number) : -1
}

function bytesOf(binary: string): Uint8Array {
  const bytes = new Uint8Array(binary.length)
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index)
  return bytes
}
