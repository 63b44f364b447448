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
