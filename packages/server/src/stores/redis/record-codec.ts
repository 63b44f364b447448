/**
 * A session record as Redis stores it: one binary string per session, spliced by the Lua scripts
 * (scripts.ts) and decoded here. Compact because Redis keeps every byte in memory: a typical
 * record takes 70 bytes (85 once rotated) where JSON takes 500. The user id and session id are in
 * the key, so the value holds neither.
 *
 *   byte 1       the format, 1
 *   fields 1-8   integers: createdAt, lastUsedAt, expiresAt - createdAt, purgeAt - lastUsedAt,
 *                currentIssuedAt, currentExpiresAt - currentIssuedAt, rotatedAt - lastUsedAt,
 *                revokedAt
 *   fields 9-15  strings: currentJti, previousJti, ip, userAgent, scope, clientId, revokedReason
 *
 * A field stored as a difference is always written together with the field it is relative to
 * (a rotation sets lastUsedAt, purgeAt and rotatedAt at once), so no script has to re-encode one;
 * the differences save a byte each, and 5 for rotatedAt, which a rotation makes equal to
 * lastUsedAt.
 *
 * An integer is one varint (LEB128: 7 bits a byte, low bits first, high bit set on all but the
 * last byte) holding 0 for null, else zigzag(value) + 1: epoch milliseconds take 6 bytes, epoch
 * seconds 5, two weeks in milliseconds 5.
 *
 * A string is a varint head, 0 for null, else 1 + form + 4 × byteLength, then its bytes:
 *   form 0  UTF-8 text
 *   form 1  16 bytes whose base64url is the string (the 22-character ids of randomId())
 *   form 2  the 4 bytes of a dotted-quad IPv4 address
 *   form 3  the user agent, deflate-raw with USER_AGENT_DICTIONARY_V1 (100 bytes become ~10)
 * Lua skips a string by its head alone and never needs the form. Equal strings always encode to
 * equal bytes (form 3 aside, used for user agents only), so the rotate script compares the
 * expected jti byte for byte.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib'
import type {
  SessionRecord,
  SessionRef,
  SessionRevocation,
  SessionRotation,
} from '../../core/ports.js'
import { USER_AGENT_DICTIONARY_V1 } from './user-agent-dictionary.js'

const FORMAT = 1

const TEXT = 0
const ID = 1
const IPV4 = 2
const USER_AGENT_V1 = 3
const FORMS = 4

// Zigzag doubles a magnitude and the head adds one: below 2^51 every step stays an exact double,
// in JavaScript and in Redis's Lua alike. 2^51 ms is some 70,000 years.
const MAX_MAGNITUDE = 2 ** 51

const idPattern = /^[A-Za-z0-9_-]{22}$/
const ipv4Pattern = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/

/** One integer field, or null. */
function encodeInteger(value: number | null): Buffer {
  if (value === null) return Buffer.of(0)
  if (!Number.isInteger(value) || Math.abs(value) >= MAX_MAGNITUDE) {
    throw new RangeError(`${value} is not an integer the session record can hold`)
  }
  return varint((value >= 0 ? value * 2 : -value * 2 - 1) + 1)
}

/** One string field, or null, in its most compact form: equal strings give equal bytes. */
export function encodeString(value: string | null): Buffer {
  if (value === null) return Buffer.of(0)
  if (idPattern.test(value)) {
    const bytes = Buffer.from(value, 'base64url')
    // The last character carries 4 spare bits; only ids that round-trip exactly may be packed.
    if (bytes.toString('base64url') === value) return withHead(ID, bytes)
  }
  const quad = ipv4Pattern.exec(value)
  if (quad !== null) {
    const octets = quad.slice(1).map(Number)
    // Leading zeros ("010.0.0.1") would not come back as written.
    if (octets.every((octet, index) => octet <= 255 && String(octet) === quad[index + 1])) {
      return withHead(IPV4, Buffer.from(octets))
    }
  }
  return withHead(TEXT, Buffer.from(value, 'utf8'))
}

/** Like `encodeString`, and deflates against the user-agent dictionary when that is shorter. */
function encodeUserAgent(value: string | null): Buffer {
  if (value === null) return encodeString(null)
  let encoded = userAgentCache.get(value)
  if (encoded === undefined) {
    const text = encodeString(value)
    const deflated = withHead(
      USER_AGENT_V1,
      deflateRawSync(value, { dictionary: USER_AGENT_DICTIONARY_V1, level: 9 }),
    )
    encoded = deflated.length < text.length ? deflated : text
    remember(userAgentCache, value, encoded)
  }
  return encoded
}

export function encodeSessionRecord(session: SessionRecord): Buffer {
  return Buffer.concat([
    Buffer.of(FORMAT),
    encodeInteger(session.createdAt),
    encodeInteger(session.lastUsedAt),
    encodeInteger(session.expiresAt - session.createdAt),
    encodeInteger(session.purgeAt - session.lastUsedAt),
    encodeInteger(session.currentIssuedAt),
    encodeInteger(session.currentExpiresAt - session.currentIssuedAt),
    encodeInteger(session.rotatedAt === null ? null : session.rotatedAt - session.lastUsedAt),
    encodeInteger(session.revokedAt),
    encodeString(session.currentJti),
    encodeString(session.previousJti),
    encodeString(session.ip),
    encodeUserAgent(session.userAgent),
    encodeString(session.scope),
    encodeString(session.clientId),
    encodeString(session.revokedReason),
  ])
}

