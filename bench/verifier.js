// @baton-auth/verify against raw node:crypto and jose, in one run: first verification of each token
// (every token new), and repeated verification of one token (the verified-token cache).
import { Buffer } from 'node:buffer'
import console from 'node:console'
import { verify } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import process from 'node:process'
import { pathToFileURL } from 'node:url'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { createJWSSigner } from '../packages/server/dist/core/tokens/jws.js'
import { createVerifier } from '../packages/verify/dist/index.js'
import { parseArgs } from './lib/args.js'
import { accessTokenClaims, audience, benchKey, issuer } from './lib/fixtures.js'

const rawParameters = {
  ES256: { hash: 'sha256', dsaEncoding: 'ieee-p1363' },
  EdDSA: { hash: null },
  RS256: { hash: 'sha256' },
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

/**
 * Times `a` and `b` on the same tokens in alternating blocks of `block` (a first, then b first,
 * and so on), so that the machine's drift, which on these shared machines moves single runs by
 * ±10 %, falls on both alike. Returns ops/s of each.
 */
async function interleaved(tokens, a, b, block = 250) {
  let timeA = 0
  let timeB = 0
  for (let index = 0, turn = 0; index < tokens.length; index += block, turn++) {
    const slice = tokens.slice(index, index + block)
    for (const which of turn % 2 === 0 ? [a, b] : [b, a]) {
      const start = performance.now()
      for (const token of slice) await which.run(token)
      const elapsed = performance.now() - start
      if (which === a) timeA += elapsed
      else timeB += elapsed
    }
  }
  return [tokens.length / (timeA / 1000), tokens.length / (timeB / 1000)]
}

export async function runVerifierBench({ alg = 'ES256', quick = false, log = () => {} } = {}) {
  const key = await benchKey(alg)
  const signer = createJWSSigner(alg, key.kid, key.privateKey)
  const jwks = { keys: [JSON.parse(key.stored.publicJwk)] }
  const count = quick ? 1500 : 6000
  const rounds = quick ? 1 : 3
  const { hash, dsaEncoding } = rawParameters[alg]
  const verifyKey = dsaEncoding ? { key: key.publicKey, dsaEncoding } : { key: key.publicKey }
  const joseKeys = createLocalJWKSet(jwks)
  // Raw: exactly the signature check of each token, its inputs prepared beforehand.
  const rawInputs = new Map()
  const raw = {
    run(token) {
      const [data, signature] = rawInputs.get(token)
      if (!verify(hash, data, verifyKey, signature)) throw new Error('raw verify failed')
    },
  }
  const sign = () => {
    // Flat strings, as tokens arrive in a request header: the signer builds concatenations, whose
    // first scan would otherwise charge a copy of the token to whichever path reads it first.
    const tokens = Array.from({ length: count }, () =>
      Buffer.from(signer.sign('at+jwt', accessTokenClaims()), 'latin1').toString('latin1'),
    )
    for (const token of tokens) {
      const dot = token.lastIndexOf('.')
      rawInputs.set(token, [
        Buffer.from(token.slice(0, dot)),
        Buffer.from(token.slice(dot + 1), 'base64url'),
      ])
    }
    return tokens
  }
  const verifierOn = async (crypto, warmToken) => {
    const verifier = createVerifier({ issuer, audience, jwks, algorithms: [alg], crypto })
    await verifier.verify(warmToken) // imports the key
    return { run: (token) => verifier.verify(token), verifier }
  }

  const ratios = { first: [], firstWeb: [], firstWebConcurrent: [], jose: [], repeated: [] }
  const rates = { raw: [], first: [], firstWeb: [], firstWebConcurrent: [], jose: [], repeated: [] }
  for (let round = 0; round < rounds; round++) {
    log(`  round ${round + 1}/${rounds}: ${count} fresh tokens per comparison ...`)
    const warm = signer.sign('at+jwt', accessTokenClaims())
    const ours = await verifierOn('auto', warm)
    const [rawRate, firstRate] = await interleaved(sign(), raw, ours)
    ratios.first.push(firstRate / rawRate)
    rates.raw.push(rawRate)
    rates.first.push(firstRate)

    const web = await verifierOn('webcrypto', warm)
    const [rawForWeb, webRate] = await interleaved(sign(), raw, web)
    ratios.firstWeb.push(webRate / rawForWeb)
    rates.firstWeb.push(webRate)

    const jose = {
      run: (token) =>
        jwtVerify(token, joseKeys, { issuer, audience, typ: 'at+jwt', algorithms: [alg] }),
    }
    const [rawForJose, joseRate] = await interleaved(sign(), raw, jose)
    ratios.jose.push(joseRate / rawForJose)
    rates.jose.push(joseRate)

    // 32 in flight on WebCrypto (libuv's threads): against raw over the same tokens.
    const concurrent = await verifierOn('webcrypto', warm)
    const tokens = sign()
    const rawStart = performance.now()
    for (const token of tokens) raw.run(token)
    const rawConcurrentBase = tokens.length / ((performance.now() - rawStart) / 1000)
    const concurrentRate = await overTokensConcurrent(
      tokens,
      (token) => concurrent.verifier.verify(token),
      32,
    )
    ratios.firstWebConcurrent.push(concurrentRate / rawConcurrentBase)
    rates.firstWebConcurrent.push(concurrentRate)

    // Repeated: one token, verified again and again (cache hits), against raw on that token.
    const one = tokens[0]
    const repeatedTokens = Array.from({ length: count * 20 }, () => one)
    const repeatedStart = performance.now()
    for (const token of repeatedTokens) await ours.run(token)
    const repeatedRate = repeatedTokens.length / ((performance.now() - repeatedStart) / 1000)
    ratios.repeated.push(repeatedRate / rawRate)
    rates.repeated.push(repeatedRate)
    rawInputs.clear()
    log(' done\n')
  }
  const result = { alg, count, rounds, rates: {}, ratios: {} }
  for (const name of Object.keys(rates)) result.rates[name] = median(rates[name])
  for (const name of Object.keys(ratios)) result.ratios[name] = median(ratios[name])
  result.markdown = verifierMarkdown(result)
  return result
}

const fmt = (value) => Math.round(value).toLocaleString('en-US')
const pct = (ratio) => `${(ratio * 100).toFixed(1)} %`
const times = (value, base) => `${(value / base).toFixed(1)}×`

export function verifierMarkdown({ alg, count, rounds, rates, ratios }) {
  // Both sides are ratios to raw measured on the same tokens, which cancels the drift between them.
  const versusJose = (name) => times(ratios[name], ratios.jose)
  return [
    `### Verifier (\`@baton-auth/verify\`, ${alg}, ${count} fresh tokens per comparison, median of ${rounds} rounds)`,
    '',
    'Each ratio pairs the path with raw `node:crypto` verify on the same tokens, timed in alternating blocks of 250.',
    '',
    '| path | verifications/s | vs raw node:crypto | vs jose.jwtVerify | target |',
    '| --- | ---: | ---: | ---: | --- |',
    `| raw \`node:crypto\` verify (signature only, inputs prepared) | ${fmt(rates.raw)} | baseline | ${times(1, ratios.jose)} | |`,
    `| createVerifier, first verification of each token | ${fmt(rates.first)} | ${pct(ratios.first)} | ${versusJose('first')} | ≥ 85 % of raw: ${ratios.first >= 0.85 ? 'met' : 'missed'} |`,
    `| createVerifier, repeated token (cache hit) | ${fmt(rates.repeated)} | ${ratios.repeated.toFixed(0)}× | ${versusJose('repeated')} | ≥ 20× raw: ${ratios.repeated >= 20 ? 'met' : 'missed'} |`,
    `| createVerifier on WebCrypto (edge path), one at a time | ${fmt(rates.firstWeb)} | ${pct(ratios.firstWeb)} | ${versusJose('firstWeb')} | |`,
    `| createVerifier on WebCrypto, 32 in flight | ${fmt(rates.firstWebConcurrent)} | ${pct(ratios.firstWebConcurrent)} | ${versusJose('firstWebConcurrent')} | |`,
    `| jose.jwtVerify (local JWK set) | ${fmt(rates.jose)} | ${pct(ratios.jose)} | baseline | |`,
    '',
  ].join('\n')
}

// Standalone: node bench/verifier.js [--alg ...] [--quick]
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const options = parseArgs()
  const result = await runVerifierBench({ ...options, log: (text) => process.stdout.write(text) })
  console.log(`\n${result.markdown}`)
}
