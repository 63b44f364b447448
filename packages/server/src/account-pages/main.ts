import { createClient, type Session } from '@baton-auth/client'
import { describeUserAgent } from './user-agent.js'
import { describeEnding, describeError } from './words.js'

// The account pages' one script. The server renders each page's markup (server/account-pages.ts);
// this wires it to Baton's API through the client in cookie delivery: the refresh token stays
// in its HttpOnly cookie, the access token in this page's memory.

const base = document.body.dataset.base ?? '/account'
const client = createClient({ baseUrl: location.origin, delivery: 'cookie' })

function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id)
  if (found === null) throw new Error(`the page has no #${id}`)
  return found as T
}

function make<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  properties: Partial<HTMLElementTagNameMap[K]> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const created = Object.assign(document.createElement(tag), properties)
  created.append(...children)
  return created
}

/** To the sign-in page, saying why when the session ended by itself. */
function toSignIn(reason?: string): void {
  location.assign(`${base}/sign-in${reason === undefined ? '' : `?ended=${reason}`}`)
}

const endedBy: Record<string, string> = {
  session_revoked: 'revoked',
  invalid_token: 'revoked',
  refresh_token_reused: 'reused',
  refresh_token_expired: 'expired',
}

/** True when `error` says there is no session: the page goes to sign-in. */
function leftWithoutSession(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code
  if (code === 'login_required') toSignIn()
  else if (code !== undefined && Object.hasOwn(endedBy, code)) toSignIn(endedBy[code])
  else return false
  return true
}

/**
 * A form of these pages: submitted without a reload, the button disabled meanwhile, a failure
 * said in words in `problemId` (role=alert) and the focus moved to the field to fix.
 */
function wire(
  formId: string,
  problemId: string,
  work: () => Promise<void>,
  fieldOf: (error: { code?: string; message?: string }) => string,
  wordsOf: (error: unknown) => string = describeError,
): void {
  const form = byId<HTMLFormElement>(formId)
  const problem = byId(problemId)
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    void submit()
  })
  async function submit(): Promise<void> {
    const button = form.querySelector('button') as HTMLButtonElement
    button.disabled = true
    form.setAttribute('aria-busy', 'true')
    problem.textContent = ''
    try {
      await work()
    } catch (error) {
      if (leftWithoutSession(error)) return
      problem.textContent = wordsOf(error)
      byId(fieldOf(error as { code?: string; message?: string })).focus()
    } finally {
      button.disabled = false
      form.removeAttribute('aria-busy')
    }
  }
}

const value = (id: string): string => byId<HTMLInputElement>(id).value
const tokenOfLink = (): string => new URLSearchParams(location.search).get('token') ?? ''

/** Filled a moment after load, so screen readers announce the live region's new text. */
function announce(id: string, text: string): void {
  if (text !== '') setTimeout(() => (byId(id).textContent = text), 100)
}

function wireForm(kind: 'sign-in' | 'sign-up'): void {
  announce('notice', describeEnding(new URLSearchParams(location.search).get('ended')))
  wire(
    'account-form',
    'form-problem',
    async () => {
      const credentials = { email: value('email').trim(), password: value('password') }
      try {
        await (kind === 'sign-in' ? client.login(credentials) : client.signup(credentials))
      } catch (error) {
        const { code, status } = error as { code?: string; status?: number }
        if (code !== 'email_not_verified' || status !== 202) throw error
        byId('notice').textContent =
          `Almost done: we sent a link to ${credentials.email}. Follow it to confirm the address, then sign in.`
        return
      }
      location.assign(base)
    },
    ({ code, message }) =>
      code === 'email_taken' || (code === 'invalid_request' && !/password/i.test(message ?? ''))
        ? 'email'
        : 'password',
  )
}

function wireForgotPassword(): void {
  wire(
    'account-form',
    'form-problem',
    async () => {
      await client.requestPasswordReset(value('email').trim())
      // The same words whether or not the address has an account: the server says no more.
      byId('notice').textContent =
        'If an account exists for that address, a link to choose a new password is on its way. It works for 15 minutes.'
    },
    () => 'email',
  )
}

function wireResetPassword(): void {
  if (tokenOfLink() === '') {
    announce('form-problem', 'This link is incomplete. Ask for a new one below.')
  }
  wire(
    'account-form',
    'form-problem',
    async () => {
      await client.resetPassword(tokenOfLink(), value('password'))
      toSignIn('password_reset')
    },
    () => 'password',
  )
}

