import { openTabs, type TabMessage, type Tabs } from './cross-tab.js'
import { BatonClientError, errorOf, sessionEndingCodes } from './errors.js'
import { memoryStorage, type TokenStorage } from './storage.js'
import type { Credentials, Me, Session, SignedIn, TokenResponse, User } from './types.js'

/**
 * Why a session ended: `expired` (its refresh token or maximum age ran out), `revoked` (signed
 * out from another device or by an administrator), `reused` (an old refresh token came back:
 * theft, so the server ended the session), `signed_out` (this client, or another tab of it).
 */
export type SessionEndReason = 'expired' | 'revoked' | 'reused' | 'signed_out'

export type SessionEvent =
  /** Signed in, or the session was found (a reload in cookie delivery), or another tab changed it. */
  | { type: 'changed'; sessionId: string; user: User | null }
  /** `code` is the API's error code behind the reason (`session_revoked`, ...), or `signed_out`. */
  | { type: 'ended'; reason: SessionEndReason; code: string }

/**
 * How the refresh token travels (docs/api.md, "Delivery of the refresh token"). `cookie`: in an
 * HttpOnly cookie the page cannot read (browsers). `body`: in the JSON body, kept by the client
 * in its `storage` (mobile apps, CLIs, servers).
 */
export type TokenDelivery = 'cookie' | 'body'

export interface ClientOptions {
  /** Where Baton answers, e.g. `https://auth.example.com` (a path prefix is kept). */
  baseUrl: string | URL
  delivery: TokenDelivery
  /** Defaults to the global `fetch`. */
  fetch?: typeof fetch
  /** `body` delivery: where the refresh token is kept. Defaults to `memoryStorage()`. */
  storage?: TokenStorage
  /** `body` delivery: the storage key. @default 'baton.refreshToken' */
  storageKey?: string
  /**
   * Seconds before the access token's expiry when `getAccessToken()` already refreshes, so a
   * request is not sent with a token that expires on its way. At most half the token's
   * lifetime is used. @default 30
   */
  refreshLeeway?: number
  /** Milliseconds since the epoch. @default Date.now */
  now?: () => number
  /**
   * The header that carries the access token, as the server's `BATON_ACCESS_TOKEN_HEADER`:
   * `Authorization` sends `Bearer <token>`, any other header (seed 001's `X-AUTH-TOKEN`) the
   * bare token. @default 'Authorization'
   */
  accessTokenHeader?: string
  /**
   * Refresh before the access token expires, at about 80 % of its lifetime (with jitter, so
   * many clients do not come at once), while the page is visible; again on waking from sleep,
   * coming back online or to the foreground. @default true
   */
  proactiveRefresh?: boolean
  /**
   * Share one session between the tabs of an origin: one refreshes, the others receive its
   * tokens, and a sign-out reaches them all (BroadcastChannel, Web Locks). @default true in a
   * browser page with `cookie` delivery (the tabs share the cookie); with `body` delivery only
   * when the tabs share `storage` too.
   */
  crossTab?: boolean
  /** Milliseconds a tab waits for another's refresh before it refreshes itself. @default 5000 */
  lockTimeout?: number
  /**
   * Milliseconds a refresh request may take before it fails with `network_error`, so that a
   * request that never answers cannot hold the tabs' lock and every caller forever.
   * @default 30000
   */
  requestTimeout?: number
}

