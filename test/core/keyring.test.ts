import { calculateJwkThumbprint, type JWK } from 'jose'
import { describe, expect, it, vi } from 'vitest'
import {
  KeyRing,
  addNextKey,
  generateStoredKey,
} from '../../packages/server/src/core/keys/keyring.js'
import { AccessTokens } from '../../packages/server/src/core/tokens/access-token.js'
import { createMemoryStore } from '../../packages/server/src/stores/memory/index.js'
import { ManualClock } from '../helpers/clock.js'

const subject = { userId: 'u1', sessionId: 's1', scope: '', roles: ['user'], clientId: null }

function ring(
  store = createMemoryStore(),
  clock = new ManualClock(),
  alg: 'ES256' | 'EdDSA' | 'RS256' = 'ES256',
) {
  return { store, clock, keyring: new KeyRing({ store, clock, alg, retiredKeyLifetime: 3600 }) }
}

function accessTokens(keyring: KeyRing, clock: ManualClock) {
  return new AccessTokens({
    keyring,
    clock,
    issuer: 'https://auth.example',
    audience: 'api',
    ttl: 900,
  })
}

describe('KeyRing', () => {
  it('generates one current key on first start, with an RFC 7638 thumbprint as kid, and keeps it', async () => {
    const { store, clock, keyring } = ring()
    await keyring.init()
    const [stored] = await store.listKeys()
    expect(stored).toMatchObject({ alg: 'ES256', state: 'current' })
    const publicJwk = JSON.parse(stored!.publicJwk) as JWK
    expect(stored!.kid).toBe(await calculateJwkThumbprint(publicJwk, 'sha256'))
    expect(keyring.jwks().keys).toEqual([
      expect.objectContaining({ kid: stored!.kid, alg: 'ES256', use: 'sig' }),
    ])

    const again = new KeyRing({ store, clock, alg: 'ES256', retiredKeyLifetime: 3600 })
    await again.init()
    expect(await store.listKeys()).toHaveLength(1)
    expect(again.signer().kid).toBe(stored!.kid)
  })

  it('switches algorithm by retiring the old key, which keeps verifying until its tokens expire', async () => {
    const { store, clock, keyring } = ring()
    await keyring.init()
    const oldToken = accessTokens(keyring, clock).issue(subject).token

    const switched = new KeyRing({ store, clock, alg: 'EdDSA', retiredKeyLifetime: 3600 })
    await switched.init()
    expect(switched.signer().alg).toBe('EdDSA')
    const states = (await store.listKeys()).map((key) => `${key.alg}:${key.state}`).sort()
    expect(states).toEqual(['ES256:retired', 'EdDSA:current'])
    expect(
      switched
        .jwks()
        .keys.map((key) => key.alg)
        .sort(),
    ).toEqual(['ES256', 'EdDSA'])
    await expect(accessTokens(switched, clock).verify(oldToken)).resolves.toMatchObject({
      sub: 'u1',
    })

    clock.advance(3601)
    await switched.reload()
    expect(switched.jwks().keys.map((key) => key.alg)).toEqual(['EdDSA'])
    expect(await store.listKeys()).toHaveLength(1)
  })

  it('publishes a next key without signing with it', async () => {
    const { store, clock, keyring } = ring()
    await keyring.init()
    const current = keyring.signer().kid
    const next = await generateStoredKey('ES256', 'next', clock.now())
    await store.insertKey(next)
    await keyring.reload()
    expect(
      keyring
        .jwks()
        .keys.map((key) => key.kid)
        .sort(),
    ).toEqual([current, next.kid].sort())
    expect(keyring.signer().kid).toBe(current)
    expect(keyring.verifier(next.kid)).toBeDefined()
  })

  it('leaves exactly one current key when instances start together on an empty store', async () => {
    const { store, clock } = ring()
    const rings = Array.from(
      { length: 4 },
      () => new KeyRing({ store, clock, alg: 'ES256', retiredKeyLifetime: 3600 }),
    )
    await Promise.all(rings.map((keyring) => keyring.init()))
    for (const keyring of rings) await keyring.reload()
    const keys = await store.listKeys()
    const current = keys.filter((key) => key.state === 'current')
    expect(current).toHaveLength(1)
    for (const keyring of rings) expect(keyring.signer().kid).toBe(current[0]?.kid)
    // The keys that lost still verify what their instance signed before it learnt.
    for (const key of keys) expect(rings[0]?.verifier(key.kid)).toBeDefined()
  })

  it('learns a key another instance added when it meets its kid, at most once per interval', async () => {
    const { store, clock, keyring } = ring()
    await keyring.init()
    const other = new KeyRing({ store, clock, alg: 'ES256', retiredKeyLifetime: 3600 })
    await other.init()
    const added = await generateStoredKey('ES256', 'next', clock.now())
    await store.insertKey(added)
    const listKeys = vi.spyOn(store, 'listKeys')
    expect(keyring.verifier(added.kid)).toBeUndefined()
    expect(await keyring.reloadForUnknownKid(added.kid)).toBeDefined()
    expect(await keyring.reloadForUnknownKid('made-up')).toBeUndefined()
    expect(await keyring.reloadForUnknownKid('made-up-2')).toBeUndefined()
    expect(listKeys).toHaveBeenCalledTimes(1)
    clock.advance(11)
    await keyring.reloadForUnknownKid('made-up-3')
    expect(listKeys).toHaveBeenCalledTimes(2)
  })

  it('never publishes private key material', async () => {
    for (const alg of ['ES256', 'EdDSA', 'RS256'] as const) {
      const { keyring } = ring(undefined, undefined, alg)
      await keyring.init()
      for (const key of keyring.jwks().keys) {
        for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi'])
          expect(key).not.toHaveProperty(member)
      }
    }
  })
})

