import { readFileSync } from 'node:fs'
import { BatonError } from '../errors.js'

export const minPasswordLength = 8
export const maxPasswordLength = 128

let commonPasswords: Set<string> | undefined

/** The shipped list of the most common passwords (see assets/README.md), loaded once. */
function loadCommonPasswords(): Set<string> {
  // src/core/passwords and dist/core/passwords sit at the same depth below the package root.
  const url = new URL('../../../assets/common-passwords.txt', import.meta.url)
  const lines = readFileSync(url, 'utf8').split('\n')
  return new Set(lines.map((line) => line.trim().toLowerCase()).filter((line) => line !== ''))
}

export function isCommonPassword(password: string): boolean {
  commonPasswords ??= loadCommonPasswords()
  return commonPasswords.has(password.toLowerCase())
}

/** Length in characters as a person counts them (code points), not UTF-16 units. */
export function checkNewPassword(password: string): void {
  const length = [...password].length
  if (length < minPasswordLength || length > maxPasswordLength) {
    throw new BatonError(
      'invalid_request',
      `password must be ${minPasswordLength} to ${maxPasswordLength} characters long`,
    )
  }
  if (isCommonPassword(password)) {
    throw new BatonError(
      'weak_password',
      'password is one of the most commonly used passwords; choose another',
    )
  }
}

/** Preloads the list so the first signup does not pay for it. */
export function warmPasswordPolicy(): void {
  commonPasswords ??= loadCommonPasswords()
}