export interface BatonClient {
  /**
   * `POST /auth/signup`: creates the account and signs in. When the server requires a verified
   * address (BATON_REQUIRE_VERIFIED_EMAIL), the account is created and a link mailed, and this
   * rejects with `email_not_verified` (status 202): sign in after following the link.
   */
  signup(credentials: Credentials): Promise<SignedIn>
  /** `POST /auth/login`. */
  login(credentials: Credentials): Promise<SignedIn>
  /**
   * Signs this session out on the server (`POST /auth/logout`) and forgets it here. The local
   * state is forgotten even when the request fails; the error is still thrown, so the app can
   * say the server may not have heard it.
   */
  logout(): Promise<void>
  /**
   * Signs every session of the user out (`POST /auth/logout-all`) and forgets this one. On an
   * outage the session is kept, so the call can be retried.
   */
  logoutEverywhere(): Promise<void>
  /** `GET /auth/me`. */
  me(): Promise<Me>
  /** `GET /auth/sessions`: the user's signed-in devices. */
  sessions(): Promise<Session[]>
  /** `DELETE /auth/sessions/:id`. Revoking the current session signs this client out. */
  revokeSession(id: string): Promise<void>
  /**
   * `POST /auth/password`: this session stays signed in, every other session of the user is
   * signed out. A wrong current password rejects with `invalid_credentials`.
   */
  changePassword(currentPassword: string, newPassword: string): Promise<void>
  /**
   * `POST /auth/password/forgot`: mails a reset link if the address has an account; resolves
   * the same either way.
   */
  requestPasswordReset(email: string): Promise<void>
  /** `POST /auth/password/reset` with the token of the link: every session is signed out. */
  resetPassword(token: string, password: string): Promise<void>
  /** `POST /auth/email/verify` with the token of the link. */
  verifyEmail(token: string): Promise<void>
  /**
   * A valid access token: the one held, or a new one from `POST /auth/refresh` when it has
   * expired or is about to. Concurrent callers share one refresh request. Rejects with
   * `login_required` when there is no session, and with the server's code when the session is
   * over (`refresh_token_reused`, `session_revoked`, ...), after which the client forgets it.
   */
  getAccessToken(): Promise<string>
  /**
   * `fetch` with `Authorization: Bearer <access token>` (or the bare token in
   * `accessTokenHeader`). When the answer is
   * `401 access_token_expired` (Baton and `@baton-auth/verify` answer so), it refreshes and sends
   * the request once more. A `401 session_revoked` ends the session (an `ended` event, reason
   * `revoked`) and comes back as it is, like every other answer.
   */
  fetch(input: Request | URL | string, init?: RequestInit): Promise<Response>
  /** Calls `listener` when the session changes or ends; returns the unsubscribe. */
  onSessionChange(listener: (event: SessionEvent) => void): () => void
  /**
   * How far the server's clock is ahead of this device's, in ms, as the `Date` headers of its
   * answers say (to a second). Expiry is judged on the server's time, so a wrong device clock
   * neither refreshes too late nor too often.
   */
  readonly clockSkew: number
  /** Stops timers and listeners and leaves the tabs' channel. The session stays signed in. */
  close(): void
}

interface AccessToken {
  token: string
  /** By the server's clock. */
  expiresAt: number
  lifetime: number
}

const endReasons: Record<string, SessionEndReason> = {
  refresh_token_reused: 'reused',
  session_revoked: 'revoked',
  invalid_token: 'revoked',
}

const jsonType = 'application/json'

/** A browser page's globals, typed locally: the client builds without the DOM's types. */
interface EventSource {
  addEventListener(type: string, listener: () => void): void
  removeEventListener(type: string, listener: () => void): void
}
const page = globalThis as Partial<EventSource> & {
  document?: EventSource & { visibilityState: string }
}
const hidden = (): boolean => page.document?.visibilityState === 'hidden'
const onPage = (): boolean => page.document !== undefined

export function createClient(options: ClientOptions): BatonClient {
  return new Client(options)
}

class Client implements BatonClient {
  readonly #base: string
  readonly #delivery: TokenDelivery
  readonly #fetch: typeof fetch
  readonly #storage: TokenStorage
  readonly #storageKey: string
  readonly #leeway: number
  readonly #now: () => number
  readonly #tokenHeader: string
  readonly #proactive: boolean
  readonly #tabs: Tabs | null = null
  readonly #listeners = new Set<(event: SessionEvent) => void>()
  #stopListening = (): void => {}
  #access: AccessToken | null = null
  #sessionId: string | null = null
  #refreshing: Promise<string> | null = null
  /** Bumped whenever the session changes hands (login, logout), so a late refresh is dropped. */
  #generation = 0
  /** Server time minus this device's, ms. */
  #offset = 0
  #offsetKnown = false
  #timer: ReturnType<typeof setTimeout> | undefined
  /** Proactive refreshes that failed in a row (an outage, no network): they back off. */
  #failures = 0
  #closed = false
  readonly #requestTimeout: number
  /** Resolves a tab's wait for the token another tab is fetching. */
  #tokenArrived = (): void => {}

