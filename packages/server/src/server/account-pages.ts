import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { FastifyPluginAsync, FastifyReply } from 'fastify'

/**
 * The account pages (BATON_ACCOUNT_PAGES): sign up, sign in, and where you are signed in. The
 * markup is rendered here once at start; the script and stylesheet are bundled at build time
 * (scripts/build-account-pages.mjs, from src/account-pages/) and served under content-hashed
 * names, cached for good. No inline script or style, nothing from another origin: the
 * Content-Security-Policy below allows only this server's own files.
 */

export const accountPagesPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ')

interface Asset {
  name: string
  type: string
  body: Buffer
}

// From src/server/ and dist/server/ alike: the bundle is built into dist/account/.
const built = new URL('../../dist/account/', import.meta.url)

function loadAssets(): Asset[] {
  const files: [string, string][] = [
    ['account.js', 'text/javascript; charset=utf-8'],
    ['account.css', 'text/css; charset=utf-8'],
    ['icon.svg', 'image/svg+xml'],
  ]
  return files.map(([file, type]) => {
    let body: Buffer
    try {
      body = readFileSync(new URL(file, built))
    } catch {
      throw new Error(
        `the account pages are not built (${new URL(file, built).pathname} is missing): run ` +
          '`npm run build`, or turn them off with BATON_ACCOUNT_PAGES=false',
      )
    }
    const hash = createHash('sha256').update(body).digest('hex').slice(0, 12)
    const dot = file.lastIndexOf('.')
    return { name: `${file.slice(0, dot)}.${hash}${file.slice(dot)}`, type, body }
  })
}

interface PageParts {
  name: 'sign-in' | 'sign-up' | 'devices' | 'forgot-password' | 'reset-password' | 'verify-email'
  title: string
  main: string
}

function signInForm(kind: 'sign-in' | 'sign-up', base: string): string {
  const signingUp = kind === 'sign-up'
  const password = signingUp
    ? `<input id="password" name="password" type="password" autocomplete="new-password" required minlength="8" maxlength="128" aria-describedby="password-hint">
<p id="password-hint" class="hint">At least 8 characters. A few unrelated words make a strong one.</p>`
    : `<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="128">`
  return `<div class="card">
<h1>${signingUp ? 'Create your account' : 'Sign in'}</h1>
<p id="notice" class="notice" role="status"></p>
<form id="account-form">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required maxlength="254" autofocus>
<label for="password">Password</label>
${password}
<p id="form-problem" class="problem" role="alert"></p>
<button type="submit">${signingUp ? 'Create account' : 'Sign in'}</button>
</form>${signingUp ? '' : `\n<p class="switch"><a href="${base}/forgot-password">Forgot your password?</a></p>`}
<p class="switch">${
    signingUp
      ? `Already have an account? <a href="${base}/sign-in">Sign in</a>`
      : `New here? <a href="${base}/sign-up">Create an account</a>`
  }</p>
</div>`
}

const devices = `<div class="card">
<div class="account-head">
<div><h1>Your account</h1><p>Signed in as <strong id="who">…</strong></p></div>
<button id="sign-out" type="button" class="secondary">Sign out</button>
</div>
<p id="status" class="status" role="status"></p>
<p id="problem" class="problem" role="alert"></p>
<h2 id="devices-title" tabindex="-1">Where you’re signed in</h2>
<ul id="devices" class="devices" aria-labelledby="devices-title" aria-busy="true"><li>Loading…</li></ul>
<button id="sign-out-everywhere" type="button" class="danger" aria-describedby="everywhere-hint">Sign out everywhere</button>
<p id="everywhere-hint" class="hint">Signs out every device, this one included.</p>
</div>
<div class="card">
<h2 id="password-title">Change password</h2>
<p id="password-status" class="status" role="status"></p>
<form id="password-form" aria-labelledby="password-title">
<label for="current-password">Current password</label>
<input id="current-password" name="current-password" type="password" autocomplete="current-password" required maxlength="128">
<label for="new-password">New password</label>
<input id="new-password" name="new-password" type="password" autocomplete="new-password" required minlength="8" maxlength="128" aria-describedby="new-password-hint">
<p id="new-password-hint" class="hint">At least 8 characters. Your other devices will be signed out.</p>
<p id="password-problem" class="problem" role="alert"></p>
<button type="submit">Change password</button>
</form>
</div>`

