// @ts-check
// The parts of the workspace and what each may not import. eslint.config.js turns this table
// into `no-restricted-imports` rules (so `npm run lint` and CI fail on a crossing), and
// docs/architecture.md shows the same table, generated from it (`npm run docs:layers`); a test
// fails when the two differ.

/** @typedef {{ label: string, group?: string[], regex?: string, allowTypeImports?: boolean }} Forbidden */
/**
 * @typedef {{
 *   part: string,
 *   files: string[],
 *   ignores?: string[],
 *   edgeSafe?: boolean,
 *   role: string,
 *   reach: string,
 *   mayImport: string[],
 *   sample: string,
 *   forbidden: Forbidden[],
 *   otherPackages?: string[],
 * }} Layer
 */

/** @type {Forbidden} */
const http = {
  label: 'HTTP frameworks',
  group: [
    'fastify',
    'fastify-plugin',
    '@fastify/*',
    'express',
    'hono',
    'hono/*',
    'prom-client',
    'secure-json-parse',
    '@sinclair/typebox',
  ],
}
/** @type {Forbidden} */
const drivers = {
  label: 'database drivers',
  group: ['better-sqlite3', 'ioredis', 'pg', 'postgres'],
}
/** @type {Forbidden} */
const nativeAddons = {
  label: 'native addons (the argon2 hasher is injected)',
  group: [
    '@node-rs/*',
    'argon2',
    'bcrypt',
    'sodium-native',
    'bindings',
    'node-gyp-build',
    '*.node',
    '**/passwords/argon2-hasher*',
  ],
}
/** @type {Forbidden} */
const cliLibraries = { label: 'CLI libraries', group: ['commander'] }
/** @type {Forbidden} */
const mailLibraries = {
  label: 'mail libraries (the mailer is injected)',
  group: ['nodemailer', 'nodemailer/*'],
}
/** @type {Forbidden} */
const verifyInternals = {
  label: '`@baton-auth/verify` other than `/shared`',
  // A glob cannot re-include a path under an excluded one, hence a regular expression.
  regex: '^@baton-auth/verify(?!/shared$)(/.*)?$',
}
/** @type {Forbidden} */
const intoVerifyByPath = {
  label: 'verify sources by path',
  group: ['**/packages/verify/**', '**/verify/src/**'],
}
/** @type {Forbidden} */
const theServer = {
  label: '`@baton-auth/server` and its sources',
  group: [
    '@baton-auth/server',
    '@baton-auth/server/*',
    '**/packages/server/**',
    '**/server/src/**',
  ],
}
/** @type {Forbidden} */
const sharedEntry = { label: "`shared.ts` (the server's entry)", group: ['**/shared.js'] }
/** @type {Forbidden} */
const nodeBuiltins = { label: '`node:*`', group: ['node:*'] }
/** @type {Forbidden} */
const accountPagesScript = {
  label: "the account pages' browser script",
  group: ['**/account-pages/**'],
}
/** Runtime imports only: a verifier shell may name a framework's types. */
const packagesAtRuntime = /** @type {Forbidden} */ ({
  label: 'any package at run time (types allowed)',
  group: [...(http.group ?? []), ...(drivers.group ?? []), 'jose', 'commander', '@node-rs/*'],
  allowTypeImports: true,
})
const storeInternals = /** @type {Forbidden} */ ({
  label: 'store internals (only `stores/from-url.ts`)',
  group: [
    '**/stores/memory/**',
    '**/stores/sqlite/**',
    '**/stores/postgres/**',
    '**/stores/redis/**',
  ],
})

// `mayImport` names the parts of the same package a part may import (test/core/layering.test.ts
// lints an import of every other part from `sample` and expects a refusal, and of these one
// that passes; `reach` is the file such an import names). Every part of @baton-auth/server may
// also import `@baton-auth/verify/shared`, and nothing else of the verifier, unless its
// `otherPackages` names what it imports of other packages instead.

