import { Validator } from '@seriousme/openapi-schema-validator'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'
import type { FastifyInstance } from 'fastify'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { batonErrorCodes } from '../../packages/server/src/core/errors.js'
import { createOAuthTestServer, createUser, type OAuthTestServer } from '../helpers/oauth.js'
import { uniqueEmail, strongPassword } from '../helpers/server.js'

// ajv-formats is CommonJS with a `default` property; Node's ESM import gives the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020

interface OpenApi {
  openapi: string
  paths: Record<string, Record<string, Operation>>
  components: { schemas: Record<string, unknown> }
}
interface Operation {
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>
}

const introspector = { id: 'resource-server', secret: 'introspection-secret' }

/**
 * Every (method, path) Fastify itself says it serves, from `printRoutes`: a tree whose children
 * carry only the rest of their parent's path.
 */
function routesOf(app: FastifyInstance): { method: string; url: string }[] {
  const routes: { method: string; url: string }[] = []
  const prefixes: string[] = []
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^((?:[│ ] {3})*)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line)
    if (match === null) continue
    const depth = (match[1] ?? '').length / 4
    prefixes.length = depth
    const url = (prefixes[depth - 1] ?? '') + (match[2] ?? '')
    prefixes.push(url)
    for (const method of match[3]?.split(', ') ?? []) routes.push({ method, url })
  }
  return routes
}

const docs = (name: string): string =>
  readFileSync(join(import.meta.dirname, '..', '..', 'docs', name), 'utf8')

/** The codes of a page's error table: rows that start with a code and its status. */
function documentedCodes(page: string): string[] {
  return [...page.matchAll(/^\|\s*`([a-z_]+)`\s*\|\s*\d{3}\b/gm)].map((match) => match[1] ?? '')
}