  constructor(options: ClientOptions) {
    if (options.delivery !== 'cookie' && options.delivery !== 'body') {
      throw new TypeError('createClient: delivery must be "cookie" or "body"')
    }
    let base: URL
    try {
      base = new URL(String(options.baseUrl))
    } catch {
      throw new TypeError(`createClient: baseUrl "${String(options.baseUrl)}" is not a URL`)
    }
    this.#base = base.href.replace(/\/+$/, '')
    this.#delivery = options.delivery
    // Called through a wrapper: a browser's fetch throws "Illegal invocation" when called as a
    // method of anything but the global object.
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
    this.#storage = options.storage ?? memoryStorage()
    this.#storageKey = options.storageKey ?? 'baton.refreshToken'
    this.#leeway = (options.refreshLeeway ?? 30) * 1000
    this.#now = options.now ?? Date.now
    this.#tokenHeader = (options.accessTokenHeader ?? 'authorization').trim().toLowerCase()
    if (!/^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(this.#tokenHeader)) {
      throw new TypeError(
        `createClient: accessTokenHeader "${options.accessTokenHeader}" is not a header name`,
      )
    }
    this.#proactive = options.proactiveRefresh ?? true
    this.#requestTimeout = options.requestTimeout ?? 30_000
    const { document } = page
    const onPage = document !== undefined && page.addEventListener !== undefined
    if (options.crossTab ?? (onPage && this.#delivery === 'cookie')) {
      this.#tabs = openTabs(
        `baton ${this.#base} ${this.#storageKey}`,
        options.lockTimeout ?? 5000,
        (message) => this.#receive(message),
      )
    }
    if (onPage) {
      // Timers stop in sleep and in background tabs: on the way back the token may be near
      // its end, and a refresh that failed offline can try again.
      const wake = (): void => {
        this.#failures = 0
        this.#schedule()
      }
      const events = ['online', 'pageshow']
      document.addEventListener('visibilitychange', wake)
      for (const type of events) page.addEventListener?.(type, wake)
      this.#stopListening = () => {
        document.removeEventListener('visibilitychange', wake)
        for (const type of events) page.removeEventListener?.(type, wake)
      }
    }
  }

  get clockSkew(): number {
    return this.#offset
  }

  signup(credentials: Credentials): Promise<SignedIn> {
    return this.#signIn('/auth/signup', credentials)
  }

  login(credentials: Credentials): Promise<SignedIn> {
    return this.#signIn('/auth/login', credentials)
  }

  async logout(): Promise<void> {
    const accessToken = this.#access?.token
    const refreshToken = this.#delivery === 'body' ? await this.#storedRefreshToken() : undefined
    const sessionId = this.#sessionId
    const had = this.#holds()
    await this.#forget()
    try {
      // In body mode with nothing held there is nothing to sign out; in cookie mode the cookie
      // may be there whatever this object knows (a reload), and only the server can clear it.
      if (this.#delivery === 'body' && accessToken === undefined && refreshToken === undefined) {
        return
      }
      const headers = this.#headers(accessToken)
      let body: string | undefined
      if (refreshToken !== undefined) {
        headers['content-type'] = jsonType
        body = JSON.stringify({ refreshToken })
      }
      const response = await this.#call('/auth/logout', { method: 'POST', headers, body })
      if (!response.ok) throw await errorOf(response)
    } finally {
      // After the request: a listener that navigates away must not cancel it.
      if (had) this.#announce('signed_out', sessionId, true)
    }
  }