/** @type {Layer[]} */
export const layers = [
  {
    part: 'core',
    reach: 'packages/server/src/core/ids.ts',
    mayImport: [],
    sample: 'packages/server/src/core/baton.ts',
    files: ['packages/server/src/core/**/*.ts', 'packages/server/src/index.ts'],
    role: 'the engine: tokens, sessions and rotation, keys, accounts, OAuth policy, config, ports',
    forbidden: [
      http,
      drivers,
      nativeAddons,
      cliLibraries,
      mailLibraries,
      {
        label: 'stores, server, cli, revocation, mail',
        group: ['**/stores/**', '**/server/**', '**/cli/**', '**/revocation/**', '**/mail/**'],
      },
      accountPagesScript,
      verifyInternals,
      intoVerifyByPath,
    ],
  },
  {
    part: 'stores',
    reach: 'packages/server/src/stores/sqlite/sqlite-store.ts',
    mayImport: ['core'],
    sample: 'packages/server/src/stores/sqlite/sqlite-store.ts',
    files: ['packages/server/src/stores/**/*.ts'],
    role: "implementations of core's ports: memory, SQLite, PostgreSQL, Redis; `from-url.ts` opens them",
    forbidden: [
      http,
      cliLibraries,
      mailLibraries,
      {
        label: 'server, cli, revocation, mail, the password hasher',
        group: [
          '**/server/**',
          '**/cli/**',
          '**/revocation/**',
          '**/mail/**',
          '**/passwords/argon2-hasher*',
        ],
      },
      accountPagesScript,
      verifyInternals,
      intoVerifyByPath,
    ],
  },
  {
    part: 'server/revocation',
    reach: 'packages/server/src/revocation/publisher.ts',
    mayImport: [],
    sample: 'packages/server/src/revocation/publisher.ts',
    files: ['packages/server/src/revocation/**/*.ts'],
    role: 'the revocation publisher: announces revoked sessions on Redis',
    forbidden: [
      http,
      {
        label: 'core, stores, server, cli, passwords, mail',
        group: [
          '**/core/**',
          '**/stores/**',
          '**/server/**',
          '**/cli/**',
          '**/passwords/**',
          '**/mail/**',
        ],
      },
      accountPagesScript,
      verifyInternals,
      intoVerifyByPath,
    ],
  },
  {
    part: 'server/passwords',
    reach: 'packages/server/src/passwords/argon2-hasher.ts',
    mayImport: ['core'],
    sample: 'packages/server/src/passwords/argon2-hasher.ts',
    files: ['packages/server/src/passwords/**/*.ts'],
    role: 'the argon2id password hasher (a native addon), injected into core by the server and the CLI',
    forbidden: [
      http,
      drivers,
      {
        label: 'stores, server, cli, revocation, mail',
        group: ['**/stores/**', '**/server/**', '**/cli/**', '**/revocation/**', '**/mail/**'],
      },
      accountPagesScript,
      verifyInternals,
      intoVerifyByPath,
    ],
  },
  {
    part: 'server/mail',
    reach: 'packages/server/src/mail/mailer.ts',
    mayImport: ['core'],
    sample: 'packages/server/src/mail/mailer.ts',
    files: ['packages/server/src/mail/**/*.ts'],
    role: "the mailer adapters of core's `Mailer` port (the server log, SMTP with nodemailer) and the template files, injected into core by the server",
    forbidden: [
      http,
      drivers,
      nativeAddons,
      cliLibraries,
      {
        label: 'stores, server, cli, revocation, passwords',
        group: ['**/stores/**', '**/server/**', '**/cli/**', '**/revocation/**', '**/passwords/**'],
      },
      accountPagesScript,
      verifyInternals,
      intoVerifyByPath,
    ],
  },
  {
    part: 'server',
    reach: 'packages/server/src/server/app.ts',
    mayImport: ['core', 'stores/from-url', 'server/revocation', 'server/passwords', 'server/mail'],
    sample: 'packages/server/src/server/app.ts',
    files: ['packages/server/src/server/**/*.ts'],
    role: 'the Fastify HTTP layer: routes, cookies and CSRF, bearer authentication, OAuth endpoints, metrics',
    forbidden: [
      drivers,
      cliLibraries,
      mailLibraries,
      storeInternals,
      { label: 'cli', group: ['**/cli/**'] },
      accountPagesScript,
      verifyInternals,
      intoVerifyByPath,
    ],
  },
  {
    part: 'cli',
    reach: 'packages/server/src/cli/serve.ts',
    mayImport: ['core', 'stores/from-url', 'server', 'server/passwords'],
    sample: 'packages/server/src/cli/serve.ts',
    files: ['packages/server/src/cli/**/*.ts'],
    role: 'the `baton` command: serve, keys, clients',
    forbidden: [
      http,
      drivers,
      mailLibraries,
      storeInternals,
      { label: 'revocation, mail', group: ['**/revocation/**', '**/mail/**'] },
      accountPagesScript,
      verifyInternals,
      intoVerifyByPath,
    ],
  },
  {
    part: 'verify',
    reach: 'packages/verify/src/verifier.ts',
    mayImport: [],
    sample: 'packages/verify/src/index.ts',
    files: ['packages/verify/src/*.ts'],
    ignores: ['packages/verify/src/shared.ts'],
    edgeSafe: true,
    role: 'the access-token verifier: JWKS, signatures, claims, cache; edge-safe',
    forbidden: [
      nodeBuiltins,
      { ...packagesAtRuntime, label: 'any package', allowTypeImports: false },
      {
        label: 'middleware, revocation, redis',
        group: ['**/middleware/**', '**/revocation/**', '**/redis/**'],
      },
      sharedEntry,
      theServer,
    ],
  },
  {
    part: 'verify/middleware (edge)',
    reach: 'packages/verify/src/middleware/bearer-challenge.ts',
    mayImport: ['verify'],
    sample: 'packages/verify/src/middleware/hono.ts',
    files: [
      'packages/verify/src/middleware/hono.ts',
      'packages/verify/src/middleware/bearer-challenge.ts',
    ],
    edgeSafe: true,
    role: 'Hono middleware and the shared bearer answers; edge-safe',
    forbidden: [
      nodeBuiltins,
      packagesAtRuntime,
      {
        label: 'revocation, redis, the Node middleware',
        group: [
          '**/revocation/**',
          '**/redis/**',
          '**/node-options.js',
          '**/express.js',
          '**/fastify.js',
        ],
      },
      sharedEntry,
      theServer,
    ],
  },
  {
    part: 'verify/middleware (Node)',
    reach: 'packages/verify/src/middleware/node-options.ts',
    mayImport: ['verify', 'verify/middleware (edge)', 'verify/revocation'],
    sample: 'packages/verify/src/middleware/express.ts',
    files: ['packages/verify/src/middleware/*.ts'],
    ignores: [
      'packages/verify/src/middleware/hono.ts',
      'packages/verify/src/middleware/bearer-challenge.ts',
    ],
    role: 'Express and Fastify middleware; may follow the revocation channel',
    forbidden: [
      packagesAtRuntime,
      { label: 'redis', group: ['**/redis/**'] },
      sharedEntry,
      theServer,
    ],
  },
  {
    part: 'verify/revocation',
    reach: 'packages/verify/src/revocation/subscriber.ts',
    mayImport: ['verify', 'verify/redis'],
    sample: 'packages/verify/src/revocation/subscriber.ts',
    files: ['packages/verify/src/revocation/**/*.ts'],
    role: "the revocation subscriber and the channel's wire format",
    forbidden: [
      packagesAtRuntime,
      { label: 'middleware', group: ['**/middleware/**'] },
      sharedEntry,
      theServer,
    ],
  },
  {
    part: 'verify/redis',
    reach: 'packages/verify/src/redis/redis-url.ts',
    mayImport: ['verify'],
    sample: 'packages/verify/src/redis/redis-url.ts',
    files: ['packages/verify/src/redis/**/*.ts'],
    role: 'Redis URLs (and connections) shared by the stores and the revocation channel',
    forbidden: [
      packagesAtRuntime,
      { label: 'middleware, revocation', group: ['**/middleware/**', '**/revocation/**'] },
      sharedEntry,
      theServer,
    ],
  },
  {
    part: 'verify/shared',
    files: ['packages/verify/src/shared.ts'],
    role: 'what the server imports from the verifier (`@baton-auth/verify/shared`), re-exported',
    reach: 'packages/verify/src/shared.ts',
    mayImport: ['verify', 'verify/middleware (edge)', 'verify/revocation', 'verify/redis'],
    sample: 'packages/verify/src/shared.ts',
    forbidden: [
      {
        label: 'the Node middleware',
        group: [
          '**/middleware/node-options.js',
          '**/middleware/express.js',
          '**/middleware/fastify.js',
        ],
      },
      theServer,
    ],
  },
  {
    part: 'server/account-pages',
    reach: 'packages/server/src/account-pages/user-agent.ts',
    mayImport: [],
    sample: 'packages/server/src/account-pages/main.ts',
    // Not `@baton-auth/verify/shared`, as the rest of the server: only the client.
    otherPackages: ['client'],
    files: ['packages/server/src/account-pages/**/*.ts'],
    edgeSafe: true,
    role: "the account pages' browser script, bundled with `@baton-auth/client` at build time (`scripts/build-account-pages.mjs`)",
    forbidden: [
      nodeBuiltins,
      {
        label: 'any package but `@baton-auth/client`',
        regex: '^(?!\\.{1,2}/|@baton-auth/client$)',
      },
      {
        label: 'the rest of the server',
        group: [
          '**/core/**',
          '**/stores/**',
          '**/server/**',
          '**/cli/**',
          '**/revocation/**',
          '**/passwords/**',
          '**/mail/**',
        ],
      },
    ],
  },
  {
    part: 'client',
    files: ['packages/client/src/**/*.ts'],
    edgeSafe: true,
    role: 'the browser and app client over the HTTP API; runs wherever fetch does',
    reach: 'packages/client/src/index.ts',
    mayImport: [],
    sample: 'packages/client/src/index.ts',
    forbidden: [
      nodeBuiltins,
      { label: 'any package (its own files only)', regex: '^(?!\\.{1,2}/)' },
    ],
  },
]

/** The one file of `stores` that server and cli may import. */
export const storesEntry = {
  part: 'stores/from-url',
  reach: 'packages/server/src/stores/from-url.ts',
}
