// client.fetch's own cost over plain fetch, with a valid token held: both call the same
// in-process fetch that answers at once, so the network is out of the figure and what is left
// is the client's work (reading the token, building the request, checking the answer).
// `npm run build` first; `node bench/client-fetch.js`.
import console from 'node:console'
import process from 'node:process'
/* global Request, Response */
import { createClient } from '../packages/client/dist/index.js'

const calls = Number(process.env.CALLS ?? 200_000)
const answer = () =>
  new Response('{}', { status: 200, headers: { 'content-type': 'application/json' } })
const instant = async () => answer()

const tokens = JSON.stringify({
  accessToken: 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln',
  tokenType: 'Bearer',
  expiresIn: 900,
  refreshToken: 'r',
  refreshExpiresIn: 1209600,
  sessionId: 's',
  user: { id: 'u', email: 'u@example.com', roles: ['user'] },
})
const client = createClient({
  baseUrl: 'http://127.0.0.1:3000',
  delivery: 'body',
  proactiveRefresh: false,
  fetch: async (input) => {
    const url = typeof input === 'string' ? input : input.url
    if (url.endsWith('/auth/login')) {
      return new Response(tokens, { status: 200, headers: { 'content-type': 'application/json' } })
    }
    return answer()
  },
})
await client.login({ email: 'u@example.com', password: 'p' })
const url = 'http://127.0.0.1:8080/orders'
const token = await client.getAccessToken()

async function time(label, call) {
  for (let i = 0; i < 20_000; i++) await call() // warm-up
  const start = process.hrtime.bigint()
  for (let i = 0; i < calls; i++) await call()
  const perCall = Number(process.hrtime.bigint() - start) / calls / 1000
  console.log(`${label.padEnd(34)} ${perCall.toFixed(2)} µs/call`)
  return perCall
}

const rounds = Number(process.env.ROUNDS ?? 3)
const overheads = []
for (let round = 1; round <= rounds; round++) {
  const plain = await time('plain fetch (same in-process fetch)', () =>
    instant(url, { headers: { authorization: `Bearer ${token}` } }),
  )
  const viaClient = await time('client.fetch', () => client.fetch(url))
  const viaRequest = await time('client.fetch(new Request(...))', () =>
    client.fetch(new Request(url)),
  )
  const plainRequest = await time('plain fetch(new Request(...))', () => {
    const request = new Request(url)
    request.headers.set('authorization', `Bearer ${token}`)
    return instant(request)
  })
  console.log(
    `round ${round}: a Request as input: overhead ${(viaRequest - plainRequest).toFixed(2)} µs/call`,
  )
  overheads.push(viaClient - plain)
  console.log(`round ${round}: overhead ${(viaClient - plain).toFixed(2)} µs/call`)
}
overheads.sort((a, b) => a - b)
console.log(
  `median overhead of client.fetch: ${overheads[Math.floor(rounds / 2)].toFixed(2)} µs/call (${calls} calls a round, node ${process.version})`,
)