  async logoutEverywhere(): Promise<void> {
    const response = await this.fetch(this.#url('/auth/logout-all'), {
      method: 'POST',
      headers: this.#headers(),
      credentials: this.#credentials(),
    })
    if (!response.ok) {
      const error = await errorOf(response)
      if (sessionEndingCodes.has(error.code)) await this.#end(error.code)
      throw error
    }
    await this.#end('signed_out')
  }

  async me(): Promise<Me> {
    return (await this.#bearerJson('GET', '/auth/me')) as Me
  }

  async sessions(): Promise<Session[]> {
    const body = (await this.#bearerJson('GET', '/auth/sessions')) as { sessions?: unknown }
    if (!Array.isArray(body.sessions)) throw unexpected(200, 'a body without "sessions"')
    return body.sessions as Session[]
  }

  async revokeSession(id: string): Promise<void> {
    const current = id === this.#sessionId
    await this.#bearerJson('DELETE', `/auth/sessions/${encodeURIComponent(id)}`)
    if (current) await this.#end('signed_out')
  }

  async changePassword(currentPassword: string, newPassword: string): Promise<void> {
    await this.#bearerJson('POST', '/auth/password', { currentPassword, newPassword })
  }

  requestPasswordReset(email: string): Promise<void> {
    return this.#post('/auth/password/forgot', { email })
  }

  resetPassword(token: string, password: string): Promise<void> {
    return this.#post('/auth/password/reset', { token, password })
  }

  verifyEmail(token: string): Promise<void> {
    return this.#post('/auth/email/verify', { token })
  }

  async #post(path: string, body: object): Promise<void> {
    const response = await this.#call(path, {
      method: 'POST',
      headers: { ...this.#headers(), 'content-type': jsonType },
      body: JSON.stringify(body),
    })
    if (!response.ok) throw await errorOf(response)
  }

  getAccessToken(): Promise<string> {
    const access = this.#access
    if (access !== null && !this.#nearExpiry(access)) return Promise.resolve(access.token)
    return this.#refresh()
  }

  async fetch(input: Request | URL | string, init?: RequestInit): Promise<Response> {
    // A Request, or a streamed body, can be sent once: a copy is kept for the one retry. Other
    // inputs are sent as they are, without building Requests (most of this method's cost).
    const once =
      input instanceof Request ||
      (typeof ReadableStream === 'function' && init?.body instanceof ReadableStream)
    const request = !once
      ? undefined
      : input instanceof Request && init === undefined
        ? input
        : new Request(input, init)
    const send = (token: string): Promise<Response> => {
      if (request !== undefined) return this.#fetch(withToken(request, this.#tokenHeader, token))
      // Fetch drops `Authorization` on a redirect to another origin, and no other header: a
      // custom one is carried across redirects here, to its own origin only. (A page's fetch
      // hides redirects; there the browser's CORS check stands between the header and a
      // foreign origin.)
      if (this.#tokenHeader === 'authorization' || init?.redirect !== undefined || onPage()) {
        return this.#fetch(input, withTokenInit(init, this.#tokenHeader, token))
      }
      return this.#followKeepingToken(
        input instanceof URL ? input.href : (input as string),
        init,
        token,
      )
    }
    const token = await this.getAccessToken()
    const response = await send(token)
    if (response.status !== 401) return response
    const refusal = await refusalOf(response)
    // A server that follows revocations (Baton, the verifier with the revocation channel) says
    // the session is over: every later call would hear it too.
    if (refusal === 'session_revoked' && this.#access?.token === token) await this.#end(refusal)
    if (refusal !== 'access_token_expired') return response
    return send(await this.#refreshAfterRejection(token))
  }

  async #followKeepingToken(
    url: string,
    init: RequestInit | undefined,
    token: string,
  ): Promise<Response> {
    const origin = new URL(url).origin
    let target = url
    let step = init
    for (let hop = 0; hop <= 20; hop++) {
      const sent =
        new URL(target).origin === origin ? withTokenInit(step, this.#tokenHeader, token) : step
      const response = await this.#fetch(target, { ...sent, redirect: 'manual' })
      const location = response.headers.get('location')
      if (response.status < 300 || response.status > 399 || location === null) return response
      target = new URL(location, target).href
      // As fetch does: 303, and 301/302 after a POST, go on as a GET without a body.
      const status = response.status
      if (status === 303 || ((status === 301 || status === 302) && step?.method === 'POST')) {
        step = { ...step, method: 'GET', body: null }
      }
    }
    throw new BatonClientError('network_error', 0, `More than 20 redirects from ${url}.`)
  }

  onSessionChange(listener: (event: SessionEvent) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  close(): void {
    this.#closed = true
    clearTimeout(this.#timer)
    this.#stopListening()
    this.#tabs?.close()
  }

  async #signIn(path: string, credentials: Credentials): Promise<SignedIn> {
    const response = await this.#call(path, {
      method: 'POST',
      headers: { ...this.#headers(), 'content-type': jsonType },
      body: JSON.stringify({ email: credentials.email, password: credentials.password }),
    })
    if (!response.ok) throw await errorOf(response)
    // BATON_REQUIRE_VERIFIED_EMAIL: the account exists, the session waits for the mailed link.
    if (response.status === 202) {
      throw new BatonClientError(
        'email_not_verified',
        202,
        'Account created: follow the link mailed to the address to confirm it, then sign in.',
      )
    }
    const tokens = await tokensOf(response)
    // A new session replaces whatever this client held; a refresh of the old one still in
    // flight must not overwrite it.
    this.#generation++
    this.#refreshing = null
    await this.#accept(tokens)
    return {
      user: tokens.user,
      sessionId: tokens.sessionId,
      accessToken: tokens.accessToken,
      expiresIn: tokens.expiresIn,
    }
  }

  /**
   * One refresh at a time: callers arriving while one is in flight get its result, and tabs
   * sharing the session take turns, a tab that waited using what the one before it fetched.
   */
  #refresh(): Promise<string> {
    if (this.#refreshing !== null) return this.#refreshing
    const stale = this.#access?.token
    const refreshing = (
      this.#tabs === null
        ? this.#sendRefresh()
        : this.#tabs.exclusive((contended) => this.#refreshUnlessDone(stale, contended))
    ).finally(() => {
      if (this.#refreshing === refreshing) this.#refreshing = null
    })
    this.#refreshing = refreshing
    return refreshing
  }

  async #refreshUnlessDone(stale: string | undefined, contended: boolean): Promise<string> {
    // The tab that held the lock posted its token before letting go; the message and the lock
    // travel apart, so it may land a moment after the lock.
    if (contended && this.#access?.token === stale) {
      await new Promise<void>((resolve) => {
        this.#tokenArrived = resolve
        setTimeout(resolve, 200)
      })
    }
    const access = this.#access
    if (access !== null && access.token !== stale && !this.#nearExpiry(access)) return access.token
    return this.#sendRefresh()
  }

  /**
   * After a server refused `rejected` as expired: refresh, unless another caller already did
   * (then its token is the answer), so a burst of 401s still makes one refresh request.
   */
  #refreshAfterRejection(rejected: string): Promise<string> {
    if (this.#refreshing !== null) return this.#refreshing
    const access = this.#access
    if (access !== null && access.token !== rejected) return Promise.resolve(access.token)
    return this.#refresh()
  }

  async #sendRefresh(): Promise<string> {
    const generation = this.#generation
    const headers = this.#headers(this.#access?.token)
    let body: string | undefined
    if (this.#delivery === 'body') {
      const refreshToken = await this.#storedRefreshToken()
      if (refreshToken === undefined) {
        throw new BatonClientError('login_required', 0, 'Not signed in: no refresh token is held.')
      }
      headers['content-type'] = jsonType
      body = JSON.stringify({ refreshToken })
    }
    const response = await this.#call('/auth/refresh', {
      method: 'POST',
      headers,
      body,
      signal: timeoutSignal(this.#requestTimeout),
    })
    if (!response.ok) {
      if (generation !== this.#generation) return this.#tokenAfterChange()
      const error = await errorOf(response)
      if (sessionEndingCodes.has(error.code)) await this.#end(error.code)
      throw error
    }
    const tokens = await tokensOf(response)
    // Signed in or out meanwhile: this answer is of a session no longer held. An answer for the
    // session held now is kept whatever arrived meanwhile: in body delivery, its refresh token
    // is the only one still valid.
    if (generation !== this.#generation && tokens.sessionId !== this.#sessionId) {
      return this.#tokenAfterChange()
    }
    await this.#accept(tokens)
    return tokens.accessToken
  }

  /** The token of the session that replaced the one a refresh was for; never a new refresh. */
  #tokenAfterChange(): string {
    if (this.#access !== null) return this.#access.token
    throw new BatonClientError('login_required', 0, 'Signed out while refreshing.')
  }

  async #accept(tokens: TokenResponse): Promise<void> {
    if (this.#delivery === 'body') {
      if (typeof tokens.refreshToken !== 'string') {
        throw unexpected(200, 'a token response without "refreshToken" in body delivery')
      }
      await this.#storage.set(this.#storageKey, tokens.refreshToken)
    }
    const lifetime = tokens.expiresIn * 1000
    const message: TabMessage = {
      type: 'token',
      token: tokens.accessToken,
      expiresAt: this.#serverNow() + lifetime,
      lifetime,
      sessionId: tokens.sessionId,
      user: tokens.user,
    }
    this.#adopt(message)
    this.#tell(message)
  }

  #tell(message: TabMessage): void {
    if (!this.#closed) this.#tabs?.post(message)
  }

  /** A token fetched here or by another tab. */
  #adopt(message: TabMessage & { type: 'token' }): void {
    this.#access = {
      token: message.token,
      expiresAt: message.expiresAt,
      lifetime: message.lifetime,
    }
    this.#failures = 0
    this.#schedule()
    this.#tokenArrived()
    if (message.sessionId !== this.#sessionId) {
      this.#sessionId = message.sessionId
      this.#emit({ type: 'changed', sessionId: message.sessionId, user: message.user })
    }
  }

  #receive(message: TabMessage): void {
    if (message.type === 'ended') {
      // Only the session it ended: a late word about an older one leaves a new sign-in alone.
      if (message.sessionId === this.#sessionId) void this.#end(message.code, false)
      return
    }
    const held = this.#access
    // A session another tab signed in to replaces this one; of one session's tokens the
    // later wins.
    if (message.sessionId !== this.#sessionId) {
      this.#generation++
      this.#adopt(message)
    } else if (held === null || message.expiresAt > held.expiresAt) {
      this.#adopt(message)
    }
  }

  /**
   * Forgets the session and tells the app and the other tabs why, when there was one to end
   * (a reload in cookie delivery that finds no cookie ends nothing).
   */
  async #end(code: string, tellTabs = true): Promise<void> {
    const sessionId = this.#sessionId
    const had = this.#holds()
    await this.#forget()
    if (had) this.#announce(code, sessionId, tellTabs)
  }

  #holds(): boolean {
    return this.#access !== null || this.#sessionId !== null
  }

  #announce(code: string, sessionId: string | null, tellTabs: boolean): void {
    if (tellTabs) this.#tell({ type: 'ended', code, sessionId })
    const reason = code === 'signed_out' ? code : (endReasons[code] ?? 'expired')
    this.#emit({ type: 'ended', reason, code })
  }

  async #forget(): Promise<void> {
    this.#generation++
    this.#refreshing = null
    this.#access = null
    this.#sessionId = null
    clearTimeout(this.#timer)
    if (this.#delivery === 'body') await this.#storage.remove(this.#storageKey)
  }

  #emit(event: SessionEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event)
      } catch (error) {
        // An app's listener that throws is its bug, reported as uncaught, not the client's.
        queueMicrotask(() => {
          throw error
        })
      }
    }
  }

  /**
   * Arms the proactive refresh at about 80 % of the token's lifetime (give or take 5 %), or,
   * after failures, after a back-off of 2, 4, 8 ... up to 60 seconds.
   */
  #schedule(): void {
    clearTimeout(this.#timer)
    const access = this.#access
    if (!this.#proactive || access === null || this.#closed) return
    const delay =
      this.#failures > 0
        ? Math.min(60_000, 1000 * 2 ** this.#failures)
        : access.expiresAt - access.lifetime * (0.15 + Math.random() * 0.1) - this.#serverNow()
    this.#timer = setTimeout(() => this.#refreshAhead(), Math.max(0, delay))
    // In Node, a pending refresh does not keep the process alive.
    ;(this.#timer as { unref?: () => void }).unref?.()
  }

  #refreshAhead(): void {
    // A hidden tab waits: the visible one refreshes for all, or this one when it is shown.
    if (hidden()) return
    const held = this.#access
    if (held === null) return
    this.#refresh().catch(() => {
      if (this.#access === held) {
        this.#failures++
        this.#schedule()
      }
    })
  }

  #serverNow(): number {
    return this.#now() + this.#offset
  }

  /** Reads the server's clock from the `Date` of an answer. */
  #observe(response: Response): void {
    const date = Date.parse(response.headers.get('date') ?? '')
    if (Number.isNaN(date)) return
    // The header counts whole seconds: half a second is the best guess of the rest.
    const offset = date + 500 - this.#now()
    // A move beyond the header's precision means this device's clock was set.
    if (this.#offsetKnown && Math.abs(offset - this.#offset) <= 1500) return
    this.#offset = offset
    this.#offsetKnown = true
    this.#schedule()
  }

  async #storedRefreshToken(): Promise<string | undefined> {
    const value = await this.#storage.get(this.#storageKey)
    return typeof value === 'string' && value !== '' ? value : undefined
  }

  #nearExpiry(access: AccessToken): boolean {
    return this.#serverNow() >= access.expiresAt - Math.min(this.#leeway, access.lifetime / 2)
  }

  async #bearerJson(method: string, path: string, body?: object): Promise<unknown> {
    const headers = this.#headers()
    if (body !== undefined) headers['content-type'] = jsonType
    const response = await this.fetch(this.#url(path), {
      method,
      headers,
      credentials: this.#credentials(),
      body: body === undefined ? null : JSON.stringify(body),
    })
    this.#observe(response)
    if (!response.ok) {
      const error = await errorOf(response)
      // The server says this session is over: a later call would only hear it again.
      if (error.code === 'session_revoked') await this.#end(error.code)
      throw error
    }
    if (response.status === 204) return undefined
    return readJson(response)
  }

  /** A request to Baton; a network failure becomes a `network_error`. */
  async #call(path: string, init: RequestInit): Promise<Response> {
    let response: Response
    try {
      response = await this.#fetch(this.#url(path), { ...init, credentials: this.#credentials() })
    } catch (error) {
      throw new BatonClientError('network_error', 0, `Baton did not answer: ${messageOf(error)}`, {
        cause: error,
      })
    }
    this.#observe(response)
    return response
  }

  #headers(accessToken?: string): Record<string, string> {
    const headers: Record<string, string> = { 'baton-token-delivery': this.#delivery }
    if (accessToken !== undefined) {
      headers[this.#tokenHeader] = tokenHeaderValue(this.#tokenHeader, accessToken)
    }
    return headers
  }

  /** The refresh cookie travels to Baton's origin only when the request says `include`. */
  #credentials(): RequestInit['credentials'] {
    return this.#delivery === 'cookie' ? 'include' : undefined
  }

  #url(path: string): string {
    return this.#base + path
  }
}