/**
 * The fields a rotation replaces, in the order the rotate script takes them: lastUsedAt, purgeAt,
 * currentIssuedAt, currentExpiresAt, rotatedAt, currentJti, ip, userAgent.
 */
export function encodeRotation(next: SessionRotation): Buffer[] {
  return [
    encodeInteger(next.rotatedAt),
    encodeInteger(next.purgeAt - next.rotatedAt),
    encodeInteger(next.issuedAt),
    encodeInteger(next.expiresAt - next.issuedAt),
    encodeInteger(0),
    encodeString(next.jti),
    encodeString(next.ip),
    encodeUserAgent(next.userAgent),
  ]
}

/** The fields a revocation sets: revokedAt, revokedReason. */
export function encodeRevocation(revocation: SessionRevocation): Buffer[] {
  return [encodeInteger(revocation.revokedAt), encodeString(revocation.reason)]
}

/** Throws on bytes that are not a record of a format this build knows. */
export function decodeSessionRecord(ref: SessionRef, bytes: Buffer): SessionRecord {
  const reader = new Reader(bytes)
  const format = reader.byte()
  if (format !== FORMAT) throw new Error(`unknown session record format ${format}`)
  const createdAt = required(reader.integer())
  const lastUsedAt = required(reader.integer())
  const expiresAt = createdAt + required(reader.integer())
  const purgeAt = lastUsedAt + required(reader.integer())
  const currentIssuedAt = required(reader.integer())
  const currentExpiresAt = currentIssuedAt + required(reader.integer())
  const rotatedAfterUse = reader.integer()
  const revokedAt = reader.integer()
  const currentJti = required(reader.string())
  const previousJti = reader.string()
  const ip = reader.string()
  const userAgent = reader.string()
  const scope = required(reader.string())
  const clientId = reader.string()
  const revokedReason = reader.string()
  if (!reader.done()) throw new Error('session record has trailing bytes')
  return {
    id: ref.sessionId,
    userId: ref.userId,
    createdAt,
    lastUsedAt,
    expiresAt,
    ip,
    userAgent,
    scope,
    clientId,
    currentJti,
    currentIssuedAt,
    currentExpiresAt,
    previousJti,
    rotatedAt: rotatedAfterUse === null ? null : lastUsedAt + rotatedAfterUse,
    revokedAt,
    revokedReason,
    purgeAt,
  }
}

function required<T>(value: T | null): T {
  if (value === null) throw new Error('session record lacks a field')
  return value
}
function varint(value: number): Buffer {
  const bytes: number[] = []
  let rest = value
  // Division, not bit shifts: values pass 2^32.
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) + 0x80)
    rest = Math.floor(rest / 0x80)
  }
  bytes.push(rest)
  return Buffer.from(bytes)
}

function withHead(form: number, bytes: Buffer): Buffer {
  return Buffer.concat([varint(1 + form + FORMS * bytes.length), bytes])
}

class Reader {
  #position = 0

  constructor(private readonly bytes: Buffer) {}

  byte(): number {
    const byte = this.bytes[this.#position]
    if (byte === undefined) throw new Error('session record is truncated')
    this.#position += 1
    return byte
  }

  varint(): number {
    let value = 0
    let scale = 1
    for (;;) {
      const byte = this.byte()
      value += (byte % 0x80) * scale
      if (byte < 0x80) return value
      scale *= 0x80
    }
  }

  integer(): number | null {
    const head = this.varint()
    if (head === 0) return null
    const zigzag = head - 1
    return zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2
  }

  string(): string | null {
    const head = this.varint()
    if (head === 0) return null
    const form = (head - 1) % FORMS
    const length = Math.floor((head - 1) / FORMS)
    const end = this.#position + length
    if (end > this.bytes.length) throw new Error('session record is truncated')
    const bytes = this.bytes.subarray(this.#position, end)
    this.#position = end
    switch (form) {
      case TEXT:
        return bytes.toString('utf8')
      case ID:
        return bytes.toString('base64url')
      case IPV4:
        return bytes.join('.')
      default:
        return inflateUserAgent(bytes)
    }
  }

  done(): boolean {
    return this.#position === this.bytes.length
  }
}

function inflateUserAgent(bytes: Buffer): string {
  const key = bytes.toString('latin1')
  let value = inflatedCache.get(key)
  if (value === undefined) {
    value = inflateRawSync(bytes, { dictionary: USER_AGENT_DICTIONARY_V1 }).toString('utf8')
    remember(inflatedCache, key, value)
  }
  return value
}

// A server sees few distinct user agents, and (de)flating one costs 15-30 µs: a small cache each
// way keeps that off the refresh path.
const CACHE_SIZE = 1000
const MAX_CACHED_LENGTH = 512
const userAgentCache = new Map<string, Buffer>()
const inflatedCache = new Map<string, string>()

function remember<V>(cache: Map<string, V>, key: string, value: V): void {
  // Real agents are short; a client sending kilobytes need not hold the cache's memory.
  if (key.length > MAX_CACHED_LENGTH) return
  // Dropping the oldest entry is enough here: the common agents come straight back.
  if (cache.size >= CACHE_SIZE) {
    const oldest = cache.keys().next()
    if (oldest.done !== true) cache.delete(oldest.value)
  }
  cache.set(key, value)
}
