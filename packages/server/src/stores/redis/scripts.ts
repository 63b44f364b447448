/**
 * The Lua scripts behind the Redis session store: each primitive that reads before it writes is
 * one script, so Redis runs it atomically.
 *
 * Keys (the prefix defaults to `baton:`; `{<userId>}` is a hash tag, so all of a user's keys live
 * in one Redis Cluster slot and one script may touch them all):
 *
 *   <prefix>{<userId>}:session:<sessionId>  string: the record (record-codec.ts), until purgeAt
 *   <prefix>{<userId>}:sessions             sorted set: session ids scored by purgeAt, until
 *                                           at least its longest-lived member's purgeAt
 *   <prefix>{<userId>}:denied:<sessionId>   string: denyUntil, until then
 *   <prefix>{<userId>}:onetime:<kind>       string: the user's one live one-time token of that
 *                                           kind (JSON: tokenHash, email, createdAt,
 *                                           expiresAt), until expiresAt
 *   <prefix>counter:<key>                   hash r = resetAt, c = count, until resetAt
 *   <prefix>owner:<sessionId>               string: the session's user id, until the
 *                                           session's absolute expiresAt (no script reads it)
 *
 * Every time is the caller's clock (`now` in ARGV, epoch ms), never Redis's: the core may run on
 * a clock of its own. Each TTL is therefore relative, "until - now", never an absolute PEXPIREAT.
 * Numbers come in ARGV as decimal strings (a rotation's as doubles in its one packed argument)
 * and record fields already encoded by record-codec.ts: a script only compares a few integers and
 * splices fields, and never encodes one itself.
 */
import { createHash } from 'node:crypto'
import { luaLayout } from './record-layout.js'

export interface LuaScript {
  name: string
  lua: string
  sha1: string
}

// Fields of a record, and how a script reads and writes them. The field positions come from
// record-layout.ts, the one definition the codec (record-codec.ts) uses too.
const prelude = `
${luaLayout()}

-- The varint at pos: its value and the position after it.
local function varint(bytes, pos)
  local value, scale = 0, 1
  while true do
    local byte = string.byte(bytes, pos)
    if byte == nil then error('baton: truncated session record') end
    value = value + (byte % 128) * scale
    pos = pos + 1
    if byte < 128 then return value, pos end
    scale = scale * 128
  end
end

-- The field at pos (an integer when integer is true): its raw bytes, its value if it is a
-- non-null integer (as stored: relative ones still relative), and the position after it.
local function field_at(bytes, pos, integer)
  local head, after = varint(bytes, pos)
  local value
  if integer then
    if head > 0 then
      -- zigzag + 1: 1, 2, 3, 4, … stand for 0, -1, 1, -2, …
      local zigzag = head - 1
      if zigzag % 2 == 0 then
        value = zigzag / 2
      else
        value = -(zigzag + 1) / 2
      end
    end
  elseif head > 0 then
    after = after + math.floor((head - 1) / STRING_FORMS)
  end
  if after - 1 > #bytes then error('baton: truncated session record') end
  return string.sub(bytes, pos, after - 1), value, after
end

-- The raw bytes of each field, and the value of each non-null integer field (relative ones made
-- absolute again): enough to test a record and splice new fields into it without
-- decoding its strings.
local function split(record)
  if string.sub(record, 1, 1) ~= FORMAT then error('baton: unknown session record format') end
  local fields, integers, pos = {}, {}, 2
  for index = 1, FIELDS do
    fields[index], integers[index], pos = field_at(record, pos, index <= INTEGER_FIELDS)
  end
  absolute(integers)
  return fields, integers
end

local function join(fields)
  return FORMAT .. table.concat(fields)
end

-- Puts ARGV[first], ARGV[first + 1], … (fields encoded by record-codec.ts) in place of the
-- fields listed in names (ROTATION_FIELDS, REVOCATION_FIELDS).
local function set_fields(fields, names, first)
  for offset, name in ipairs(names) do fields[name] = ARGV[first + offset - 1] end
end

-- Purged by now: gone for every primitive, whether or not Redis has expired the key yet.
local function live(integers, now)
  return integers[PURGE_AT] > now
end

-- Puts (or moves) a session in its user's index, forgets members purged by now, and keeps the
-- index exactly as long as its longest-lived member.
local function index_session(index, session_id, purge_at, now)
  redis.call('ZADD', index, purge_at, session_id)
  redis.call('ZREMRANGEBYSCORE', index, '-inf', now)
  local latest = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')[2]
  if latest then redis.call('PEXPIRE', index, math.max(1, tonumber(latest) - now)) end
end

-- Moves a session the index already holds to a new purge time, and lengthens the index to it
-- where it would end sooner: the cheap half of index_session, for the hot path (a rotation).
-- Members purged meanwhile stay until the next index_session or each_session drops them.
local function extend_index(index, session_id, purge_at, now)
  redis.call('ZADD', index, purge_at, session_id)
  if redis.call('PTTL', index) < purge_at - now then
    redis.call('PEXPIRE', index, math.max(1, purge_at - now))
  end
end

-- Deny-lists a session until deny_until, or longer if it already is.
local function deny(key, deny_until, now)
  local current = tonumber(redis.call('GET', key) or '')
  local until_ms = tonumber(deny_until)
  if until_ms <= now or (current and current >= until_ms) then return end
  redis.call('SET', key, deny_until, 'PX', until_ms - now)
end

-- Live sessions of a user by their index, dropping members whose record is gone: calls
-- visit(session_id, key, record, fields, integers) for each, in no particular order.
local function each_session(index, user_keys, now, visit)
  redis.call('ZREMRANGEBYSCORE', index, '-inf', now)
  for _, session_id in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    local key = user_keys .. 'session:' .. session_id
    local record = redis.call('GET', key)
    if record then
      local fields, integers = split(record)
      if live(integers, now) then visit(session_id, key, record, fields, integers) end
    else
      redis.call('ZREM', index, session_id)
    end
  end
end
`

