// Token crypto: raw node:crypto (the ceiling), our compact-JWS layer and AccessTokens, and jose.
import { Buffer } from 'node:buffer'
import process from 'node:process'
import console from 'node:console'
import { sign, verify } from 'node:crypto'
import { pathToFileURL } from 'node:url'
import { jwtVerify, SignJWT } from 'jose'
import { systemClock } from '../packages/server/dist/core/clock.js'
import { KeyRing } from '../packages/server/dist/core/keys/keyring.js'
import { AccessTokens } from '../packages/server/dist/core/tokens/access-token.js'
import {
  createJWSSigner,
  createJWSVerifierKey,
  decodeJWS,
} from '../packages/server/dist/core/tokens/jws.js'
import { createMemoryStore } from '../packages/server/dist/stores/memory/index.js'
import { parseArgs } from './lib/args.js'
import { accessTokenClaims, audience, benchKey, issuer } from './lib/fixtures.js'
import { startNoiseProbe } from './lib/noise.js'
import { measureAsync, measureSync } from './lib/timing.js'

/** How each algorithm calls node:crypto: the same parameters our JWS layer binds. */
const rawParameters = {
  ES256: { hash: 'sha256', dsaEncoding: 'ieee-p1363' },
  EdDSA: { hash: null },
  RS256: { hash: 'sha256' },
}

/**
 * Returns { alg, signingInputBytes, tokenBytes, results: { rawSign, rawVerify, oursSign, oursIssue,
 * oursVerifyKey, oursInspect, joseSign, joseVerify } }, each { opsPerSec, ops, seconds }.
 */
export async function runCryptoBench({ alg, microSeconds, microWarmupSeconds, log = () => {} }) {
  const timing = { seconds: microSeconds, warmupSeconds: microWarmupSeconds }
  const key = await benchKey(alg)
  const { hash, dsaEncoding } = rawParameters[alg]
  const signKey = dsaEncoding ? { key: key.privateKey, dsaEncoding } : { key: key.privateKey }
  const verifyKey = dsaEncoding ? { key: key.publicKey, dsaEncoding } : { key: key.publicKey }

  // Our layer, and the key ring / AccessTokens over the same key, as the server wires them.
  const signer = createJWSSigner(alg, key.kid, key.privateKey)
  const verifierKey = createJWSVerifierKey(alg, key.kid, key.publicKey)
  const store = createMemoryStore()
  await store.insertKey(key.stored)
  const keyring = new KeyRing({ store, clock: systemClock, alg, retiredKeyLifetime: 3600 })
  await keyring.init()
  if (keyring.signer().kid !== key.kid) throw new Error('the key ring did not load the bench key')
  const accessTokens = new AccessTokens({ keyring, clock: systemClock, issuer, audience, ttl: 900 })

  // One realistic access token: its signing input is exactly what the raw calls sign.
  const claims = accessTokenClaims()
  const token = signer.sign('at+jwt', claims)
  const decoded = decodeJWS(token)
  const data = Buffer.from(decoded.signingInput)
  const rawSignature = sign(hash, data, signKey)
  if (!verify(hash, data, verifyKey, rawSignature)) throw new Error('raw signature does not verify')
  const inspected = await accessTokens.inspect(token)
  if (inspected.expired || inspected.claims.sub !== claims.sub)
    throw new Error('inspect() refused our token')
  const joseToken = await joseSign(alg, key, claims)
  await joseVerify(alg, key, joseToken)

  const results = {}
  const step = async (name, label, run) => {
    log(`  ${label} ...`)
    const probe = startNoiseProbe()
    results[name] = await run()
    results[name].otherLoad = probe.stop()
    log(` ${Math.round(results[name].opsPerSec).toLocaleString('en-US')} ops/s\n`)
  }
  await step('rawSign', `node:crypto sign ${alg}`, () =>
    measureSync(() => sign(hash, data, signKey), timing),
  )
  await step('oursSign', 'createJWSSigner().sign', () =>
    measureSync(() => signer.sign('at+jwt', claims), timing),
  )
  await step('oursIssue', 'AccessTokens.issue', () =>
    measureSync(
      () =>
        accessTokens.issue({
          userId: claims.sub,
          sessionId: claims.sid,
          scope: claims.scope,
          roles: claims.roles,
          clientId: null,
        }),
      timing,
    ),
  )
  await step('rawVerify', `node:crypto verify ${alg}`, () =>
    measureSync(() => verify(hash, data, verifyKey, rawSignature), timing),
  )
  await step('oursVerifyKey', 'JWS verifier key .verifySignature', () =>
    measureSync(() => verifierKey.verifySignature(decoded.signingInput, decoded.signature), timing),
  )
  await step('oursInspect', 'AccessTokens.inspect (full path, no cache)', () =>
    measureAsync(() => accessTokens.inspect(token), timing),
  )
  await step('joseSign', 'jose SignJWT', () =>
    measureAsync(() => joseSign(alg, key, claims), timing),
  )
  await step('joseVerify', 'jose jwtVerify', () =>
    measureAsync(() => joseVerify(alg, key, joseToken), timing),
  )
  await store.close()
  return { alg, signingInputBytes: data.length, tokenBytes: token.length, results }
}

function joseSign(alg, key, claims) {
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg, kid: key.kid, typ: 'at+jwt' })
    .sign(key.privateKey)
}

function joseVerify(alg, key, token) {
  return jwtVerify(token, key.publicKey, { issuer, audience, typ: 'at+jwt', algorithms: [alg] })
}

// Standalone: node bench/crypto.js [--alg ...] [--quick]
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const options = parseArgs()
  const out = await runCryptoBench({ ...options, log: (text) => process.stdout.write(text) })
  console.log(`signing input ${out.signingInputBytes} bytes, token ${out.tokenBytes} bytes`)
}
