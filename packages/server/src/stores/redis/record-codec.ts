/**
 * A session record as Redis stores it: one binary string per session, spliced by the Lua scripts
 * (scripts.ts) and decoded here. Compact because Redis keeps every byte in memory: a typical
 * record takes 70 bytes (85 once rotated) where JSON takes 500. The user id and session id are in
 * the key, so the value holds neither.
 *
 *   byte 1   the format, 1
 *   fields   in the order of record-layout.ts, which the Lua scripts use too: integers
 *            (createdAt, lastUsedAt, expiresAt - createdAt, purgeAt - lastUsedAt,
 *            currentIssuedAt, currentExpiresAt - currentIssuedAt, rotatedAt - lastUsedAt,
 *            revokedAt), then strings (currentJti, previousJti, ip, userAgent, scope, clientId,
 *            revokedReason)
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
import {
  RECORD_FORMAT,
  STRING_FORMS,
  type RecordField,
  type RecordProperty,
  type RecordValues,
  fieldOf,
  recordFields,
  relativeFields,
  revocationProperties,
  rotationProperties,
} from './record-layout.js'
import { USER_AGENT_DICTIONARY_V1 } from './user-agent-dictionary.js'

const TEXT = 0
const ID = 1
const IPV4 = 2
const USER_AGENT_V1 = 3

// Zigzag doubles a magnitude and the head adds one: below 2^51 every step stays an exact double,
// in JavaScript and in Redis's Lua alike. 2^51 ms is some 70,000 years.
const MAX_MAGNITUDE = 2 ** 51

const ipv4Pattern = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/

/**
 * Appends encoded fields to one growing buffer: a record or a rotation request is built with one
 * allocation or two, not one per field, which matters on the refresh path.
 */
class Writer {
  #bytes = Buffer.allocUnsafe(128)
  #length = 0

  get length(): number {
    return this.#length
  }

