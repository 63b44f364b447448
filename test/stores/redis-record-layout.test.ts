import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomId } from '../../packages/server/src/core/ids.js'
import type { SessionRecord, SessionRef } from '../../packages/server/src/core/ports.js'
import { openRedisSessionStore } from '../../packages/server/src/stores/redis/index.js'
import type { RedisSessionStore } from '../../packages/server/src/stores/redis/index.js'
import {
  decodeSessionRecord,
  encodeField,
  encodeRotationRequest,
  encodeSessionRecord,
} from '../../packages/server/src/stores/redis/record-codec.js'
import { luaLayout, recordFields } from '../../packages/server/src/stores/redis/record-layout.js'
import { rotateSessions, script } from '../../packages/server/src/stores/redis/scripts.js'
import { DAY, HOUR, MINUTE, SECOND, refOf, session } from '../helpers/session-fixtures.js'
import { deleteRedisPrefix } from '../helpers/storage.js'
import { describeWith, redisUrl } from '../helpers/services.js'

// The record layout is defined once (record-layout.ts) for the TypeScript codec and the Lua
// scripts. These tests hold the two sides to it: records the codec writes are read field by field
// by the scripts' own reader, and records the scripts write are read back by the codec.

const CHROME =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'

/** Records that exercise every field form: nulls, each string form, negative differences. */
function shapes(now: number): SessionRecord[] {
  return [
    session(now),
    session(now, { userAgent: CHROME, ip: '2001:db8::1', scope: '', clientId: null }),
    session(now, {
      ip: null,
      userAgent: null,
      clientId: null,
      scope: 'écriture lecture ✓',
      previousJti: randomId(),
      rotatedAt: now - MINUTE,
      lastUsedAt: now - MINUTE,
      purgeAt: now + DAY,
    }),
    session(now, {
      userAgent: 'x'.repeat(700),
      ip: '010.0.0.1',
      revokedAt: now - SECOND,
      revokedReason: 'admin',
      currentJti: 'not-an-id',
      // Issued before it was created: a negative difference must survive too.
      currentIssuedAt: Math.floor(now / SECOND) + 10,
      currentExpiresAt: Math.floor(now / SECOND) - 5,
    }),
  ]
}

describe('the session record layout', () => {
  it('gives the Lua scripts one constant per field, at its position in the table', () => {
    const lua = luaLayout()
    recordFields.forEach((field, index) => {
      expect(lua).toContain(`local ${field.lua} = ${index + 1}\n`)
    })
  })

  it('is what the codec writes: each field encoded alone, in table order', () => {
    for (const record of shapes(Date.now())) {
      const fields = recordFields.map((field) => encodeField(field, record))
      expect(encodeSessionRecord(record)).toEqual(Buffer.concat([Buffer.of(1), ...fields]))
      expect(decodeSessionRecord(refOf(record), encodeSessionRecord(record))).toEqual(record)
    }
  })
})

