// Lint keeps workflows deterministic and promises handled; style is left to the reader.
const tseslint = require('typescript-eslint');

const NODE_BUILTINS = ['fs', 'path', 'os', 'http', 'https', 'net', 'crypto', 'child_process', 'stream', 'util', 'worker_threads', 'dns', 'zlib', 'url', 'events', 'timers', 'process'];

module.exports = tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'output/**', '.reelay/**', 'bin/**', '*.config.js', 'scripts/ensure-deps.js'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.base],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: __dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no I/O, no Node APIs, no activity implementations.
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...NODE_BUILTINS.flatMap((name) => [
              { name, message: 'Workflows must be deterministic: no Node APIs (do I/O in an activity).' },
              { name: `node:${name}`, message: 'Workflows must be deterministic: no Node APIs (do I/O in an activity).' },
            ]),
            { name: 'undici', message: 'HTTP belongs in activities.' },
            { name: '@temporalio/activity', message: 'Activity code does not run in workflows.' },
            { name: '@temporalio/client', message: 'Use child workflows or activities, not a client, inside workflows.' },
            { name: '@temporalio/worker', message: 'Not available inside workflows.' },
          ],
          patterns: [
            { group: ['**/activities', '**/activities/*', '!**/activities/index'], message: 'Import activities as types only (import type).', allowTypeImports: true },
            {
              // Provider zod schemas are pure and shared with the workflows' input schemas; clients are not.
              regex: '(^|/)(providers/(?!([a-z0-9]+/)?schemas$)|sandbox(/|$)|cli(/|$)|dev(/|$)|config$)',
              message: 'Workflows import only @temporalio/workflow, types, zod schemas and pure helpers.',
              allowTypeImports: true,
            },
          ],
        },
      ],
      'no-restricted-globals': ['error', { name: 'setTimeout', message: 'Use sleep() from @temporalio/workflow.' }, { name: 'setInterval', message: 'Use sleep() in a loop.' }, { name: 'process', message: 'No process access in workflows.' }],
    },
  },
);
