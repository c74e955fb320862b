// Lint guards what the type checker cannot: floating promises, and the workflow sandbox, whose
// code is replayed deterministically and must not reach IO (SPEC §1, STYLE habit 6).
import { builtinModules } from 'node:module';

import js from '@eslint/js';
import simpleImportSort from 'eslint-plugin-simple-import-sort';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [...new Set(builtinModules.map((name) => name.replace(/^node:/, '')))]
  .filter((name) => !name.startsWith('_'))
  .map((name) => name.replace(/[/]/g, '\\/'));

// Workflow code is replayed deterministically in a sandbox: at run time it may import only other
// workflow code, the pure domain and the SDK's workflow-side packages. Everything else — Node
// built-ins, pg, express, stripe, pino, the Temporal client and worker, src/db, src/http,
// src/services, src/delivery, src/temporal, src/ops, src/cli, src/dev, src/config, activities — is
// refused; `import type` stays allowed (types are erased before bundling, which is how workflows
// name activities). An allowed list, so a new module is refused until it is added here.
const workflowSandbox = {
  patterns: [
    {
      regex: '^(?!(\\./|\\.\\./src/domain/|@temporalio/(workflow|common)$)).*',
      message:
        'Workflows run in a deterministic sandbox: they import only workflow code, src/domain and @temporalio/workflow|common at run time. Do IO in an activity (imported with `import type`, called through proxyActivities).',
      allowTypeImports: true,
    },
  ],
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
