import { ConfigError } from '../../core/errors.js'
import { isValidSchemaName } from './schema.js'

/** Where the store keeps its tables unless told otherwise. */
export const DEFAULT_SCHEMA = 'baton'

export interface PostgresTarget {
  /** The URL to hand the driver: `?schema=` removed, everything else as given. */
  connectionString: string
  schema: string
}

const schemaRule =
  'must be a plain identifier: a letter or _, then letters, digits or _, at most 63 characters, not starting with pg_'

/**
 * Splits a store URL into what the driver takes and the schema Baton uses, which may come from a
 * `?schema=name` query parameter or from `schema` (not both, unless they agree).
 *
 * Messages never echo the URL or any part of it: it may carry a password.
 */
export function parsePostgresUrl(
  url: string,
  options: { schema?: string | undefined; variable: string },
): PostgresTarget {
  const { variable } = options
  let parsed: URL
  try {
    parsed = new URL(url.trim())
  } catch {
    throw new ConfigError(variable, 'not a valid URL; expected postgres://user:password@host/db')
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new ConfigError(
      variable,
      `expected a postgres:// or postgresql:// URL, not ${parsed.protocol}//`,
    )
  }
  const fromUrl = parsed.searchParams.getAll('schema')
  if (fromUrl.length > 1) {
    throw new ConfigError(variable, '?schema= is given more than once')
  }
  const [urlSchema] = fromUrl
  if (urlSchema !== undefined && !isValidSchemaName(urlSchema)) {
    throw new ConfigError(variable, `?schema= ${schemaRule}`)
  }
  if (options.schema !== undefined && !isValidSchemaName(options.schema)) {
    throw new ConfigError(variable, `the schema ${schemaRule}`)
  }
  if (urlSchema !== undefined && options.schema !== undefined && urlSchema !== options.schema) {
    throw new ConfigError(variable, '?schema= disagrees with the schema option; give one')
  }
  parsed.searchParams.delete('schema')
  return {
    connectionString: parsed.href,
    schema: urlSchema ?? options.schema ?? DEFAULT_SCHEMA,
  }
}

/**
 * `text` with the URL's password, and the URL itself, replaced by `***`: for the driver's own
 * messages, which should never contain them but are not ours to promise.
 */
export function redactUrlSecrets(text: string, url: string): string {
  const secrets = [url.trim()]
  try {
    const password = new URL(url.trim()).password
    if (password !== '') {
      secrets.push(password)
      secrets.push(safeDecode(password))
    }
  } catch {
    // Not a URL: nothing more to find than the text itself.
  }
  return secrets
    .filter((secret) => secret !== '')
    .sort((a, b) => b.length - a.length)
    .reduce((redacted, secret) => redacted.replaceAll(secret, '***'), text)
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}