async function verifyEmail(): Promise<void> {
  const notice = byId('notice')
  try {
    await client.verifyEmail(tokenOfLink())
    notice.textContent = 'Your email address is verified. Thank you.'
  } catch (error) {
    byId('form-problem').textContent = describeError(error)
  }
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' })

function ago(iso: string): HTMLTimeElement {
  const at = new Date(iso)
  const seconds = Math.round((at.getTime() - Date.now()) / 1000)
  const steps: [number, Intl.RelativeTimeFormatUnit][] = [
    [60, 'second'],
    [60, 'minute'],
    [24, 'hour'],
    [Infinity, 'day'],
  ]
  let value = seconds
  let unit: Intl.RelativeTimeFormatUnit = 'second'
  for (const [size, name] of steps) {
    unit = name
    if (Math.abs(value) < size) break
    value = Math.round(value / size)
  }
  const text = Math.abs(seconds) < 45 ? 'just now' : relative.format(value, unit)
  return make('time', { dateTime: at.toISOString(), title: dateTime.format(at) }, text)
}

async function showDevices(): Promise<void> {
  const status = byId('status')
  const problem = byId('problem')
  const list = byId<HTMLUListElement>('devices')
  client.onSessionChange((event) => {
    if (event.type === 'ended') toSignIn(event.reason)
  })

  async function act(work: () => Promise<void>, done?: string): Promise<void> {
    problem.textContent = ''
    try {
      await work()
      if (done !== undefined) status.textContent = done
    } catch (error) {
      if (!leftWithoutSession(error)) problem.textContent = describeError(error)
    }
  }

  function device(session: Session): HTMLLIElement {
    const name = describeUserAgent(session.userAgent)
    const title = make('h3', {}, name)
    if (session.current) title.append(' ', make('span', { className: 'badge' }, 'This device'))
    const facts = make(
      'dl',
      {},
      make('dt', {}, 'IP address'),
      make('dd', {}, session.ip ?? 'Unknown'),
      make('dt', {}, 'Signed in'),
      make('dd', {}, ago(session.createdAt)),
      make('dt', {}, 'Last active'),
      make('dd', {}, ago(session.lastUsedAt)),
    )
    const button = make('button', {
      type: 'button',
      className: 'secondary',
      textContent: session.current ? 'Sign out of this device' : 'Sign out',
    })
    if (!session.current) button.setAttribute('aria-label', `Sign out ${name}, ${session.ip ?? ''}`)
    button.addEventListener('click', () => {
      button.disabled = true
      void act(async () => {
        if (session.current) return client.logout()
        await client.revokeSession(session.id)
        await render()
        byId('devices-title').focus()
      }, `${name} is signed out.`).finally(() => {
        button.disabled = false
      })
    })
    return make('li', { className: 'device' }, title, facts, button)
  }

  async function render(): Promise<void> {
    const [me, sessions] = await Promise.all([client.me(), client.sessions()])
    byId('who').textContent = me.email
    sessions.sort(
      (a, b) => Number(b.current) - Number(a.current) || b.lastUsedAt.localeCompare(a.lastUsedAt),
    )
    list.replaceChildren(...sessions.map(device))
    list.removeAttribute('aria-busy')
  }

  wire(
    'password-form',
    'password-problem',
    async () => {
      await client.changePassword(value('current-password'), value('new-password'))
      byId<HTMLFormElement>('password-form').reset()
      byId('password-status').textContent =
        'Your password is changed. Your other devices are signed out.'
      await render()
    },
    ({ code }) => (code === 'invalid_credentials' ? 'current-password' : 'new-password'),
    (error) =>
      (error as { code?: string }).code === 'invalid_credentials'
        ? 'Your current password is not right.'
        : describeError(error),
  )
  byId('sign-out').addEventListener('click', () => void act(() => client.logout()))
  byId('sign-out-everywhere').addEventListener(
    'click',
    () => void act(() => client.logoutEverywhere()),
  )
  // Back to the tab: the list may have changed, or the session ended elsewhere.
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') void act(render)
  })
  await act(render)
  if (list.hasAttribute('aria-busy')) {
    // The first load failed (the reason is shown above): no endless "Loading…".
    list.replaceChildren(
      make('li', {}, 'Your devices could not be loaded. Reload the page to try again.'),
    )
    list.removeAttribute('aria-busy')
  }
}

const page = document.body.dataset.page
if (page === 'sign-in' || page === 'sign-up') wireForm(page)
else if (page === 'devices') void showDevices()
else if (page === 'forgot-password') wireForgotPassword()
else if (page === 'reset-password') wireResetPassword()
else if (page === 'verify-email') void verifyEmail()
