// @ts-check
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import { layers } from './eslint.layers.js'

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
  // One block per part (eslint.layers.js): a file matches exactly one, since a later block's
  // no-restricted-imports would replace, not extend, an earlier one.
  ...layers.map((layer) => ({
    files: layer.files,
    ...(layer.ignores ? { ignores: layer.ignores } : {}),
    /** @type {import('eslint').Linter.RulesRecord} */
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: layer.forbidden.map((forbidden) => ({
            ...(forbidden.regex ? { regex: forbidden.regex } : { group: forbidden.group }),
            ...(forbidden.allowTypeImports ? { allowTypeImports: true } : {}),
            message: `${layer.part} may not import ${forbidden.label} (eslint.layers.js, docs/architecture.md).`,
          })),
        },
      ],
      ...(layer.edgeSafe
        ? {
            'no-restricted-globals': [
              'error',
              { name: 'Buffer', message: 'not on edge runtimes: use Uint8Array.' },
              { name: 'process', message: 'not on edge runtimes.' },
            ],
          }
        : {}),
    },
  })),
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
)
