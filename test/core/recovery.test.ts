import { describe, expect, it } from 'vitest'
import { createBaton, type Baton } from '../../packages/server/src/core/baton.js'
import { loadConfig } from '../../packages/server/src/core/config/config.js'
import type { MailMessage, UserRecord } from '../../packages/server/src/core/ports.js'
import { renderMail } from '../../packages/server/src/core/users/mail-templates.js'
import { hashOfSecret } from '../../packages/server/src/core/users/recovery-service.js'
import { createMemoryStore } from '../../packages/server/src/stores/memory/index.js'
import { ManualClock } from '../helpers/clock.js'
import { plainHasher, refusalCode } from '../helpers/engine.js'
import { FaultSwitch } from '../helpers/faulty-store.js'

// The engine's side of password change, reset and verification: what it announces, what it
// stores, and that a failure halfway leaves the link usable. HTTP is in test/http/password-reset.

const context = { ip: '192.0.2.1', userAgent: 'test' }
const password = 'correct horse battery staple'

async function engine(env: Record<string, string> = {}) {
  const store = createMemoryStore()
  const faults = new FaultSwitch()
  const clock = new ManualClock()
  const sent: MailMessage[] = []
  const announced: string[][] = []
  const mails: string[] = []
  const baton: Baton = await createBaton({
    config: loadConfig({ BATON_DATABASE_URL: 'memory:', BATON_LOG_LEVEL: 'silent', ...env }),
    database: store,
    sessions: faults.wrap(store),
    clock,
    hasher: plainHasher,
    mailer: {
      send: async (message) => {
        sent.push(message)
      },
    },
    observer: {
      sessionsRevoked: (ids) => announced.push([...ids].sort()),
      mail: (kind, outcome) => mails.push(`${kind}:${outcome}`),
    },
  })
  const user: UserRecord = {
    id: 'user-1',
    email: 'ada@example.com',
    passwordHash: await plainHasher.hash(password),
    roles: ['user'],
    createdAt: clock.now(),
    disabledAt: null,
    emailVerifiedAt: null,
    passwordChangedAt: null,
    passwordChangedIn: null,
  }
  await store.createUser(user)
  const signIn = () => baton.accounts.login(user.email, password, context)
  /** The token of the latest link mailed, once the send (after the call) has happened. */
  const lastToken = async (): Promise<string> => {
    await new Promise((resolve) => setImmediate(resolve))
    const text = sent.at(-1)?.text ?? ''
    return new URL(/https?:\/\/\S+/.exec(text)?.[0] ?? 'http://x').searchParams.get('token') ?? ''
  }
  return { baton, store, faults, clock, sent, announced, mails, user, signIn, lastToken }
}

describe('password change and reset in the engine', () => {
  it('announces the sessions a change revokes, all but the current one', async () => {
    const { baton, announced, signIn, store, user, clock } = await engine()
    const [current, second, third] = [await signIn(), await signIn(), await signIn()]
    const { sessionsRevoked } = await baton.accounts.changePassword(
      { sub: user.id, sid: current.session.id },
      password,
      'a brand new passphrase',
      context,
    )
    expect(sessionsRevoked).toBe(2)
    expect(announced).toEqual([[second.session.id, third.session.id].sort()])
    const live = await store.listForUser(user.id, clock.now())
    expect(live.map((session) => session.id)).toEqual([current.session.id])
  })

  it('stores only the hash of the secret, and announces every session a reset revokes', async () => {
    const { baton, store, announced, mails, sent, signIn, user, lastToken, clock } = await engine()
    const sessions = [await signIn(), await signIn()]
    await baton.recovery.requestPasswordReset(user.email, context)
    const token = await lastToken()
    expect(mails).toEqual(['password_reset:sent'])
    expect(sent[0]?.to).toBe(user.email)
    const [userId, secret] = token.split('.')
    expect(userId).toBe(user.id)
    // The store gives it back only for the hash of the secret.
    expect(await store.takeOneTimeToken(user.id, 'password_reset', secret!, clock.now())).toBeNull()
    await baton.recovery.resetPassword(token, 'a brand new passphrase', context)
    expect(announced).toEqual([sessions.map((tokens) => tokens.session.id).sort()])
    expect(
      await store.takeOneTimeToken(user.id, 'password_reset', hashOfSecret(secret!), clock.now()),
    ).toBeNull()
  })

  it('puts the link back when the reset fails after taking it, so it can be tried again', async () => {
    const { baton, faults, signIn, user, lastToken, store, clock } = await engine()
    const before = await signIn()
    await baton.recovery.requestPasswordReset(user.email, context)
    const token = await lastToken()
    faults.failNext = 'revokeAllForUser'
    expect(
      await refusalCode(baton.recovery.resetPassword(token, 'a brand new passphrase', context)),
    ).toBe('store_unavailable')
    await baton.recovery.resetPassword(token, 'a brand new passphrase', context)
    expect(
      await store.isDenied({ userId: user.id, sessionId: before.session.id }, clock.now()),
    ).toBe(true)
    expect(
      await refusalCode(baton.recovery.resetPassword(token, 'another passphrase', context)),
    ).toBe('invalid_link')
  })

  it('mails nothing to a disabled account, and a link it had is void', async () => {
    const { baton, store, user, sent, lastToken, clock } = await engine()
    await baton.recovery.requestPasswordReset(user.email, context)
    const token = await lastToken()
    await store.updateUser(user.id, { disabledAt: clock.now() })
    await baton.recovery.requestPasswordReset(user.email, context)
    await new Promise((resolve) => setImmediate(resolve))
    expect(sent).toHaveLength(1)
    expect(
      await refusalCode(baton.recovery.resetPassword(token, 'a brand new passphrase', context)),
    ).toBe('invalid_link')
  })
})

describe('mail rendering', () => {
  it('escapes values in HTML only, and keeps the subject on one line', () => {
    const message = renderMail(
      { subject: 'Hi {{email}}', text: '{{email}} {{link}}', html: '<b>{{email}}</b> {{link}}' },
      'a@example.com',
      {
        email: '<x>&"\'\r\nBcc: y',
        link: 'https://example.com/?a=1&token=t',
        minutes: '15',
        lifetime: '15 minutes',
      },
    )
    expect(message.subject).toBe('Hi <x>&"\' Bcc: y')
    expect(message.text).toBe('<x>&"\'\r\nBcc: y https://example.com/?a=1&token=t')
    expect(message.html).toBe(
      '<b>&lt;x&gt;&amp;&quot;&#39;\r\nBcc: y</b> https://example.com/?a=1&amp;token=t',
    )
  })
})