/** A script on the shared prelude: the record layout and helpers above are in scope of `body`. */
export function script(name: string, body: string): LuaScript {
  const lua = `${prelude}\n${body.trim()}\n`
  return { name, lua, sha1: createHash('sha1').update(lua).digest('hex') }
}

/**
 * KEYS: session, index. ARGV: record, now (its createdAt), purgeAt, sessionId.
 * Returns 1, or 0 (changing nothing) when the session id exists.
 */
export const createSession = script(
  'create',
  `
local now, purge_at = tonumber(ARGV[2]), tonumber(ARGV[3])
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', math.max(1, purge_at - now)) then
  return 0
end
index_session(KEYS[2], ARGV[4], ARGV[3], now)
return 1
`,
)

/**
 * Rotations, each a compare-and-swap to the next refresh token, run one after the other.
 * KEYS: session and index of each rotation. ARGV: refuseAfter (wall-clock epoch ms), then two for
 * each rotation: its sessionId and its request (`encodeRotationRequest`: now, purgeAt and the new
 * token's expiresAt, the expected jti and the fields of ROTATION_FIELDS). One argument rather
 * than a dozen per rotation halves what the client spends building the command, and Redis reads
 * it with one call into C.
 *
 * Returns one entry per rotation: the new record, or nil (changing nothing) when the session is
 * missing, purged or revoked, its current jti is not the expected one, or the new token or purge
 * time would outlive the session's absolute expiry; or an error for that rotation alone (an
 * unreadable record or request), which changes nothing either: a rotation reads and checks all
 * before it writes, and the others of the batch still run. One call carries the rotations that
 * concurrent requests started in one event-loop turn (standalone Redis; a Cluster script may only
 * touch one slot, so there each rotation is a call of its own).
 *
 * refuseAfter: a rotation whose caller has given up (timed out, answered 503) may still reach
 * Redis later, from a frozen connection's buffers or a Cluster node's offline queue. Run much
 * later, it would retire the token the client still holds after the grace window has passed,
 * and the client's retry would then look like reuse and revoke the session. So a late script
 * fails as a whole instead, by Redis's clock: an error, never nil, which the core would read as
 * a lost race.
 */
export const rotateSessions = script(
  'rotate',
  `
local clock = redis.call('TIME')
if tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000) > tonumber(ARGV[1]) then
  return redis.error_reply('baton: rotation arrived after its caller gave up')
end

-- encodeRotationRequest: three doubles, then the expected jti and the ROTATION_FIELDS, each
-- behind its 16-bit length.
local REQUEST = '>ddd' .. string.rep('Hc0', 1 + #ROTATION_FIELDS)
local REQUEST_VALUES = 4 + #ROTATION_FIELDS

local function rotate(session_key, index_key, session_id, request)
  local values = { struct.unpack(REQUEST, request) }
  if values[REQUEST_VALUES + 1] ~= #request + 1 then error('baton: malformed rotation request') end
  local now, purge_at, token_expires_at, expected_jti = values[1], values[2], values[3], values[4]
  local record = redis.call('GET', session_key)
  if not record then return false end
  local fields, integers = split(record)
  if not live(integers, now) or integers[REVOKED_AT] or fields[CURRENT_JTI] ~= expected_jti then
    return false
  end
  if token_expires_at * 1000 > integers[EXPIRES_AT] or purge_at > integers[EXPIRES_AT] then
    return false
  end
  fields[PREVIOUS_JTI] = fields[CURRENT_JTI]
  for offset, name in ipairs(ROTATION_FIELDS) do fields[name] = values[4 + offset] end
  local rotated = join(fields)
  redis.call('SET', session_key, rotated, 'PX', math.max(1, purge_at - now))
  extend_index(index_key, session_id, purge_at, now)
  return rotated
end

local results = {}
for rotation = 1, #KEYS / 2 do
  local ok, result = pcall(rotate, KEYS[2 * rotation - 1], KEYS[2 * rotation],
    ARGV[2 * rotation], ARGV[2 * rotation + 1])
  if ok then
    results[rotation] = result
  else
    results[rotation] = { err = type(result) == 'table' and result.err or tostring(result) }
  end
end
return results
`,
)

