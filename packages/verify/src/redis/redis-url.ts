import { ConfigError } from '../errors.js'

/** Where and how to reach Redis, as read from a store URL. */
export interface RedisTarget {
  /** `redis-cluster://` names seed nodes of a Redis Cluster; the others one server. */
  cluster: boolean
  nodes: RedisNode[]
  tls: boolean
  username: string | undefined
  password: string | undefined
  /** Database index; always 0 on a cluster, which has no other. */
  db: number
  /** The `?prefix=` parameter, when given. */
  keyPrefix: string | undefined
}

export interface RedisNode {
  host: string
  port: number
}

const DEFAULT_PORT = 6379
const usage =
  'expected redis://[user:password@]host[:port][/db][?prefix=…], rediss://… (TLS) or ' +
  'redis-cluster://[user:password@]host:port,host:port[?prefix=…]'

// The whole URL minus its fragment: scheme, authority, path and query. Characters that would end
// a part early (/ ? # in a password) must be percent-encoded, as in any URL.
const urlPattern = /^(redis|rediss|redis-cluster):\/\/([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?$/i
const hostPattern = /^(?:[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?|\[[0-9A-Fa-f:.]+\])$/

/**
 * Reads a `redis://`, `rediss://` or `redis-cluster://` URL. Throws `ConfigError` naming
 * `variable` when it is malformed; no message ever repeats the URL or a part of it, since it may
 * carry a password.
 */
export function parseRedisUrl(url: string, variable: string): RedisTarget {
  const fail = (problem: string): never => {
    throw new ConfigError(variable, `malformed Redis URL: ${problem}; ${usage}`)
  }
  const match = urlPattern.exec(url.trim())
  if (match === null) return fail('not a redis://, rediss:// or redis-cluster:// URL')
  const scheme = (match[1] ?? '').toLowerCase()
  const authority = match[2] ?? ''
  const path = match[3] ?? ''
  const query = match[4] ?? ''
  const cluster = scheme === 'redis-cluster'

  // The last @ ends the user info, so an unencoded @ in a password still parses.
  const at = authority.lastIndexOf('@')
  const userInfo = at === -1 ? undefined : authority.slice(0, at)
  const hostList = authority.slice(at + 1)

  let username: string | undefined
  let password: string | undefined
  if (userInfo !== undefined) {
    const colon = userInfo.indexOf(':')
    const rawUser = colon === -1 ? userInfo : userInfo.slice(0, colon)
    const rawPassword = colon === -1 ? undefined : userInfo.slice(colon + 1)
    username = rawUser === '' ? undefined : decode(rawUser, 'the user name', fail)
    password =
      rawPassword === undefined || rawPassword === ''
        ? undefined
        : decode(rawPassword, 'the password', fail)
  }

  if (hostList === '') fail('it names no host')
  const nodes = hostList.split(',').map((entry, index) => parseNode(entry, index + 1, fail))
  if (!cluster && nodes.length > 1) fail('only redis-cluster:// takes several hosts')

  let db = 0
  if (path !== '' && path !== '/') {
    if (cluster) fail('a cluster has no database number; drop the path')
    const digits = path.slice(1)
    if (!/^\d{1,5}$/.test(digits)) fail('the database (the path) must be a number')
    db = Number(digits)
  }

  let keyPrefix: string | undefined
  for (const [name, value] of new URLSearchParams(query)) {
    // A parameter name is no secret; its value might be, so only names are quoted.
    if (name !== 'prefix') fail(`unknown parameter '${name}' (only prefix is understood)`)
    if (keyPrefix !== undefined) fail('prefix is given twice')
    keyPrefix = value
  }

  return { cluster, nodes, tls: scheme === 'rediss', username, password, db, keyPrefix }
}

function parseNode(entry: string, position: number, fail: (problem: string) => never): RedisNode {
  // [v6]:port, [v6], host:port or host.
  const bracketEnd = entry.startsWith('[') ? entry.indexOf(']') : -1
  const colon = entry.indexOf(':', bracketEnd + 1)
  const host = colon === -1 ? entry : entry.slice(0, colon)
  const portText = colon === -1 ? '' : entry.slice(colon + 1)
  if (!hostPattern.test(host)) fail(`host ${position} is not a host name or address`)
  let port = DEFAULT_PORT
  if (portText !== '') {
    if (!/^\d{1,5}$/.test(portText)) fail(`the port of host ${position} is not a number`)
    port = Number(portText)
    if (port < 1 || port > 65_535) fail(`the port of host ${position} is out of range`)
  }
  return { host: host.startsWith('[') ? host.slice(1, -1) : host, port }
}

function decode(text: string, what: string, fail: (problem: string) => never): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return fail(`${what} has a malformed %-escape`)
  }
}

/** `host:port` of each node, for messages: never the user name or password. */
export function describeNodes(target: RedisTarget): string {
  return target.nodes
    .map(({ host, port }) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`))
    .join(', ')
}
