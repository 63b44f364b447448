// Command-line options shared by every benchmark entry point.
import process from 'node:process'

const algorithms = ['ES256', 'EdDSA', 'RS256']

const usage = `usage: node bench/run.js [--alg ES256|EdDSA|RS256] [--duration <seconds>] [--quick] [--profile]
  --alg        signing algorithm for every measurement (default ES256)
  --duration   seconds per measured HTTP run (default 10; 2 with --quick)
  --quick      short smoke run: every measurement shortened
  --profile    run the Baton server child under --cpu-prof and print where its time went
  --in-flight  refresh-inprocess.js only: refreshes run at once (default 1; a divisor of 32)
  --session-store-url  refresh-inprocess.js only: sessions in this store (redis://…, postgres://…)
               instead of the SQLite database`

/**
 * Parses argv into { alg, httpSeconds, httpWarmupSeconds, microSeconds, microWarmupSeconds,
 * quick, profile, inFlight, sessionStoreUrl }. Exits with the usage text on anything it does not understand.
 */
export function parseArgs(argv = process.argv.slice(2)) {
  const options = {
    alg: 'ES256',
    duration: undefined,
    quick: false,
    profile: false,
    inFlight: 1,
    sessionStoreUrl: undefined,
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const [name, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg]
    const value = () => {
      const v = inline ?? argv[++i]
      if (v === undefined) fail(`${name} needs a value`)
      return v
    }
    switch (name) {
      case '--alg': {
        const v = value()
        const alg = algorithms.find((a) => a.toLowerCase() === v.toLowerCase())
        if (!alg) fail(`--alg must be one of ${algorithms.join(', ')}`)
        options.alg = alg
        break
      }
      case '--duration': {
        const v = Number(value())
        if (!Number.isFinite(v) || v <= 0) fail('--duration must be a positive number of seconds')
        options.duration = v
        break
      }
      case '--in-flight': {
        const v = Number(value())
        if (!Number.isInteger(v) || v < 1 || 32 % v !== 0) fail('--in-flight must divide 32')
        options.inFlight = v
        break
      }
      case '--session-store-url':
        options.sessionStoreUrl = value()
        break
      case '--quick':
        options.quick = true
        break
      case '--profile':
        options.profile = true
        break
      case '-h':
      case '--help':
        process.stdout.write(`${usage}\n`)
        process.exit(0)
        break
      default:
        fail(`unknown option ${arg}`)
    }
  }
  return {
    alg: options.alg,
    quick: options.quick,
    profile: options.profile,
    inFlight: options.inFlight,
    sessionStoreUrl: options.sessionStoreUrl,
    httpSeconds: options.duration ?? (options.quick ? 2 : 10),
    httpWarmupSeconds: options.quick ? 0.5 : 2,
    microSeconds: options.quick ? 0.4 : 2.5,
    microWarmupSeconds: options.quick ? 0.1 : 0.5,
    argv,
  }
}

function fail(message) {
  process.stderr.write(`bench: ${message}\n${usage}\n`)
  process.exit(2)
}
