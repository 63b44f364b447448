// `baton events --follow` prints every event once, including one that becomes visible after an
// event with a higher id was already read: on PostgreSQL an id is handed out at insert and the
// row appears at commit, so two transactions can commit in the other order.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { EventFollower } from '../../packages/server/src/cli/events.js'
import type { Page, StoredSecurityEvent } from '../../packages/server/src/core/ports.js'
import { openPostgresStore } from '../../packages/server/src/stores/postgres/index.js'
import { describeWith, postgresUrl } from '../helpers/services.js'
import { dropPostgresSchema, postgresUrlWithSchema } from '../helpers/storage.js'

const cli = join(import.meta.dirname, '../../packages/server/dist/cli/main.js')
const cleanups: (() => Promise<unknown> | void)[] = []
const schemas: string[] = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

afterAll(async () => {
  for (const schema of schemas) await dropPostgresSchema(schema)
})

function event(id: number, type = 'login_succeeded'): StoredSecurityEvent {
  return {
    id: String(id),
    type,
    at: 1_700_000_000_000 + id,
    userId: null,
    sessionId: null,
    ip: null,
    userAgent: null,
    actor: null,
    detail: null,
  }
}

/** An audit log whose events become visible when `commit` says so, read in pages of `pageSize`. */
function fakeLog(pageSize = 2) {
  const committed = new Map<number, StoredSecurityEvent>()
  const reads: string[] = []
  return {
    reads,
    commit(...ids: number[]) {
      for (const id of ids) committed.set(id, event(id))
    },
    read(afterId: string): Promise<Page<StoredSecurityEvent>> {
      reads.push(afterId)
      const after = [...committed.values()]
        .filter((candidate) => Number(candidate.id) > Number(afterId))
        .sort((a, b) => Number(a.id) - Number(b.id))
      const items = after.slice(0, pageSize)
      const next = after.length > pageSize ? (items.at(-1)?.id ?? null) : null
      return Promise.resolve({ items, next })
    },
  }
}

describe('EventFollower', () => {
  it('prints an event that becomes visible after a higher one, once', async () => {
    const log = fakeLog()
    log.commit(1, 2, 4)
    const printed: string[] = []
    let now = 0
    const follower = new EventFollower({
      read: (afterId) => log.read(afterId),
      print: (events) => printed.push(...events.map((printedEvent) => printedEvent.id)),
      shown: [event(1), event(2)],
      now: () => now,
    })
    await follower.poll()
    expect(printed).toEqual(['4'])
    log.commit(3)
    now += 1000
    await follower.poll()
    now += 1000
    await follower.poll()
    expect(printed).toEqual(['4', '3'])
    log.commit(5, 6, 7, 8, 9)
    now += 1000
    await follower.poll()
    expect(printed).toEqual(['4', '3', '5', '6', '7', '8', '9'])
  })

  it('starts after the given id when nothing was shown', async () => {
    const log = fakeLog()
    log.commit(1, 2, 3)
    const printed: string[] = []
    const follower = new EventFollower({
      read: (afterId) => log.read(afterId),
      print: (events) => printed.push(...events.map((printedEvent) => printedEvent.id)),
      shown: [],
      after: '3',
    })
    await follower.poll()
    log.commit(4)
    await follower.poll()
    expect(printed).toEqual(['4'])
  })

  it('reads again only the last few seconds, and forgets what it printed before them', async () => {
    const log = fakeLog(200)
    log.commit(1)
    const printed: string[] = []
    let now = 0
    const follower = new EventFollower({
      read: (afterId) => log.read(afterId),
      print: (events) => printed.push(...events.map((printedEvent) => printedEvent.id)),
      shown: [event(1)],
      now: () => now,
    })
    log.commit(2, 4)
    await follower.poll()
    // 1 is the floor, never read again.
    expect(follower.remembered).toBe(2)
    for (let second = 1; second <= 6; second++) {
      now = second * 1000
      await follower.poll()
    }
    // Five seconds after 4 was read, nothing at or below it is read again: an event that took
    // longer than that to commit is past the window.
    expect(log.reads.at(-1)).toBe('4')
    expect(follower.remembered).toBe(0)
    log.commit(3, 5)
    now += 1000
    await follower.poll()
    expect(printed).toEqual(['2', '4', '5'])
  })
})

