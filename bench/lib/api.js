// The few Baton HTTP calls the setup needs (body mode: no Origin header, JSON in and out).
/* global fetch */

async function post(baseUrl, path, body) {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'baton-bench/1 (setup)' },
    body: JSON.stringify(body),
  })
  const text = await response.text()
  if (!response.ok) throw new Error(`POST ${path} answered ${response.status}: ${text}`)
  return JSON.parse(text)
}

export const signup = (baseUrl, email, password) =>
  post(baseUrl, '/auth/signup', { email, password })
export const login = (baseUrl, email, password) => post(baseUrl, '/auth/login', { email, password })

/** Runs `task(i)` for i in [0, count) with at most `concurrency` in flight; results in order. */
export async function mapLimit(count, concurrency, task) {
  const results = new Array(count)
  let next = 0
  const worker = async () => {
    while (next < count) {
      const i = next++
      results[i] = await task(i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
  return results
}

/**
 * The sessions a load run needs: `count` users signed up (their first sessions), then each
 * logged in twice more, so a refresh warm-up and the measured refresh run start from fresh
 * sessions. Returns { signups, logins } (logins[i] and logins[count + i] belong to user i).
 */
export async function benchSessions(baseUrl, count, password, label) {
  const emails = Array.from({ length: count }, (_, i) => `${label}-${i}-${Date.now()}@example.com`)
  const signups = await mapLimit(count, 4, (i) => signup(baseUrl, emails[i], password))
  const logins = await mapLimit(2 * count, 4, (i) => login(baseUrl, emails[i % count], password))
  return { emails, signups, logins }
}