await describeWith(['redis'], 'the session record layout in Redis', () => {
  const prefix = `baton-layout-${randomId()}:`
  let raw: Redis
  let store: RedisSessionStore

  beforeAll(async () => {
    raw = new Redis(redisUrl, { lazyConnect: true })
    await raw.connect()
    store = await openRedisSessionStore({ url: redisUrl, keyPrefix: prefix })
  })

  afterAll(async () => {
    await store.close()
    raw.disconnect()
    await deleteRedisPrefix(prefix)
  })

  const sessionKey = (ref: SessionRef): string =>
    `${prefix}{${ref.userId}}:session:${ref.sessionId}`

  /** Writes a record as the codec encodes it, bypassing every script. */
  async function writeWithCodec(record: SessionRecord): Promise<void> {
    await raw.set(sessionKey(refOf(record)), encodeSessionRecord(record), 'PX', DAY)
    await raw.zadd(`${prefix}{${record.userId}}:sessions`, record.purgeAt, record.id)
  }

  /** Reads a record as the codec decodes it, bypassing every script. */
  async function readWithCodec(ref: SessionRef): Promise<SessionRecord | null> {
    const bytes = await raw.getBuffer(sessionKey(ref))
    return bytes === null ? null : decodeSessionRecord(ref, bytes)
  }

  it('splits a codec-written record into the fields and integers the table names', async () => {
    // The scripts' own reader (split) over the record, asked for each field by its Lua name.
    const names = recordFields.map((field) => field.lua).join(', ')
    const probe = script(
      'probe',
      `
local fields, integers = split(ARGV[1])
local out = {}
for _, name in ipairs({ ${names} }) do
  out[#out + 1] = fields[name]
  out[#out + 1] = integers[name] and string.format('%.0f', integers[name]) or ''
end
return out
`,
    )
    for (const record of shapes(Date.now())) {
      const reply = (await raw.callBuffer('eval', [
        probe.lua,
        0,
        encodeSessionRecord(record),
      ])) as Buffer[]
      recordFields.forEach((field, index) => {
        const bytes = reply[2 * index]
        const integer = reply[2 * index + 1]?.toString('latin1')
        expect(bytes, field.lua).toEqual(encodeField(field, record))
        if (field.kind === 'integer') {
          // Relative fields come out absolute, as the scripts compare them.
          const value = record[field.property]
          expect(integer, field.lua).toBe(value === null ? '' : String(value))
        }
      })
    }
  })

  it('lists codec-written records, and the codec reads what rotate and revoke write', async () => {
    const now = Date.now()
    for (const record of shapes(now).filter((shape) => shape.revokedAt === null)) {
      await writeWithCodec(record)
      const ref = refOf(record)
      expect(await store.listForUser(record.userId, now)).toEqual([record])

      const next = {
        jti: randomId(),
        issuedAt: Math.floor(now / SECOND) + 1,
        expiresAt: Math.floor(now / SECOND) + 1 + 14 * 86_400,
        rotatedAt: now + SECOND,
        ip: '198.51.100.23',
        userAgent: CHROME,
        purgeAt: now + 14 * DAY + 2 * HOUR,
      }
      const rotated: SessionRecord = {
        ...record,
        lastUsedAt: next.rotatedAt,
        ip: next.ip,
        userAgent: next.userAgent,
        currentJti: next.jti,
        currentIssuedAt: next.issuedAt,
        currentExpiresAt: next.expiresAt,
        previousJti: record.currentJti,
        rotatedAt: next.rotatedAt,
        purgeAt: next.purgeAt,
      }
      expect(await store.rotate(ref, record.currentJti, next)).toEqual(rotated)
      expect(await readWithCodec(ref)).toEqual(rotated)

      const revokedAt = now + 2 * SECOND
      const revocation = { reason: 'logout', revokedAt, denyUntil: revokedAt + 15 * MINUTE }
      expect(await store.revoke(ref, revocation)).toBe(true)
      expect(await readWithCodec(ref)).toEqual({
        ...rotated,
        revokedAt,
        revokedReason: 'logout',
      })
    }
  })

  it('revokes codec-written records of a user, and the codec reads the result', async () => {
    const now = Date.now()
    const userId = randomId()
    const records = shapes(now)
      .filter((shape) => shape.revokedAt === null)
      .map((shape) => ({ ...shape, userId }))
    for (const record of records) await writeWithCodec(record)
    const revocation = { reason: 'password-change', revokedAt: now, denyUntil: now + MINUTE }
    const revoked = await store.revokeAllForUser(userId, revocation)
    expect(revoked.sort()).toEqual(records.map((record) => record.id).sort())
    for (const record of records) {
      expect(await readWithCodec(refOf(record))).toEqual({
        ...record,
        revokedAt: now,
        revokedReason: 'password-change',
      })
    }
  })

  it('rotates on a request encodeRotationRequest packs; a malformed one fails alone', async () => {
    const now = Date.now()
    const [first, second] = [session(now), session(now)]
    for (const record of [first, second]) await writeWithCodec(record)
    const next = {
      jti: randomId(),
      issuedAt: Math.floor(now / SECOND),
      expiresAt: Math.floor(now / SECOND) + 3600,
      rotatedAt: now,
      ip: '198.51.100.23',
      userAgent: CHROME,
      purgeAt: now + 2 * HOUR,
    }
    const request = encodeRotationRequest(first.currentJti, next)
    const keys = [first, second, second].flatMap((record) => [
      sessionKey(refOf(record)),
      `${prefix}{${record.userId}}:sessions`,
    ])
    const reply = (await raw.callBuffer('eval', [
      rotateSessions.lua,
      keys.length,
      ...keys,
      String(now + MINUTE),
      first.id,
      request,
      second.id,
      // One byte short: the last field's length promises more than is there.
      encodeRotationRequest(second.currentJti, next).subarray(0, -1),
      second.id,
      // One byte too many: every field reads, and the request is still refused.
      Buffer.concat([encodeRotationRequest(second.currentJti, next), Buffer.of(0)]),
    ])) as [Buffer, Error, Error]
    expect(decodeSessionRecord(refOf(first), reply[0])).toMatchObject({
      currentJti: next.jti,
      previousJti: first.currentJti,
      userAgent: CHROME,
      purgeAt: next.purgeAt,
    })
    expect(reply[1]).toBeInstanceOf(Error)
    expect(reply[2]).toBeInstanceOf(Error)
    expect(reply[2].message).toMatch(/malformed rotation request/)
    expect(await readWithCodec(refOf(second))).toEqual(second)
  })

  it('creates with the codec bytes as they are', async () => {
    for (const record of shapes(Date.now())) {
      await store.create(record)
      expect(await raw.getBuffer(sessionKey(refOf(record)))).toEqual(encodeSessionRecord(record))
    }
  })
})
