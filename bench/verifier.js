// baton/verify against raw node:crypto and jose, in one run: first verification of each token
// (every token new), and repeated verification of one token (the verified-token cache).
import { Buffer } from 'node:buffer'
import console from 'node:console'
import { verify } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import process from 'node:process'
import { pathToFileURL } from 'node:url'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { createJWSSigner } from '../dist/core/tokens/jws.js'
import { createVerifier } from '../dist/verify/index.js'
import { parseArgs } from './lib/args.js'
import { accessTokenClaims, audience, benchKey, issuer } from './lib/fixtures.js'

const rawParameters = {
  ES256: { hash: 'sha256', dsaEncoding: 'ieee-p1363' },
  EdDSA: { hash: null },
  RS256: { hash: 'sha256' },
}

/** ops/s of `fn` over every token once, awaited one at a time. */
async function overTokens(tokens, fn) {
  const start = performance.now()
  for (const token of tokens) await fn(token)
  return tokens.length / ((performance.now() - start) / 1000)
}

function overTokensSync(inputs, fn) {
  const start = performance.now()
  for (const input of inputs) fn(input)
  return inputs.length / ((performance.now() - start) / 1000)
}

/** ops/s with `concurrency` verifications in flight (WebCrypto runs them on libuv's threads). */
async function overTokensConcurrent(tokens, fn, concurrency) {
  const start = performance.now()
  for (let index = 0; index < tokens.length; index += concurrency) {
    await Promise.all(tokens.slice(index, index + concurrency).map(fn))
  }
  return tokens.length / ((performance.now() - start) / 1000)
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

export async function runVerifierBench({ alg = 'ES256', quick = false, log = () => {} } = {}) {
  const key = await benchKey(alg)
  const signer = createJWSSigner(alg, key.kid, key.privateKey)
  const jwks = { keys: [JSON.parse(key.stored.publicJwk)] }
  const count = quick ? 1500 : 6000
  const rounds = quick ? 1 : 3
  const { hash, dsaEncoding } = rawParameters[alg]
  const verifyKey = dsaEncoding ? { key: key.publicKey, dsaEncoding } : { key: key.publicKey }
  const joseKeys = createLocalJWKSet(jwks)

  const samples = {
    raw: [],
    first: [],
    firstWeb: [],
    firstWebConcurrent: [],
    jose: [],
    repeated: [],
    rawAgain: [],
  }
  for (let round = 0; round < rounds; round++) {
    log(`  round ${round + 1}/${rounds}: signing ${count} tokens ...`)
    const tokens = Array.from({ length: count }, () => signer.sign('at+jwt', accessTokenClaims()))
    // Raw: exactly the signature check of each token, inputs prepared outside the loop.
    const rawInputs = tokens.map((token) => {
      const dot = token.lastIndexOf('.')
      return [Buffer.from(token.slice(0, dot)), Buffer.from(token.slice(dot + 1), 'base64url')]
    })
    samples.raw.push(
      overTokensSync(rawInputs, ([data, signature]) => verify(hash, data, verifyKey, signature)),
    )
    const ours = createVerifier({ issuer, audience, jwks, algorithms: [alg] })
    await ours.verify(tokens[0]) // imports the key
    samples.first.push(await overTokens(tokens, (token) => ours.verify(token)))
    const web = createVerifier({ issuer, audience, jwks, algorithms: [alg], crypto: 'webcrypto' })
    await web.verify(tokens[0])
    samples.firstWeb.push(await overTokens(tokens, (token) => web.verify(token)))
    const webConcurrent = createVerifier({
      issuer,
      audience,
      jwks,
      algorithms: [alg],
      crypto: 'webcrypto',
    })
    await webConcurrent.verify(tokens[0])
    samples.firstWebConcurrent.push(
      await overTokensConcurrent(tokens, (token) => webConcurrent.verify(token), 32),
    )
    samples.jose.push(
      await overTokens(tokens, (token) =>
        jwtVerify(token, joseKeys, { issuer, audience, typ: 'at+jwt', algorithms: [alg] }),
      ),
    )
    const one = tokens[0]
    const repeated = Array.from({ length: count * 20 }, () => one)
    samples.repeated.push(await overTokens(repeated, (token) => ours.verify(token)))
    samples.rawAgain.push(
      overTokensSync(rawInputs, ([data, signature]) => verify(hash, data, verifyKey, signature)),
    )
    log(' done\n')
  }
  // Raw is measured before and after the others in each round; its median over both is the base.
  const raw = median([...samples.raw, ...samples.rawAgain])
  const result = {
    alg,
    count,
    rounds,
    raw,
    first: median(samples.first),
    firstWeb: median(samples.firstWeb),
    firstWebConcurrent: median(samples.firstWebConcurrent),
    jose: median(samples.jose),
    repeated: median(samples.repeated),
  }
  result.markdown = verifierMarkdown(result)
  return result
}

const fmt = (value) => Math.round(value).toLocaleString('en-US')
const pct = (value, base) => `${((value / base) * 100).toFixed(1)} %`
const times = (value, base) => `${(value / base).toFixed(1)}×`

export function verifierMarkdown(r) {
  return [
    `### Verifier (\`baton/verify\`, ${r.alg}, ${r.count} distinct tokens per round, median of ${r.rounds} rounds)`,
    '',
    '| path | verifications/s | vs raw node:crypto | vs jose.jwtVerify | target |',
    '| --- | ---: | ---: | ---: | --- |',
    `| raw \`node:crypto\` verify (signature only) | ${fmt(r.raw)} | baseline | ${times(r.raw, r.jose)} | |`,
    `| createVerifier, first verification of each token | ${fmt(r.first)} | ${pct(r.first, r.raw)} | ${times(r.first, r.jose)} | ≥ 85 % of raw: ${r.first / r.raw >= 0.85 ? 'met' : 'missed'} |`,
    `| createVerifier, repeated token (cache hit) | ${fmt(r.repeated)} | ${times(r.repeated, r.raw)} | ${times(r.repeated, r.jose)} | ≥ 20× raw: ${r.repeated / r.raw >= 20 ? 'met' : 'missed'} |`,
    `| createVerifier on WebCrypto (edge path), one at a time | ${fmt(r.firstWeb)} | ${pct(r.firstWeb, r.raw)} | ${times(r.firstWeb, r.jose)} | |`,
    `| createVerifier on WebCrypto, 32 in flight | ${fmt(r.firstWebConcurrent)} | ${pct(r.firstWebConcurrent, r.raw)} | ${times(r.firstWebConcurrent, r.jose)} | |`,
    `| jose.jwtVerify (local JWK set) | ${fmt(r.jose)} | ${pct(r.jose, r.raw)} | baseline | |`,
    '',
  ].join('\n')
}

// Standalone: node bench/verifier.js [--alg ...] [--quick]
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const options = parseArgs()
  const result = await runVerifierBench({ ...options, log: (text) => process.stdout.write(text) })
  console.log(`\n${result.markdown}`)
}
