// @ts-check
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

// Layer boundaries from DESIGN.md: an import that crosses one fails `npm run lint` (and CI).
const httpAndDrivers = [
  'fastify',
  'fastify-plugin',
  '@fastify/*',
  'better-sqlite3',
  'ioredis',
  'pg',
  'postgres',
  'prom-client',
  'pino',
  'commander',
]

// Native addons (compiled `.node` files) and the packages that load or are them: the core must
// run wherever Node does and load none, so `import '@baton-auth/server'` stays addon-free.
const nativeAddons = [
  '@node-rs/*',
  'argon2',
  'bcrypt',
  'sodium-native',
  'bindings',
  'node-gyp-build',
  '*.node',
  '**/*.node',
]

export default tseslint.config(
  { ignores: ['**/dist/**', 'node_modules/**', 'data/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-for-in-array': 'error',
      // Fastify plugins and hooks are async by contract, with or without an await inside.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['packages/server/src/core/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: httpAndDrivers,
              message: 'src/core knows no HTTP framework and no database driver: use a port.',
            },
            {
              group: [...nativeAddons, '**/passwords/argon2-hasher*'],
              message:
                'src/core loads no native addon: it takes one through a port (PasswordHasher) from outside.',
            },
            {
              group: ['**/server/**', '**/stores/**', '**/cli/**'],
              message: 'src/core must not import outer layers.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['packages/server/src/stores/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['fastify', '@fastify/*'], message: 'stores know no HTTP.' },
            {
              group: ['**/server/**', '**/cli/**'],
              message: 'stores must not import outer layers.',
            },
          ],
        },
      ],
    },
  },
  {
    // Edge-safe layers (DESIGN.md): no Node built-in, no server dependency, so they run in
    // browsers, Cloudflare Workers, Deno and Bun. test/verify/edge-safety.test.ts checks the build.
    files: [
      'packages/verify/src/*.ts',
      'packages/verify/src/middleware/hono.ts',
      'packages/verify/src/middleware/bearer-challenge.ts',
    ],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'edge-safe code imports no node:* module.' },
            {
              group: [...httpAndDrivers, 'jose', 'express', 'hono', 'hono/*'],
              allowTypeImports: true,
              message: 'edge-safe code imports no runtime dependency.',
            },
            {
              group: ['**/core/**', '**/server/**', '**/stores/**', '**/cli/**'],
              message: 'verify and the edge middleware stand alone.',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'Buffer', message: 'not on edge runtimes: use Uint8Array.' },
        { name: 'process', message: 'not on edge runtimes.' },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
)