function forgotPassword(base: string): string {
  return `<div class="card">
<h1>Reset your password</h1>
<p>Enter the email of your account. We will send a link to choose a new password; it works for 15 minutes.</p>
<p id="notice" class="notice" role="status"></p>
<form id="account-form">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required maxlength="254" autofocus>
<p id="form-problem" class="problem" role="alert"></p>
<button type="submit">Send the link</button>
</form>
<p class="switch"><a href="${base}/sign-in">Back to sign in</a></p>
</div>`
}

function resetPassword(base: string): string {
  return `<div class="card">
<h1>Choose a new password</h1>
<form id="account-form">
<label for="password">New password</label>
<input id="password" name="password" type="password" autocomplete="new-password" required minlength="8" maxlength="128" aria-describedby="password-hint" autofocus>
<p id="password-hint" class="hint">At least 8 characters. Every device signed in to your account will be signed out.</p>
<p id="form-problem" class="problem" role="alert"></p>
<button type="submit">Set the password</button>
</form>
<p class="switch"><a href="${base}/forgot-password">Ask for a new link</a></p>
</div>`
}

function verifyEmail(base: string): string {
  return `<div class="card">
<h1>Confirm your email address</h1>
<p id="notice" class="notice" role="status"></p>
<p id="form-problem" class="problem" role="alert"></p>
<p class="switch"><a href="${base}/sign-in">Sign in</a></p>
</div>`
}

function render(page: PageParts, base: string, assets: Asset[]): string {
  const [script, style, icon] = assets.map((asset) => `${base}/assets/${asset.name}`)
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${page.title} · Baton</title>
<link rel="stylesheet" href="${style}">
<link rel="icon" href="${icon}" type="image/svg+xml">
<script type="module" src="${script}"></script>
</head>
<body data-page="${page.name}" data-base="${base}">
<main id="main">
${page.main}
<noscript><p class="problem">These pages need JavaScript to sign you in.</p></noscript>
</main>
</body>
</html>
`
}

function pageHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .type('text/html; charset=utf-8')
    .header('content-security-policy', accountPagesPolicy)
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .header('cross-origin-opener-policy', 'same-origin')
    .header('cache-control', 'no-store')
}

export interface AccountPagesOptions {
  /** BATON_ACCOUNT_PAGES_PATH: `/account`. */
  base: string
}

export const accountPagesRoutes: FastifyPluginAsync<AccountPagesOptions> = async (
  app,
  { base },
) => {
  const assets = loadAssets()
  const pages: [string, PageParts][] = [
    [base, { name: 'devices', title: 'Your account', main: devices }],
    [`${base}/sign-in`, { name: 'sign-in', title: 'Sign in', main: signInForm('sign-in', base) }],
    [
      `${base}/sign-up`,
      { name: 'sign-up', title: 'Create your account', main: signInForm('sign-up', base) },
    ],
    [
      `${base}/forgot-password`,
      { name: 'forgot-password', title: 'Reset your password', main: forgotPassword(base) },
    ],
    [
      `${base}/reset-password`,
      { name: 'reset-password', title: 'Choose a new password', main: resetPassword(base) },
    ],
    [
      `${base}/verify-email`,
      { name: 'verify-email', title: 'Confirm your email address', main: verifyEmail(base) },
    ],
  ]
  const config = { accountPage: true as const }
  for (const [path, page] of pages) {
    const html = render(page, base, assets)
    app.get(path, { config }, async (_request, reply) => pageHeaders(reply).send(html))
  }
  app.get(`${base}/`, { config }, async (_request, reply) => reply.redirect(base, 308))
  const byName = new Map(assets.map((asset) => [asset.name, asset]))
  app.get<{ Params: { file: string } }>(
    `${base}/assets/:file`,
    { config },
    async (request, reply) => {
      const asset = byName.get(request.params.file)
      if (asset === undefined) return reply.callNotFound()
      return reply
        .type(asset.type)
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'public, max-age=31536000, immutable')
        .send(asset.body)
    },
  )
}
