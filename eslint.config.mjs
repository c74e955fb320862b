// Lint guards what the type checker cannot: floating promises, and the workflow sandbox, whose
// code is replayed deterministically and must not reach IO (SPEC §1, STYLE habit 6).
import { builtinModules } from 'node:module';

import js from '@eslint/js';
import simpleImportSort from 'eslint-plugin-simple-import-sort';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [...new Set(builtinModules.map((name) => name.replace(/^node:/, '')))]
  .filter((name) => !name.startsWith('_'))
  .map((name) => name.replace(/[/]/g, '\\/'));

const SANDBOX =
  'Workflows run in a deterministic sandbox: no Node built-ins; do IO in an activity.';
const NO_IO = 'Workflows must not do IO: call an activity instead.';

// Forbidden in workflows/**. `import type` stays allowed: types are erased before bundling.
const workflowSandbox = {
  patterns: [
    { regex: `^(node:.*|(${nodeBuiltins.join('|')})(/.*)?)$`, message: SANDBOX },
    { regex: '^(pg|express|stripe|@temporalio/(client|worker))(/.*)?$', message: NO_IO },
    {
      regex: '(^|/)src/(db|http)(/|$)',
      message: 'Workflows must not import the database or HTTP layers: call an activity instead.',
    },
    {
      regex: '(^|/)activities(/|$)',
      message:
        'Workflows import activities as types only (`import type`), through proxyActivities.',
    },
  ].map((pattern) => ({ ...pattern, allowTypeImports: true })),
};

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      'coverage/',
      '.data/',
      '.tools/',
      '.test-logs/',
      'test/fixtures/histories/',
      '**/workflow-bundle-*.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'simple-import-sort': simpleImportSort },
    rules: {
      // One import order everywhere (packages and node: built-ins, then the project's own
      // modules), kept by `eslint --fix`.
      'simple-import-sort/imports': 'error',
      // One spelling of Node's built-ins: `node:fs`, never `fs`.
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^(${nodeBuiltins.join('|')})(/.*)?$`,
              message: 'Import Node built-ins with the node: prefix (e.g. node:fs).',
            },
          ],
        },
      ],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  {
    // Plain JavaScript (configs, scripts, bin) is outside tsconfig: no type-aware rules there.
    files: ['**/*.{js,mjs,cjs}'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', fetch: 'readonly' },
    },
  },
  {
    // This package is CommonJS: .js and .cjs files use require().
    files: ['**/*.{js,cjs}'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', __dirname: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': 'off',
      '@typescript-eslint/no-restricted-imports': ['error', workflowSandbox],
    },
  },
  {
    // Jest's expect(...).rejects, mocks and asymmetric matchers (expect.any(), typed `any`) trip
    // these type-aware rules without adding safety.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
);
