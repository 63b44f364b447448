import type { SessionRecord } from '../../core/ports.js'

/**
 * The layout of a session record in Redis, written down once: record-codec.ts encodes and decodes
 * by this table, and scripts.ts builds its Lua field positions from it (`luaLayout`), so the two
 * cannot drift apart. record-codec.ts describes the byte format.
 *
 * Order is the format: never reorder, insert or drop a field without a new format byte, since
 * records already in Redis keep the old order. Integer fields come first (the Lua reader tells
 * integers from strings by position).
 */
export const RECORD_FORMAT = 1
/** How many string forms a string field's head counts in (record-codec.ts lists them). */
export const STRING_FORMS = 4

/** What the record holds: the ids are in the key. */
export type RecordProperty = Exclude<keyof SessionRecord, 'id' | 'userId'>
export type RecordValues = Pick<SessionRecord, RecordProperty>

type PropertyOfType<T> = {
  [K in RecordProperty]: SessionRecord[K] extends T ? K : never
}[RecordProperty]
export type IntegerProperty = PropertyOfType<number | null>
export type StringProperty = PropertyOfType<string | null>

interface FieldBase {
  /** The field's name in the Lua scripts. */
  lua: string
  /** May be null (an absent optional value); a required field that is null is a corrupt record. */
  nullable?: true
}

export interface IntegerField extends FieldBase {
  kind: 'integer'
  property: IntegerProperty
  /** Stored as the difference from this field, which every write that sets one sets both. */
  relativeTo?: IntegerProperty
}

export interface StringField extends FieldBase {
  kind: 'string'
  property: StringProperty
  /** Deflated against the user-agent dictionary when that is shorter. */
  userAgent?: true
}

export type RecordField = IntegerField | StringField

export const recordFields: readonly RecordField[] = [
  { property: 'createdAt', lua: 'CREATED_AT', kind: 'integer' },
  { property: 'lastUsedAt', lua: 'LAST_USED_AT', kind: 'integer' },
  { property: 'expiresAt', lua: 'EXPIRES_AT', kind: 'integer', relativeTo: 'createdAt' },
  { property: 'purgeAt', lua: 'PURGE_AT', kind: 'integer', relativeTo: 'lastUsedAt' },
  { property: 'currentIssuedAt', lua: 'ISSUED_AT', kind: 'integer' },
  {
    property: 'currentExpiresAt',
    lua: 'TOKEN_EXPIRES_AT',
    kind: 'integer',
    relativeTo: 'currentIssuedAt',
  },
  {
    property: 'rotatedAt',
    lua: 'ROTATED_AT',
    kind: 'integer',
    relativeTo: 'lastUsedAt',
    nullable: true,
  },
  { property: 'revokedAt', lua: 'REVOKED_AT', kind: 'integer', nullable: true },
  { property: 'currentJti', lua: 'CURRENT_JTI', kind: 'string' },
  { property: 'previousJti', lua: 'PREVIOUS_JTI', kind: 'string', nullable: true },
  { property: 'ip', lua: 'IP', kind: 'string', nullable: true },
  { property: 'userAgent', lua: 'USER_AGENT', kind: 'string', nullable: true, userAgent: true },
  { property: 'scope', lua: 'SCOPE', kind: 'string' },
  { property: 'clientId', lua: 'CLIENT_ID', kind: 'string', nullable: true },
  { property: 'revokedReason', lua: 'REVOKED_REASON', kind: 'string', nullable: true },
]

/** The fields a rotation replaces, in the order the rotate script takes them in ARGV. */
export const rotationProperties: readonly RecordProperty[] = [
  'lastUsedAt',
  'purgeAt',
  'currentIssuedAt',
  'currentExpiresAt',
  'rotatedAt',
  'currentJti',
  'ip',
  'userAgent',
]

/** The fields a revocation sets, in the order the revoke scripts take them in ARGV. */
export const revocationProperties: readonly RecordProperty[] = ['revokedAt', 'revokedReason']

/** The integer fields stored as a difference, each with the base it is relative to. */
export const relativeFields = recordFields.flatMap((field) =>
  field.kind === 'integer' && field.relativeTo !== undefined
    ? [{ ...field, relativeTo: field.relativeTo }]
    : [],
)

const byProperty = new Map(recordFields.map((field) => [field.property, field]))

export function fieldOf(property: RecordProperty): RecordField {
  const field = byProperty.get(property)
  if (field === undefined) throw new Error(`session record has no field ${property}`)
  return field
}

/** 1-based, as Lua counts. */
function positionOf(property: RecordProperty): number {
  return recordFields.indexOf(fieldOf(property)) + 1
}

checkLayout()

/** The invariants the codec and the scripts rely on; a broken table fails at module load. */
function checkLayout(): void {
  const firstString = recordFields.findIndex((field) => field.kind === 'string')
  if (recordFields.slice(firstString).some((field) => field.kind === 'integer')) {
    throw new Error('session record layout: integer fields must come first')
  }
  for (const field of recordFields) {
    if (field.kind !== 'integer' || field.relativeTo === undefined) continue
    const base = fieldOf(field.relativeTo)
    if (base.kind !== 'integer' || base.nullable === true || base.relativeTo !== undefined) {
      throw new Error(`session record layout: ${field.property} needs a plain required base`)
    }
  }
  // A script splices the encoded fields it is given and never re-encodes another: a relative field
  // it writes must come with its base, and a base it writes with every field relative to it.
  for (const written of [rotationProperties, revocationProperties]) {
    for (const field of relativeFields) {
      const base = field.relativeTo
      if (written.includes(field.property) !== written.includes(base)) {
        throw new Error(`session record layout: ${field.property} is written without ${base}`)
      }
    }
  }
}

const luaList = (properties: readonly RecordProperty[]): string =>
  `{ ${properties.map((property) => fieldOf(property).lua).join(', ')} }`

/**
 * The Lua definitions of the layout, for the scripts' prelude: the format byte, one constant per
 * field position, the field counts, the rotation and revocation field lists, and `absolute`,
 * which turns the relative integer fields of a split record back into absolute values.
 */
export function luaLayout(): string {
  const integerFields = recordFields.filter((field) => field.kind === 'integer')
  const absolute = relativeFields.map((field) => {
    const base = fieldOf(field.relativeTo).lua
    const sum = `integers[${field.lua}] = integers[${base}] + integers[${field.lua}]`
    return field.nullable === true ? `  if integers[${field.lua}] then ${sum} end` : `  ${sum}`
  })
  return [
    `local FORMAT = '\\${RECORD_FORMAT}'`,
    ...recordFields.map((field) => `local ${field.lua} = ${positionOf(field.property)}`),
    `local FIELDS, INTEGER_FIELDS = ${recordFields.length}, ${integerFields.length}`,
    `local STRING_FORMS = ${STRING_FORMS}`,
    `local ROTATION_FIELDS = ${luaList(rotationProperties)}`,
    `local REVOCATION_FIELDS = ${luaList(revocationProperties)}`,
    '',
    '-- Relative integer fields (record-layout.ts) made absolute again.',
    'local function absolute(integers)',
    ...absolute,
    'end',
  ].join('\n')
}