describe('GET /openapi.json', () => {
  let server: OAuthTestServer
  let document: OpenApi

  beforeAll(async () => {
    server = await createOAuthTestServer({
      env: {
        BATON_ALLOWED_ORIGINS: 'https://app.example',
        BATON_OAUTH_CLIENTS: 'web',
        BATON_INTROSPECTION_CREDENTIALS: `${introspector.id}:${introspector.secret}`,
      },
    })
    document = (await (await fetch(`${server.issuer}/openapi.json`)).json()) as OpenApi
  })
  afterAll(async () => server.close())

  /** Validates a body against what the document says `method path` answers with `status`. */
  function expectDocumented(path: string, method: string, status: number, body: unknown): void {
    const schema =
      document.paths[path]?.[method]?.responses[String(status)]?.content?.['application/json']
        ?.schema
    expect(schema, `${method} ${path} ${status} has a JSON schema`).toBeDefined()
    const local = (value: unknown): unknown =>
      JSON.parse(JSON.stringify(value).replaceAll('#/components/schemas/', '#/$defs/'))
    const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }))
    const validate = ajv.compile({
      ...(local(schema) as object),
      $defs: local(document.components.schemas),
    })
    expect(validate(body), JSON.stringify(validate.errors)).toBe(true)
  }

  it('is public and cacheable, and readable from any origin like the JWKS', async () => {
    const response = await fetch(`${server.issuer}/openapi.json`, {
      headers: { origin: 'https://elsewhere.example' },
    })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^application\/json/)
    expect(response.headers.get('cache-control')).toBe('public, max-age=300')
    expect(response.headers.get('access-control-allow-origin')).toBe('*')
    expect(document.openapi).toBe('3.1.0')
  })

  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator()
    const result = await validator.validate(
      structuredClone(document) as unknown as Record<string, unknown>,
    )
    expect(result.errors).toBeUndefined()
    expect(result.valid).toBe(true)
    // The validator does look inside: a broken copy is refused.
    const broken = structuredClone(document) as unknown as Record<string, unknown>
    ;(broken['paths'] as Record<string, unknown>)['/auth/me'] = { get: { responses: 'none' } }
    expect((await new Validator().validate(broken)).valid).toBe(false)
  })

  it('lists every route Fastify registered, and only those', () => {
    const registered = routesOf(server.app)
    // The parser must have read the tree: nested and CORS routes included.
    expect(registered).toContainEqual({ method: 'DELETE', url: '/auth/sessions/:id' })
    expect(registered).toContainEqual({ method: 'POST', url: '/auth/logout-all' })
    expect(registered).toContainEqual({ method: 'OPTIONS', url: '*' })
    const listed = (method: string, url: string): boolean =>
      document.paths[url.replace(/:(\w+)/g, '{$1}')]?.[method.toLowerCase()] !== undefined
    for (const { method, url } of registered) {
      // Excluded on purpose, and said so in `info.description`.
      if (method === 'HEAD' && listed('GET', url)) continue
      if (method === 'OPTIONS' && url === '*') continue
      const pages = server.config.accountPagesPath
      if (url === pages || url.startsWith(`${pages}/`)) continue
      expect(listed(method, url), `${method} ${url}`).toBe(true)
    }
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const method of Object.keys(operations)) {
        const url = path.replace(/\{(\w+)\}/g, ':$1')
        expect(
          server.app.hasRoute({ method: method.toUpperCase(), url }),
          `${method} ${path}`,
        ).toBe(true)
      }
    }
  })

  it('has one error code vocabulary with docs/errors.md and docs/api.md', () => {
    const schema = document.components.schemas['ErrorCode'] as { enum: string[] }
    const expected = [...batonErrorCodes, 'server_error'].sort()
    expect([...schema.enum].sort()).toEqual(expected)
    expect([...new Set(documentedCodes(docs('errors.md')))].sort()).toEqual(expected)
    expect([...new Set(documentedCodes(docs('api.md')))].sort()).toEqual(expected)
  })

  it('describes what the routes really answer', async () => {
    const signup = await fetch(`${server.issuer}/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: uniqueEmail(), password: strongPassword }),
    })
    expect(signup.status).toBe(201)
    const tokens = (await signup.json()) as { accessToken: string }
    expectDocumented('/auth/signup', 'post', 201, tokens)

    const bearer = { authorization: `Bearer ${tokens.accessToken}` }
    const sessions = await fetch(`${server.issuer}/auth/sessions`, { headers: bearer })
    expectDocumented('/auth/sessions', 'get', 200, await sessions.json())
    const me = await fetch(`${server.issuer}/auth/me`, { headers: bearer })
    expectDocumented('/auth/me', 'get', 200, await me.json())

    const anonymous = await fetch(`${server.issuer}/auth/me`)
    expect(anonymous.status).toBe(401)
    expectDocumented('/auth/me', 'get', 401, await anonymous.json())

    for (const path of ['/.well-known/jwks.json', '/.well-known/oauth-authorization-server']) {
      const response = await fetch(`${server.issuer}${path}`)
      expectDocumented(path, 'get', 200, await response.json())
    }
  })

  it('describes what the OAuth routes really answer, forms in and errors out', async () => {
    const user = await createUser(server)
    const form = (fields: Record<string, string>, headers: Record<string, string> = {}) => ({
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(fields).toString(),
    })
    const token = await fetch(
      `${server.issuer}/oauth/token`,
      form({
        grant_type: 'password',
        username: user.email,
        password: user.password,
        client_id: 'web',
      }),
    )
    expect(token.status).toBe(200)
    const tokens = (await token.json()) as { access_token: string; refresh_token: string }
    expectDocumented('/oauth/token', 'post', 200, tokens)

    const basic = `Basic ${Buffer.from(`${introspector.id}:${introspector.secret}`).toString('base64')}`
    for (const [value, active] of [
      [tokens.access_token, true],
      [tokens.refresh_token, true],
      ['not-a-token', false],
    ] as const) {
      const response = await fetch(
        `${server.issuer}/oauth/introspect`,
        form({ token: value }, { authorization: basic }),
      )
      const body = (await response.json()) as { active: boolean }
      expect(body.active).toBe(active)
      expectDocumented('/oauth/introspect', 'post', 200, body)
    }

    const refused = await fetch(
      `${server.issuer}/oauth/token`,
      form({ grant_type: 'client_credentials', client_id: 'web' }),
    )
    expect(refused.status).toBe(400)
    const error = (await refused.json()) as { error: string }
    expect(error.error).toBe('unsupported_grant_type')
    expectDocumented('/oauth/token', 'post', 400, error)
  })
})
