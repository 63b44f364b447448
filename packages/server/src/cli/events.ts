import { Command, Option } from 'commander'
import { parseDuration } from '../core/config/duration.js'
import type { EventQuery, Page, StoredSecurityEvent } from '../core/ports.js'
import { maxPageSize } from '../core/users/admin-service.js'
import { eventJson } from '../server/admin-views.js'
import { limitOf, storeOptions, when, withEngine, type EngineOptions } from './engine-command.js'
import {
  CommandError,
  outputClosed,
  print,
  printJson,
  printTable,
  shortUserAgent,
} from './output.js'

interface EventsOptions extends EngineOptions {
  user?: string
  type?: string
  since?: string
  limit?: string
  cursor?: string
  follow?: boolean
}

/** `baton events`: the audit log, newest first, or followed as it grows. */
export function eventsCommand(): Command {
  const command = new Command('events')
    .description(
      'Read the audit log: sign-ups, sign-ins and failures, sign-outs, revocations, reuse detected, role and account changes.',
    )
    .option('--user <user>', 'only events of this user (id or email)')
    .option('--type <type>', 'only events of this type (login_failed, refresh_token_reused, …)')
    .option('--since <when>', 'only events since: a duration ago (15m, 12h, 7d) or an ISO time')
    .option('--limit <n>', 'how many (1-200)', '50')
    .addOption(
      new Option(
        '--cursor <cursor>',
        'the page of older events after this cursor (printed under the previous page)',
      ).conflicts('follow'),
    )
    .addOption(
      new Option('--follow', 'keep printing new events as they are recorded (Ctrl-C stops)'),
    )
  for (const option of storeOptions()) command.addOption(option)
  command.action((options: EventsOptions) =>
    withEngine(options, async (baton) => {
      const query: EventQuery = { limit: limitOf(options.limit, 50, 200) }
      if (options.type !== undefined) query.type = options.type
      if (options.since !== undefined) query.since = sinceOf(options.since)
      if (options.cursor !== undefined) query.cursor = options.cursor
      if (options.user !== undefined) {
        // An id is taken as it is: the events of a deleted user stay readable.
        query.userId = options.user.includes('@')
          ? (await baton.admin.getUser(options.user)).id
          : options.user
      }
      const page = await baton.admin.events(query)
      if (options.follow !== true) {
        if (options.json === true) {
          printJson({ events: page.items.map(eventJson), next: page.next })
        } else {
          printTable(header, page.items.map(rowOf))
          if (page.next !== null) print(`more: --cursor ${page.next}`)
        }
        return
      }
      const shown = [...page.items].reverse()
      const printNew = (events: StoredSecurityEvent[]) =>
        printFollowed(events, options.json === true)
      printNew(shown)
      const follower = new EventFollower({
        read: (afterId) => baton.admin.events({ ...query, limit: maxPageSize, afterId }),
        print: printNew,
        shown,
        // With nothing matching yet, start after every event there is (or from the first).
        after: shown.length > 0 ? undefined : ((await latestId(baton, { limit: 1 })) ?? '0'),
      })
      // Until the reader goes away (`| head`), which is no failure.
      while (!outputClosed()) {
        await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS))
        if (outputClosed()) break
        await follower.poll()
      }
    }),
  )
  return command
}

const POLL_INTERVAL_MS = 1000
// How late an event may become visible after one recorded later was read, and still be printed.
// The PostgreSQL store gives up on a write after 1.7 s, so an insert still uncommitted after that
// is already a fault; 5 s leaves it room. Each poll reads every matching event of the window again.
const LATE_COMMIT_WINDOW_MS = 5000
// Only events of the window are remembered; this caps them when events come in thousands a second.
const MAX_REMEMBERED = 100_000

export interface EventFollowerOptions {
  /** One page of the followed events, oldest first, strictly after the event id `afterId`. */
  read: (afterId: string) => Promise<Page<StoredSecurityEvent>>
  /** Events not printed before, in the order read. */
  print: (events: StoredSecurityEvent[]) => void
  /** The events already printed, when following starts. */
  shown: readonly StoredSecurityEvent[]
  /** Where to start when `shown` is empty: the newest event id there is. */
  after?: string
  now?: () => number
}

