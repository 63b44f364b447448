import type { ScopeDefinition } from '../config/config.js'
import { BatonError } from '../errors.js'

// RFC 6749 §3.3: scope = scope-token *( SP scope-token ), scope-token = 1*NQCHAR.
const scopeTokenPattern = /^[\x21\x23-\x5B\x5D-\x7E]+$/

/**
 * Which scopes a user may hold (`BATON_SCOPES`): those open to everyone plus those of any of the
 * user's roles. Scopes are space-separated strings on the wire and in sessions; the order is the
 * one the client asked for.
 */
export class ScopePolicy {
  readonly #definitions: ReadonlyMap<string, ScopeDefinition>

  constructor(definitions: readonly ScopeDefinition[]) {
    this.#definitions = new Map(definitions.map((definition) => [definition.name, definition]))
  }

  /** Every configured scope, for `scopes_supported`. */
  get supported(): string[] {
    return [...this.#definitions.keys()]
  }

  /**
   * The password grant: the requested scopes when the user may have every one of them, else
   * `invalid_scope`. Nothing requested grants nothing (an empty scope), never a default set.
   */
  grant(requested: string | undefined, roles: readonly string[]): string {
    const names = this.known(requested)
    for (const name of names) {
      const definition = this.#definitions.get(name)
      if (definition === undefined || !allows(definition, roles)) {
        throw invalidScope(`${quote(name)} is not available to this user`)
      }
    }
    return names.join(' ')
  }

  /**
   * The refresh grant, before anything changes: the requested scopes must lie within the
   * original grant (RFC 6749 §6); null when the client asked for no particular scope.
   */
  narrow(requested: string | undefined, granted: string): string[] | null {
    if (requested === undefined || requested === '') return null
    const within = new Set(split(granted))
    const names = this.parse(requested)
    const wider = names.find((name) => !within.has(name))
    if (wider !== undefined) throw invalidScope(`${quote(wider)} was not granted to this session`)
    return names
  }

  /**
   * An access token's scope: the session's grant, or the narrowed request, minus what the user
   * may no longer have (a role taken away, a scope no longer configured).
   */
  effective(granted: string, narrowed: readonly string[] | null, roles: readonly string[]): string {
    if (granted === '') return ''
    const within = new Set(split(granted))
    return (narrowed ?? [...within])
      .filter((name) => {
        const definition = this.#definitions.get(name)
        return within.has(name) && definition !== undefined && allows(definition, roles)
      })
      .join(' ')
  }

  /**
   * What can be judged of a requested scope without knowing the user: its syntax, and that every
   * name is one of `BATON_SCOPES`. Sign-in checks this before the password (no argon2 hash, no
   * failed attempt counted for a request that could never succeed); whether the user's roles
   * allow it waits for the user (`grant`). The scope tokens, without repeats.
   */
  known(requested: string | undefined): string[] {
    const names = this.parse(requested)
    const unknown = names.find((name) => !this.#definitions.has(name))
    if (unknown !== undefined) throw invalidScope(`${quote(unknown)} is not a scope of this server`)
    return names
  }

  /** The scope tokens of a `scope` parameter, without repeats; `invalid_scope` when malformed. */
  parse(requested: string | undefined): string[] {
    if (requested === undefined) return []
    const names = split(requested)
    if (names.some((name) => !scopeTokenPattern.test(name))) {
      throw invalidScope('The scope parameter is malformed (RFC 6749, section 3.3).')
    }
    return [...new Set(names)]
  }
}

function allows(definition: ScopeDefinition, roles: readonly string[]): boolean {
  return definition.roles === null || definition.roles.some((role) => roles.includes(role))
}

function split(scope: string): string[] {
  return scope.split(' ').filter((name) => name !== '')
}

function invalidScope(message: string): BatonError {
  return new BatonError('invalid_scope', message.endsWith('.') ? message : `The scope ${message}.`)
}

/** Long or unusual names are not echoed back whole. */
function quote(name: string): string {
  return `'${name.length > 64 ? `${name.slice(0, 64)}...` : name}'`
}