/** `AbortSignal.timeout` is not everywhere (React Native). */
function timeoutSignal(milliseconds: number): AbortSignal {
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), milliseconds)
  ;(timer as { unref?: () => void }).unref?.()
  return controller.signal
}

function tokenHeaderValue(header: string, token: string): string {
  return header === 'authorization' ? `Bearer ${token}` : token
}

function withTokenInit(init: RequestInit | undefined, header: string, token: string): RequestInit {
  const value = tokenHeaderValue(header, token)
  if (init?.headers === undefined) return { ...init, headers: { [header]: value } }
  const headers = new Headers(init.headers)
  headers.set(header, value)
  return { ...init, headers }
}

/** A copy of `request` with the token: the original stays unsent, for the one retry. */
function withToken(request: Request, header: string, token: string): Request {
  const copy = request.clone()
  copy.headers.set(header, tokenHeaderValue(header, token))
  return copy
}

/** The code of a 401 from Baton or `@baton-auth/verify`: `{"error": "access_token_expired"}`. */
async function refusalOf(response: Response): Promise<string | undefined> {
  if (!(response.headers.get('content-type') ?? '').includes('json')) return undefined
  try {
    const body = (await response.clone().json()) as { error?: unknown }
    return typeof body.error === 'string' ? body.error : undefined
  } catch {
    return undefined
  }
}

async function readJson(response: Response): Promise<unknown> {
  try {
    return await response.json()
  } catch {
    throw unexpected(response.status, 'a body that is not JSON')
  }
}

async function tokensOf(response: Response): Promise<TokenResponse> {
  const body = (await readJson(response)) as Partial<TokenResponse> | null
  if (
    body === null ||
    typeof body.accessToken !== 'string' ||
    typeof body.expiresIn !== 'number' ||
    typeof body.sessionId !== 'string' ||
    typeof body.user !== 'object' ||
    body.user === null
  ) {
    throw unexpected(response.status, 'a token response without its fields')
  }
  return body as TokenResponse
}

function unexpected(status: number, what: string): BatonClientError {
  return new BatonClientError('unexpected_response', status, `Baton answered ${what}.`)
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