/**
 * KEYS: session, denied. ARGV: now (revokedAt), denyUntil, then the fields of `encodeRevocation`
 * (REVOCATION_FIELDS). Returns 1 when it revoked the session, 0 when the session was missing,
 * purged or already revoked. Deny-lists every session it finds, the already revoked too: a later
 * revocation may need a later denyUntil, and the later one is kept.
 */
export const revokeSession = script(
  'revoke',
  `
local now = tonumber(ARGV[1])
local record = redis.call('GET', KEYS[1])
if not record then return 0 end
local fields, integers = split(record)
if not live(integers, now) then return 0 end
deny(KEYS[2], ARGV[2], now)
if integers[REVOKED_AT] then return 0 end
set_fields(fields, REVOCATION_FIELDS, 3)
redis.call('SET', KEYS[1], join(fields), 'KEEPTTL')
return 1
`,
)

/**
 * KEYS: index. ARGV: the user's key stem (<prefix>{<userId>}:), now (revokedAt), denyUntil, then
 * the fields of `encodeRevocation` (REVOCATION_FIELDS). Revokes and deny-lists every live
 * session not yet revoked nor past its expiresAt; returns their ids.
 */
export const revokeUserSessions = script(
  'revokeAllForUser',
  `
local user_keys, now = ARGV[1], tonumber(ARGV[2])
local revoked = {}
each_session(KEYS[1], user_keys, now, function(session_id, key, _, fields, integers)
  if integers[REVOKED_AT] or integers[EXPIRES_AT] <= now then return end
  set_fields(fields, REVOCATION_FIELDS, 4)
  redis.call('SET', key, join(fields), 'KEEPTTL')
  deny(user_keys .. 'denied:' .. session_id, ARGV[3], now)
  revoked[#revoked + 1] = session_id
end)
return revoked
`,
)

/**
 * KEYS: index. ARGV: the user's key stem, now. Returns session id, record, session id, record, …
 * of the sessions neither revoked nor past expiresAt, unordered.
 */
export const listUserSessions = script(
  'listForUser',
  `
local now = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local listed = {}
-- Records fetched by MGET in batches and returned as they are: the caller decodes them anyway,
-- so judging each here (revoked, expired) would parse every record twice.
for first = 1, #ids, 500 do
  local keys = {}
  for index = first, math.min(first + 499, #ids) do
    keys[#keys + 1] = ARGV[1] .. 'session:' .. ids[index]
  end
  local records = redis.call('MGET', unpack(keys))
  for offset = 1, #keys do
    local session_id, record = ids[first + offset - 1], records[offset]
    if record then
      listed[#listed + 1] = session_id
      listed[#listed + 1] = record
    else
      redis.call('ZREM', KEYS[1], session_id)
    end
  end
end
return listed
`,
)

/**
 * KEYS: counter. ARGV: now, resetAt for a new window (now + windowMs), windowMs.
 * Returns { count, resetAt }.
 */
export const hitCounter = script(
  'hit',
  `
local now = tonumber(ARGV[1])
local reset_at = redis.call('HGET', KEYS[1], 'r')
if reset_at and tonumber(reset_at) > now then
  return { redis.call('HINCRBY', KEYS[1], 'c', 1), reset_at }
end
redis.call('HSET', KEYS[1], 'r', ARGV[2], 'c', 1)
redis.call('PEXPIRE', KEYS[1], math.max(1, tonumber(ARGV[3])))
return { 1, ARGV[2] }
`,
)

/**
 * Compare-and-delete of a one-time token. KEYS: the token. ARGV: tokenHash, now.
 * Returns the stored token (its JSON) and deletes it when its hash is tokenHash and it has not
 * expired by now; otherwise nil, changing nothing. Redis runs one script at a time, so of
 * concurrent takes exactly one finds the token.
 */
export const takeOneTimeToken = script(
  'takeOneTimeToken',
  `
local stored = redis.call('GET', KEYS[1])
if not stored then return false end
local token = cjson.decode(stored)
if token.tokenHash ~= ARGV[1] or tonumber(token.expiresAt) <= tonumber(ARGV[2]) then
  return false
end
redis.call('DEL', KEYS[1])
return stored
`,
)
