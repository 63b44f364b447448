import { BatonError } from '../core/errors.js'
import type { EventQuery } from '../core/ports.js'

/**
 * The page cursors every store hands out, so that each backend pages alike (keyset pagination:
 * a cursor names the last row a page returned, and the next page starts strictly after it, with
 * no OFFSET to count through):
 *
 * - users, oldest first: `u.<createdAt>.<id>`, the last user's sort key;
 * - events, newest first: `e.<at>.<id>`, the last event's sort key (`at`, then the store's id).
 *
 * The text is then base64url-encoded: opaque to callers, who must only pass it back. A cursor
 * that does not decode is the caller's mistake, `invalid_request`, never a store outage.
 */

/** The sort key of the last user of a page. */
export interface UserCursor {
  createdAt: number
  id: string
}

/** The sort key of the last event of a page; `id` is the store's ever-increasing event id. */
export interface EventCursor {
  at: number
  id: number
}

export function encodeUserCursor(user: UserCursor): string {
  return Buffer.from(`u.${user.createdAt}.${user.id}`, 'utf8').toString('base64url')
}

export function decodeUserCursor(cursor: string): UserCursor {
  const match = /^u\.(-?\d{1,16})\.(.+)$/s.exec(decoded(cursor))
  const createdAt = Number(match?.[1])
  if (match === null || !Number.isSafeInteger(createdAt)) throw invalidCursor()
  return { createdAt, id: match[2] ?? '' }
}

export function encodeEventCursor(event: EventCursor): string {
  return Buffer.from(`e.${event.at}.${event.id}`, 'utf8').toString('base64url')
}

export function decodeEventCursor(cursor: string): EventCursor {
  const match = /^e\.(-?\d{1,16})\.(\d{1,16})$/.exec(decoded(cursor))
  const at = Number(match?.[1])
  const id = Number(match?.[2])
  if (match === null || !Number.isSafeInteger(at) || !Number.isSafeInteger(id)) {
    throw invalidCursor()
  }
  return { at, id }
}

/** An `afterId`: the decimal id of a recorded event (`0` for before the first). */
export function parseEventId(afterId: string): number {
  const id = /^\d{1,16}$/.test(afterId) ? Number(afterId) : Number.NaN
  if (!Number.isSafeInteger(id)) {
    throw new BatonError('invalid_request', 'The event id is not one this server issued.', {
      detail: `afterId ${JSON.stringify(afterId.slice(0, 40))}`,
    })
  }
  return id
}

/** A page size as the stores apply it: a whole number, at least 0. */
export function pageLimit(limit: number): number {
  return Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) : 0
}

/** The filters of an event query that narrow which events match, apart from paging. */
export type EventFilters = Pick<EventQuery, 'userId' | 'type' | 'since'>

/**
 * A page from rows fetched with one more than `limit`: the extra row, when there is one, only
 * says that another page follows, whose cursor `cursorOf` makes from the page's last item.
 */
export function pageOf<T>(
  rows: T[],
  limit: number,
  cursorOf: (last: T) => string,
): { items: T[]; next: string | null } {
  if (rows.length <= limit) return { items: rows, next: null }
  const items = rows.slice(0, limit)
  const last = items.at(-1)
  return { items, next: last === undefined ? null : cursorOf(last) }
}

function decoded(cursor: string): string {
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(cursor)) throw invalidCursor()
  return Buffer.from(cursor, 'base64url').toString('utf8')
}

function invalidCursor(): BatonError {
  return new BatonError('invalid_request', 'The page cursor is not one this server issued.')
}