describe('verified-token cache', () => {
  it('verifies a token once and serves repeats from the cache until exp', async () => {
    const { clock, keyring } = ring()
    await keyring.init()
    const tokens = accessTokens(keyring, clock)
    const { token } = tokens.issue(subject)
    const verifier = vi.spyOn(keyring, 'verifier')
    await tokens.verify(token)
    await tokens.verify(token)
    await tokens.verify(token)
    expect(verifier).toHaveBeenCalledTimes(1)
    clock.advance(900)
    await expect(tokens.verify(token)).rejects.toMatchObject({ code: 'access_token_expired' })
  })

  it('is bounded', async () => {
    const { clock, keyring } = ring()
    await keyring.init()
    const tokens = new AccessTokens({
      keyring,
      clock,
      issuer: 'https://auth.example',
      audience: 'api',
      ttl: 900,
      cacheSize: 3,
    })
    const issued = Array.from({ length: 5 }, () => tokens.issue(subject).token)
    for (const token of issued) await tokens.verify(token)
    const verifier = vi.spyOn(keyring, 'verifier')
    await tokens.verify(issued[4]!) // recent: cached
    expect(verifier).toHaveBeenCalledTimes(0)
    await tokens.verify(issued[0]!) // evicted: verified again
    expect(verifier).toHaveBeenCalledTimes(1)
  })
})