async function connect(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: postgresUrl })
  await client.connect()
  cleanups.push(() => client.end())
  return client
}

/** Inserts an event in a transaction left open; returns its id, handed out already. */
async function insertUncommitted(client: pg.Client, schema: string, type: string) {
  await client.query('BEGIN')
  const result = await client.query<{ id: string }>(
    `INSERT INTO "${schema}".audit_events (type, at) VALUES ($1, $2) RETURNING id`,
    [type, Date.now()],
  )
  return Number(result.rows[0]?.id)
}

async function freshStore() {
  const schema = `baton_test_follow_${randomBytes(5).toString('hex')}`
  schemas.push(schema)
  const store = await openPostgresStore({ url: postgresUrlWithSchema(schema) })
  cleanups.push(() => store.close())
  await store.record({
    type: 'before',
    at: Date.now(),
    userId: null,
    sessionId: null,
    ip: null,
    userAgent: null,
    actor: null,
    detail: null,
  })
  return { schema, store }
}

await describeWith(['postgres'], 'following the audit log on PostgreSQL', () => {
  it('prints both events of two transactions that commit out of id order, each once', async () => {
    const { schema, store } = await freshStore()
    const first = await store.listEvents({ limit: 50 })
    const printed: StoredSecurityEvent[] = []
    const follower = new EventFollower({
      read: (afterId) => store.listEvents({ limit: 200, afterId }),
      print: (events) => printed.push(...events),
      shown: [...first.items].reverse(),
    })
    const lowerClient = await connect()
    const higherClient = await connect()
    const lower = await insertUncommitted(lowerClient, schema, 'lower')
    const higher = await insertUncommitted(higherClient, schema, 'higher')
    expect(higher).toBeGreaterThan(lower)
    await higherClient.query('COMMIT')
    await follower.poll()
    expect(printed.map((printedEvent) => printedEvent.type)).toEqual(['higher'])

    await lowerClient.query('COMMIT')
    // Polling after the highest id read, as the follower once did, would never see it.
    expect((await store.listEvents({ limit: 200, afterId: String(higher) })).items).toEqual([])
    await follower.poll()
    await follower.poll()
    expect(printed.map(({ id, type }) => [Number(id), type])).toEqual([
      [higher, 'higher'],
      [lower, 'lower'],
    ])
  })

  it('baton events --follow prints them too (the built CLI)', async () => {
    const { schema } = await freshStore()
    const child = spawn(process.execPath, [cli, 'events', '--follow', '--json'], {
      env: { PATH: process.env['PATH'], BATON_DATABASE_URL: postgresUrlWithSchema(schema) },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    cleanups.push(() => void child.kill())
    const lines: string[] = []
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) =>
      lines.push(...chunk.toString().split('\n').filter(Boolean)),
    )
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const types = () => lines.map((line) => (JSON.parse(line) as { type: string }).type)
    await expect.poll(types, { timeout: 10_000 }).toEqual(['before'])

    const lowerClient = await connect()
    const higherClient = await connect()
    await insertUncommitted(lowerClient, schema, 'lower')
    await insertUncommitted(higherClient, schema, 'higher')
    await higherClient.query('COMMIT')
    await expect.poll(types, { timeout: 5000 }).toEqual(['before', 'higher'])
    await lowerClient.query('COMMIT')
    await expect.poll(types, { timeout: 5000 }).toEqual(['before', 'higher', 'lower'])
    // A few more polls, each reading both again, print nothing more.
    await new Promise((resolve) => setTimeout(resolve, 2500))
    expect(types()).toEqual(['before', 'higher', 'lower'])
    expect(stderr).toBe('')
  })
})