/**
 * `baton events --follow`: prints each event recorded from now on, once. Polling for the events
 * after the highest id read would lose some on PostgreSQL: ids are handed out as events are
 * inserted, but an event becomes visible when its transaction commits, so one can appear after
 * another with a higher id was already read. Each poll therefore reads again from the highest id
 * read `LATE_COMMIT_WINDOW_MS` ago and prints only the events it has not printed. Where ids
 * become visible in order (SQLite, memory) the second read finds nothing new; harmless.
 */
export class EventFollower {
  readonly #options: EventFollowerOptions
  readonly #now: () => number
  /** Ids printed above the floor; below it nothing is read again. */
  readonly #printed = new Set<number>()
  /** The poll reads events after this id. */
  #floor: number
  #highest: number
  /** The highest id read by each poll of the window, oldest first. */
  #marks: { at: number; highest: number }[] = []

  constructor(options: EventFollowerOptions) {
    this.#options = options
    this.#now = options.now ?? Date.now
    const ids = options.shown.map((event) => Number(event.id))
    // From the oldest event shown: one of its successors not yet committed is still printed.
    this.#floor = ids.length > 0 ? Math.min(...ids) : Number(options.after ?? '0')
    this.#highest = Math.max(this.#floor, ...ids)
    for (const id of ids) this.#printed.add(id)
  }

  /** How many printed ids are remembered. */
  get remembered(): number {
    return this.#printed.size
  }

  async poll(): Promise<void> {
    let afterId = String(this.#floor)
    for (;;) {
      const page = await this.#options.read(afterId)
      const fresh = page.items.filter((event) => !this.#printed.has(Number(event.id)))
      for (const event of fresh) {
        const id = Number(event.id)
        this.#printed.add(id)
        this.#highest = Math.max(this.#highest, id)
      }
      if (fresh.length > 0) this.#options.print(fresh)
      if (page.next === null || page.items.length === 0) break
      afterId = page.next
    }
    this.#advance()
  }

  #advance(): void {
    const now = this.#now()
    this.#marks.push({ at: now, highest: this.#highest })
    while (this.#marks.length > 0 && this.#marks[0]!.at <= now - LATE_COMMIT_WINDOW_MS) {
      this.#floor = Math.max(this.#floor, this.#marks.shift()!.highest)
    }
    if (this.#printed.size > MAX_REMEMBERED) {
      const ids = [...this.#printed].sort((a, b) => a - b)
      this.#floor = Math.max(this.#floor, ids[ids.length - MAX_REMEMBERED - 1]!)
    }
    for (const id of this.#printed) if (id <= this.#floor) this.#printed.delete(id)
  }
}

async function latestId(
  baton: Parameters<Parameters<typeof withEngine>[1]>[0],
  query: EventQuery,
): Promise<string | undefined> {
  const newest = await baton.admin.events({ ...query, limit: 1 })
  return newest.items[0]?.id
}

function sinceOf(text: string): number {
  const seconds = parseDuration(text)
  if (seconds !== null) return Date.now() - seconds * 1000
  const at = Date.parse(text)
  if (Number.isNaN(at)) {
    throw new CommandError(`--since takes a duration (15m, 12h, 7d) or an ISO time, not "${text}"`)
  }
  return at
}

const header = ['TIME', 'TYPE', 'USER', 'SESSION', 'IP', 'USER AGENT', 'ACTOR', 'DETAIL']
const rowOf = (event: StoredSecurityEvent): string[] => [
  when(event.at),
  event.type,
  event.userId ?? '-',
  event.sessionId ?? '-',
  event.ip ?? '-',
  shortUserAgent(event.userAgent),
  event.actor ?? '-',
  event.detail ?? '',
]

/** Followed events come one line each, oldest first; JSON as one object a line. */
function printFollowed(events: StoredSecurityEvent[], json: boolean): void {
  for (const event of events) {
    print(json ? JSON.stringify(eventJson(event)) : rowOf(event).join('  '))
  }
}