describe('verified-token cache lookups', () => {
  it('hits only for the identical token, not for another with the same signature', async () => {
    const { clock, keyring } = ring()
    await keyring.init()
    const tokens = accessTokens(keyring, clock)
    const { token } = tokens.issue(subject)
    await tokens.verify(token)
    const [header, payload, signature] = token.split('.') as [string, string, string]
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<
      string,
      unknown
    >
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: 'admin' })).toString('base64url')}.${signature}`
    await expect(tokens.verify(forged)).rejects.toMatchObject({ code: 'invalid_token' })
    await expect(tokens.verify(token)).resolves.toMatchObject({ sub: 'u1' })
  })
})

describe('KeyRing rotation through a next key', () => {
  it('publishes the next key at once, signs with it from its activation, retires the old one', async () => {
    const { store, clock, keyring } = ring()
    await keyring.init()
    const old = keyring.signer().kid
    const next = await addNextKey(store, 'ES256', clock.now(), clock.now() + 300_000)
    await keyring.reload()
    expect(
      keyring
        .jwks()
        .keys.map((key) => key.kid)
        .sort(),
    ).toEqual([old, next.kid].sort())
    expect(keyring.signer().kid).toBe(old)
    expect(keyring.nextActivationAt()).toBe(clock.now() + 300_000)

    clock.advance(299)
    await keyring.reload()
    expect(keyring.signer().kid).toBe(old)
    clock.advance(1)
    await keyring.reload()
    expect(keyring.signer().kid).toBe(next.kid)
    expect(keyring.nextActivationAt()).toBeUndefined()
    const states = Object.fromEntries((await store.listKeys()).map((key) => [key.kid, key]))
    expect(states[next.kid]).toMatchObject({ state: 'current', activatedAt: next.activatedAt })
    expect(states[old]).toMatchObject({
      state: 'retired',
      retiredAt: next.activatedAt,
      removeAfter: (next.activatedAt ?? 0) + 3600 * 1000,
    })
    // The retired key still verifies and is still published until removeAfter...
    expect(keyring.verifier(old)).toBeDefined()
    clock.advance(3599.999)
    expect(keyring.jwks().keys.map((key) => key.kid)).toContain(old)
    // ...then leaves the JWKS even before the next reload, and the store at the reload.
    clock.advance(0.001)
    expect(keyring.jwks().keys.map((key) => key.kid)).toEqual([next.kid])
    await keyring.reload()
    expect((await store.listKeys()).map((key) => key.kid)).toEqual([next.kid])
  })

  it('instances promoting the same next key at once agree on the result', async () => {
    const store = createMemoryStore()
    const clock = new ManualClock()
    const a = new KeyRing({ store, clock, alg: 'ES256', retiredKeyLifetime: 3600 })
    const b = new KeyRing({ store, clock, alg: 'ES256', retiredKeyLifetime: 3600 })
    await a.init()
    await b.init()
    const next = await addNextKey(store, 'ES256', clock.now(), clock.now() + 1000)
    clock.advance(5)
    await Promise.all([a.reload(), b.reload()])
    expect(a.signer().kid).toBe(next.kid)
    expect(b.signer().kid).toBe(next.kid)
    const stored = await store.listKeys()
    expect(stored.filter((key) => key.state === 'current').map((key) => key.kid)).toEqual([
      next.kid,
    ])
  })
})

describe('the refresh-token secret ring beside the published ring', () => {
  function rings(store = createMemoryStore(), clock = new ManualClock()) {
    return {
      store,
      clock,
      published: new KeyRing({ store, clock, alg: 'ES256', retiredKeyLifetime: 3600 }),
      secret: new KeyRing({ store, clock, alg: 'HS256', retiredKeyLifetime: 7200 }),
    }
  }

  it('keeps one current key of each kind in one store, and each ring sees only its own', async () => {
    const { store, published, secret } = rings()
    await published.init()
    await secret.init()
    const stored = await store.listKeys()
    expect(stored.map((key) => `${key.alg}:${key.state}`).sort()).toEqual([
      'ES256:current',
      'HS256:current',
    ])
    const hmacKey = stored.find((key) => key.alg === 'HS256')!
    // A secret: 32 random bytes, a random kid (not a hash of the secret), nothing public.
    expect(
      Buffer.from((JSON.parse(hmacKey.privateJwk) as { k: string }).k, 'base64url'),
    ).toHaveLength(32)
    expect(JSON.parse(hmacKey.privateJwk)).toMatchObject({ kty: 'oct' })
    expect(hmacKey.publicJwk).toBe('')
    expect(secret.signer()).toMatchObject({ alg: 'HS256', kid: hmacKey.kid })
    expect(published.signer().alg).toBe('ES256')
    expect(published.verifier(hmacKey.kid)).toBeUndefined()
    expect(secret.verifier(published.signer().kid)).toBeUndefined()
    expect(published.jwks().keys.map((key) => key.kid)).toEqual([published.signer().kid])
    expect(secret.jwks().keys).toEqual([])

    // Restarting either ring, or switching the signing algorithm, leaves the other kind alone.
    await rings(store).secret.init()
    const switched = new KeyRing({
      store,
      clock: new ManualClock(),
      alg: 'EdDSA',
      retiredKeyLifetime: 3600,
    })
    await switched.init()
    const after = await store.listKeys()
    expect(after.find((key) => key.kid === hmacKey.kid)?.state).toBe('current')
    expect(after.filter((key) => key.alg === 'HS256')).toHaveLength(1)
  })

  it('signs deterministically, and a token signed under one secret fails under another', async () => {
    const { secret } = rings()
    await secret.init()
    const signer = secret.signer()
    const token = signer.sign('rt+jwt', { sub: 'u1', jti: 'j1' })
    expect(signer.sign('rt+jwt', { sub: 'u1', jti: 'j1' })).toBe(token)
    const [header, payload, signature] = token.split('.') as [string, string, string]
    const verifier = secret.verifier(signer.kid)!
    expect(
      verifier.verifySignature(`${header}.${payload}`, Buffer.from(signature, 'base64url')),
    ).toBe(true)
    const other = rings().secret
    await other.init()
    const foreign = other.signer().sign('rt+jwt', { sub: 'u1', jti: 'j1' }).split('.')[2]!
    expect(
      verifier.verifySignature(`${header}.${payload}`, Buffer.from(foreign, 'base64url')),
    ).toBe(false)
  })

  it('rotates through a next secret, which the old one outlives by its lifetime', async () => {
    const { store, clock, published, secret } = rings()
    await published.init()
    await secret.init()
    const old = secret.signer().kid
    const signingKid = published.signer().kid
    const next = await addNextKey(store, 'HS256', clock.now(), clock.now() + 60_000)
    await Promise.all([published.reload(), secret.reload()])
    expect(secret.signer().kid).toBe(old)
    expect(secret.verifier(next.kid)).toBeDefined()
    expect(secret.nextActivationAt()).toBe(next.activatedAt)
    expect(published.nextActivationAt()).toBeUndefined()
    clock.advance(60)
    await Promise.all([published.reload(), secret.reload()])
    expect(secret.signer().kid).toBe(next.kid)
    expect(published.signer().kid).toBe(signingKid)
    expect(secret.verifier(old)).toBeDefined()
    clock.advance(7200)
    await secret.reload()
    expect(secret.verifier(old)).toBeUndefined()
    expect((await store.listKeys()).map((key) => key.kid).sort()).toEqual(
      [next.kid, signingKid].sort(),
    )
  })
})
