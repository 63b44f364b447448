import { describe, expect, it } from 'vitest'
import type { BatonError } from '../../packages/server/src/core/errors.js'
import {
  generateClientSecret,
  hashClientSecret,
  OAuthClients,
  type ClientCredentials,
} from '../../packages/server/src/core/oauth/clients.js'
import { createMemoryStore } from '../../packages/server/src/stores/memory/index.js'

const envSecret = 'an env secret of some length'

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise
  } catch (error) {
    return (error as BatonError).code
  }
  return undefined
}

function setup() {
  const store = createMemoryStore()
  let now = 0
  let reads = 0
  const counting = {
    listClients: () => {
      reads++
      return store.listClients()
    },
    insertClient: store.insertClient.bind(store),
    deleteClient: store.deleteClient.bind(store),
  }
  const clients = new OAuthClients({
    configured: [
      { id: 'web', secret: null },
      { id: 'backend', secret: envSecret },
    ],
    store: counting,
    maxAge: 5000,
    unknownIdReloadInterval: 1000,
    now: () => now,
  })
  return {
    store,
    clients,
    advance: (ms: number) => (now += ms),
    reads: () => reads,
  }
}

const post = (id: string, secret: string): ClientCredentials => ({
  id,
  secret,
  method: 'client_secret_post',
})
const basic = (id: string, secret: string): ClientCredentials => ({
  id,
  secret,
  method: 'client_secret_basic',
})
const none = (id: string): ClientCredentials => ({ id, secret: null, method: 'none' })

describe('OAuthClients', () => {
  it('authenticates configured clients without reading the store', async () => {
    const { clients, reads } = setup()
    expect(await clients.authenticate(none('web'))).toEqual({
      id: 'web',
      confidential: false,
      source: 'env',
    })
    expect(await clients.authenticate(basic('backend', envSecret))).toMatchObject({
      id: 'backend',
      confidential: true,
    })
    expect(await clients.authenticate(post('backend', envSecret))).toMatchObject({ id: 'backend' })
    expect(reads()).toBe(0)
  })

  it('refuses a wrong secret, a missing one, a secret from a public client, an unknown id', async () => {
    const { clients } = setup()
    expect(await codeOf(clients.authenticate(post('backend', `${envSecret}!`)))).toBe(
      'invalid_client',
    )
    expect(await codeOf(clients.authenticate(none('backend')))).toBe('invalid_client')
    expect(await codeOf(clients.authenticate(post('web', 'anything at all here')))).toBe(
      'invalid_client',
    )
    expect(await codeOf(clients.authenticate(basic('web', '')))).toBe('invalid_client')
    expect(await codeOf(clients.authenticate(none('nobody')))).toBe('invalid_client')
    expect(await codeOf(clients.authenticate(none('not a valid id')))).toBe('invalid_client')
  })

  it('accepts stored clients by the hash of their generated secret', async () => {
    const { store, clients } = setup()
    const secret = generateClientSecret()
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(hashClientSecret(secret)).not.toContain(secret)
    await store.insertClient({ id: 'cli', secretHash: hashClientSecret(secret), createdAt: 1 })
    await store.insertClient({ id: 'spa', secretHash: null, createdAt: 2 })
    expect(await clients.authenticate(basic('cli', secret))).toEqual({
      id: 'cli',
      confidential: true,
      source: 'database',
    })
    expect(await clients.authenticate(none('spa'))).toMatchObject({ confidential: false })
    expect(await codeOf(clients.authenticate(basic('cli', generateClientSecret())))).toBe(
      'invalid_client',
    )
  })

  it('sees a new client at once, at most one store read per interval for unknown ids', async () => {
    const { store, clients, advance, reads } = setup()
    expect(await clients.find('new')).toBeNull()
    expect(reads()).toBe(1)
    await store.insertClient({ id: 'new', secretHash: null, createdAt: 1 })
    // Within the unknown-id interval: no second read, so the new client is not seen yet.
    expect(await clients.find('new')).toBeNull()
    expect(await clients.find('made-up')).toBeNull()
    expect(reads()).toBe(1)
    advance(1000)
    expect(await clients.find('new')).toMatchObject({ id: 'new' })
    expect(reads()).toBe(2)
  })

  it('forgets a removed client within maxAge, and never serves stale data through an outage', async () => {
    const { store, clients, advance, reads } = setup()
    await store.insertClient({ id: 'gone', secretHash: null, createdAt: 1 })
    expect(await clients.find('gone')).not.toBeNull()
    await store.deleteClient('gone')
    advance(4999)
    expect(await clients.find('gone')).not.toBeNull()
    expect(reads()).toBe(1)
    advance(1)
    expect(await clients.find('gone')).toBeNull()
    expect(reads()).toBe(2)

    await store.insertClient({ id: 'kept', secretHash: null, createdAt: 2 })
    advance(5000)
    expect(await clients.find('kept')).not.toBeNull()
    advance(5000)
    await store.close()
    expect(await codeOf(clients.find('kept'))).toBe('store_unavailable')
    // Configured clients need no store.
    expect(await clients.find('web')).not.toBeNull()
  })

  it('shares one read between concurrent lookups', async () => {
    const { store, clients, reads } = setup()
    await store.insertClient({ id: 'a', secretHash: null, createdAt: 1 })
    await Promise.all([clients.find('a'), clients.find('a'), clients.find('b')])
    expect(reads()).toBe(1)
  })

  it('lets a configured client win over a stored one of the same id', async () => {
    const { store, clients } = setup()
    await store.insertClient({ id: 'web', secretHash: hashClientSecret('x'), createdAt: 1 })
    expect(await clients.find('web')).toMatchObject({ confidential: false, source: 'env' })
  })
})
