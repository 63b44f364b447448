import { createInterface } from 'node:readline'
import { Writable } from 'node:stream'
import { CommandError } from './output.js'

/**
 * A new password, never from the command line (argv is visible to every user of the machine,
 * in `ps` and in shell history): typed at a hidden prompt, twice, on a terminal; otherwise
 * the first line of standard input (`printf '%s\n' "$PASSWORD" | baton users create …`).
 */
export async function readNewPassword(): Promise<string> {
  if (process.stdin.isTTY !== true) return firstLineOfStdin()
  const first = await hiddenPrompt('Password: ')
  const second = await hiddenPrompt('Password again: ')
  if (first !== second) throw new CommandError('the two passwords differ; nothing was changed')
  return first
}

async function firstLineOfStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  const line = Buffer.concat(chunks).toString('utf8').split(/\r?\n/, 1)[0] ?? ''
  if (line === '') {
    throw new CommandError('no password on standard input (pipe one in, or run on a terminal)')
  }
  return line
}

function hiddenPrompt(question: string): Promise<string> {
  let muted = false
  const output = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (!muted) process.stderr.write(chunk)
      done()
    },
  })
  const lines = createInterface({ input: process.stdin, output, terminal: true })
  return new Promise((resolve, reject) => {
    let answered = false
    // Ctrl-C and Ctrl-D give up, with the usual message and exit status 1.
    lines.on('SIGINT', () => lines.close())
    lines.on('close', () => {
      if (answered) return
      process.stderr.write('\n')
      reject(new CommandError('no password given; nothing was changed'))
    })
    lines.question(question, (answer) => {
      answered = true
      lines.close()
      process.stderr.write('\n')
      resolve(answer)
    })
    muted = true
  })
}
