import { Writable } from 'node:stream'
import { loggerOptions } from '../../packages/server/src/server/app.js'

/** The production logger configuration at `level`, writing into a string the test can search. */
export function captureLogs(level: string): {
  logger: ReturnType<typeof loggerOptions> & { stream: Writable }
  output: () => string
} {
  let output = ''
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      output += chunk.toString()
      done()
    },
  })
  return { logger: { ...loggerOptions(level), stream }, output: () => output }
}