  #room(size: number): void {
    if (this.#length + size <= this.#bytes.length) return
    const grown = Buffer.allocUnsafe(Math.max(this.#bytes.length * 2, this.#length + size))
    this.#bytes.copy(grown, 0, 0, this.#length)
    this.#bytes = grown
  }

  byte(value: number): void {
    this.#room(1)
    this.#bytes[this.#length++] = value
  }

  varint(value: number): void {
    this.#room(8)
    let rest = value
    // Division, not bit shifts: values pass 2^32.
    while (rest >= 0x80) {
      this.#bytes[this.#length++] = (rest % 0x80) + 0x80
      rest = Math.floor(rest / 0x80)
    }
    this.#bytes[this.#length++] = rest
  }

  bytes(value: Uint8Array): void {
    this.#room(value.length)
    this.#bytes.set(value, this.#length)
    this.#length += value.length
  }

  text(value: string): void {
    const size = Buffer.byteLength(value, 'utf8')
    this.#room(size)
    this.#length += this.#bytes.write(value, this.#length, 'utf8')
  }

  double(value: number): void {
    this.#room(8)
    this.#length = this.#bytes.writeDoubleBE(value, this.#length)
  }

  /** Reserves a 16-bit length at the current position; `closeLength` fills it in. */
  openLength(): number {
    this.#room(2)
    this.#length += 2
    return this.#length
  }

  closeLength(start: number): void {
    const size = this.#length - start
    // A field is a few bytes; a user agent is cached up to 512 characters, deflated or not.
    if (size > 0xffff) throw new RangeError('session field too long for a rotation request')
    this.#bytes.writeUInt16BE(size, start - 2)
  }

  /** The bytes written, copied out of the working buffer. */
  done(): Buffer {
    return Buffer.from(this.#bytes.subarray(0, this.#length))
  }
}

/** One integer field, or null. */
function writeInteger(writer: Writer, value: number | null): void {
  if (value === null) return writer.byte(0)
  if (!Number.isInteger(value) || Math.abs(value) >= MAX_MAGNITUDE) {
    throw new RangeError(`${value} is not an integer the session record can hold`)
  }
  writer.varint((value >= 0 ? value * 2 : -value * 2 - 1) + 1)
}

function writeHead(writer: Writer, form: number, byteLength: number): void {
  writer.varint(1 + form + STRING_FORMS * byteLength)
}

// 16 bytes are 21 base64url characters and 2 bits: an id packs exactly only when the last
// character's 4 spare bits are zero.
const packableId = /^[A-Za-z0-9_-]{21}[AQgw]$/

/** One string field, or null, in its most compact form: equal strings give equal bytes. */
function writeString(writer: Writer, value: string | null): void {
  if (value === null) return writer.byte(0)
  if (value.length === 22 && packableId.test(value)) {
    writeHead(writer, ID, 16)
    return writer.bytes(Buffer.from(value, 'base64url'))
  }
  const quad = ipv4Pattern.exec(value)
  if (quad !== null) {
    const octets = quad.slice(1).map(Number)
    // Leading zeros ("010.0.0.1") would not come back as written.
    if (octets.every((octet, index) => octet <= 255 && String(octet) === quad[index + 1])) {
      writeHead(writer, IPV4, 4)
      for (const octet of octets) writer.byte(octet)
      return
    }
  }
  writeHead(writer, TEXT, Buffer.byteLength(value, 'utf8'))
  writer.text(value)
}

/** One string field, or null, in its most compact form: equal strings give equal bytes. */
export function encodeString(value: string | null): Buffer {
  const writer = new Writer()
  writeString(writer, value)
  return writer.done()
}

/** Like `writeString`, and deflates against the user-agent dictionary when that is shorter. */
function writeUserAgent(writer: Writer, value: string | null): void {
  if (value === null) return writeString(writer, null)
  let encoded = userAgentCache.get(value)
  if (encoded === undefined) {
    const text = encodeString(value)
    const deflated = new Writer()
    const bytes = deflateRawSync(value, { dictionary: USER_AGENT_DICTIONARY_V1, level: 9 })
    writeHead(deflated, USER_AGENT_V1, bytes.length)
    deflated.bytes(bytes)
    encoded = deflated.length < text.length ? deflated.done() : text
    remember(userAgentCache, value, encoded)
  }
  writer.bytes(encoded)
}

function writeField(writer: Writer, field: RecordField, values: Partial<RecordValues>): void {
  if (field.kind === 'string') {
    const value = defined(values[field.property], field)
    return field.userAgent === true ? writeUserAgent(writer, value) : writeString(writer, value)
  }
  const value = defined(values[field.property], field)
  if (value === null || field.relativeTo === undefined) return writeInteger(writer, value)
  const base = defined(values[field.relativeTo], fieldOf(field.relativeTo))
  if (base === null) throw new Error(`session record: ${field.relativeTo} is null`)
  writeInteger(writer, value - base)
}

/** One field of `values`, relative fields as the difference from their base. */
export function encodeField(field: RecordField, values: Partial<RecordValues>): Buffer {
  const writer = new Writer()
  writeField(writer, field, values)
  return writer.done()
}

function defined<T>(value: T | undefined, field: RecordField): T {
  if (value === undefined) throw new Error(`session record: ${field.property} is missing`)
  return value
}

export function encodeSessionRecord(session: SessionRecord): Buffer {
  const writer = new Writer()
  writer.byte(RECORD_FORMAT)
  for (const field of recordFields) writeField(writer, field, session)
  return writer.done()
}

const rotationFields = rotationProperties.map(fieldOf)
const revocationFields = revocationProperties.map(fieldOf)

function rotationValues(next: SessionRotation): Partial<RecordValues> {
  return {
    lastUsedAt: next.rotatedAt,
    purgeAt: next.purgeAt,
    currentIssuedAt: next.issuedAt,
    currentExpiresAt: next.expiresAt,
    rotatedAt: next.rotatedAt,
    currentJti: next.jti,
    ip: next.ip,
    userAgent: next.userAgent,
  }
}

/**
 * One rotation as the rotate script takes it (scripts.ts), in one argument that Redis's C
 * `struct.unpack` reads in a single call: now, purgeAt and the new token's expiresAt as big-endian
 * doubles (exact below 2^53), then the expected jti and the fields a rotation replaces
 * (ROTATION_FIELDS), each as encoded in a record, behind a big-endian 16-bit length.
 */
export function encodeRotationRequest(expectedJti: string, next: SessionRotation): Buffer {
  const writer = new Writer()
  writer.double(next.rotatedAt)
  writer.double(next.purgeAt)
  writer.double(next.expiresAt)
  let start = writer.openLength()
  writeString(writer, expectedJti)
  writer.closeLength(start)
  const values = rotationValues(next)
  for (const field of rotationFields) {
    start = writer.openLength()
    writeField(writer, field, values)
    writer.closeLength(start)
  }
  return writer.done()
}

/** The fields a revocation sets, in the order the revoke scripts take them (record-layout.ts). */
export function encodeRevocation(revocation: SessionRevocation): Buffer[] {
  const values: Partial<RecordValues> = {
    revokedAt: revocation.revokedAt,
    revokedReason: revocation.reason,
  }
  return revocationFields.map((field) => encodeField(field, values))
}

/** Each field's position in the record, and each relative field's position with its base's. */
const at = Object.fromEntries(
  recordFields.map((field, index) => [field.property, index]),
) as Record<RecordProperty, number>
const relativePositions = relativeFields.map((field): [number, number] => [
  at[field.property],
  at[field.relativeTo],
])

/** Throws on bytes that are not a record of a format this build knows. */
export function decodeSessionRecord(ref: SessionRef, bytes: Buffer): SessionRecord {
  const reader = new Reader(bytes)
  const format = reader.byte()
  if (format !== RECORD_FORMAT) throw new Error(`unknown session record format ${format}`)
  const values: (number | string | null)[] = []
  for (const field of recordFields) {
    const value = field.kind === 'integer' ? reader.integer() : reader.string()
    if (value === null && field.nullable !== true) {
      throw new Error('session record lacks a field')
    }
    values.push(value)
  }
  if (!reader.done()) throw new Error('session record has trailing bytes')
  // Bases are never relative themselves (record-layout.ts checks), so one pass suffices.
  for (const [index, base] of relativePositions) {
    const value = values[index] as number | null
    if (value !== null) values[index] = (values[base] as number) + value
  }
  // An object literal rather than properties added in a loop: one fixed shape, read fast.
  return {
    id: ref.sessionId,
    userId: ref.userId,
    createdAt: values[at.createdAt] as number,
    lastUsedAt: values[at.lastUsedAt] as number,
    expiresAt: values[at.expiresAt] as number,
    ip: values[at.ip] as string,
    userAgent: values[at.userAgent] as string,
    scope: values[at.scope] as string,
    clientId: values[at.clientId] as string,
    currentJti: values[at.currentJti] as string,
    currentIssuedAt: values[at.currentIssuedAt] as number,
    currentExpiresAt: values[at.currentExpiresAt] as number,
    previousJti: values[at.previousJti] as string,
    rotatedAt: values[at.rotatedAt] as number,
    revokedAt: values[at.revokedAt] as number,
    revokedReason: values[at.revokedReason] as string,
    purgeAt: values[at.purgeAt] as number,
  }
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
    const form = (head - 1) % STRING_FORMS
    const length = Math.floor((head - 1) / STRING_FORMS)
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
