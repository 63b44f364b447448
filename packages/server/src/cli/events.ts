import { Command, Option } from 'commander'
import { parseDuration } from '../core/config/duration.js'
import type { EventQuery, StoredSecurityEvent } from '../core/ports.js'
import { CommandError, print, printTable } from './database-command.js'
import { limitOf, storeOptions, when, withEngine, type EngineOptions } from './engine-command.js'

interface EventsOptions extends EngineOptions {
  user?: string
  type?: string
  since?: string
  limit?: string
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
      new Option('--follow', 'keep printing new events as they are recorded (Ctrl-C stops)'),
    )
  for (const option of storeOptions()) command.addOption(option)
  command.action((options: EventsOptions) =>
    withEngine(options, async (baton) => {
      const query: EventQuery = { limit: limitOf(options.limit, 50, 200) }
      if (options.type !== undefined) query.type = options.type
      if (options.since !== undefined) query.since = sinceOf(options.since)
      if (options.user !== undefined) {
        // An id is taken as it is: the events of a deleted user stay readable.
        query.userId = options.user.includes('@')
          ? (await baton.admin.getUser(options.user)).id
          : options.user
      }
      const page = await baton.admin.events(query)
      if (options.follow !== true) {
        if (options.json === true) print(JSON.stringify(page, null, 2))
        else printEvents(page.items)
        return
      }
      const shown = [...page.items].reverse()
      printFollowed(shown, options.json === true)
      // With nothing matching yet, start after every event there is (or from the first).
      let last = shown.at(-1)?.id ?? (await latestId(baton, { limit: 1 })) ?? '0'
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, 1000))
        const next = await baton.admin.events({ ...query, afterId: last })
        printFollowed(next.items, options.json === true)
        last = next.items.at(-1)?.id ?? last
      }
    }),
  )
  return command
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

const header = ['TIME', 'TYPE', 'USER', 'SESSION', 'IP', 'ACTOR', 'DETAIL']
const rowOf = (event: StoredSecurityEvent): string[] => [
  when(event.at),
  event.type,
  event.userId ?? '-',
  event.sessionId ?? '-',
  event.ip ?? '-',
  event.actor ?? '-',
  event.detail ?? '',
]

function printEvents(events: StoredSecurityEvent[]): void {
  printTable(header, events.map(rowOf))
}

/** Followed events come one line each, oldest first; JSON as one object a line. */
function printFollowed(events: StoredSecurityEvent[], json: boolean): void {
  for (const event of events) print(json ? JSON.stringify(event) : rowOf(event).join('  '))
}
