// Lint keeps workflows deterministic, layers pointing down and promises handled; style is left to the reader.
//
// The layers (README "Layout"): provider clients (src/providers, src/pipelines/*/{client,schemas,fields}.ts)
// know nothing of Temporal; the neutral contract (src/contract, src/pipelines/*/{input,spec,signals}.ts,
// src/pipelines/registry.ts) is what workflows and their callers share; workflow code
// (src/workflows, src/pipelines/*/workflow.ts) runs in Temporal's sandbox; activities and the edges
// (src/activities, src/pipelines/*/activities.ts, the batch starter, src/client, src/cli, src/workers)
// never load workflow code at run time. ESLint applies one `no-restricted-imports` per file (the last
// matching block wins), so each file set below gets its whole list.
const tseslint = require('typescript-eslint');

const NODE_BUILTINS = ['fs', 'path', 'os', 'http', 'https', 'net', 'crypto', 'child_process', 'stream', 'util', 'worker_threads', 'dns', 'zlib', 'url', 'events', 'timers', 'process', 'perf_hooks'];

/** Every file the workflow bundle reaches: deterministic, no I/O. */
const WORKFLOW_SANDBOX_FILES = [
  'src/workflows/**/*.ts',
  'src/pipelines/*/workflow.ts',
  'src/pipelines/*/input.ts',
  'src/pipelines/*/spec.ts',
  'src/pipelines/*/signals.ts',
  'src/pipelines/registry.ts',
  'src/pipelines/spec.ts',
  'src/contract/**/*.ts',
];
/** Shared by workflows and their callers: nothing of either side's runtime. */
const CONTRACT_FILES = ['src/contract/**/*.ts', 'src/pipelines/*/input.ts', 'src/pipelines/*/spec.ts', 'src/pipelines/*/signals.ts', 'src/pipelines/registry.ts', 'src/pipelines/spec.ts'];
/** HTTP clients and wire schemas of the providers: usable without Temporal. */
const PROVIDER_FILES = ['src/providers/**/*.ts', 'src/pipelines/*/client.ts', 'src/pipelines/*/schemas.ts', 'src/pipelines/*/statuses.ts', 'src/pipelines/*/fields.ts'];
/** Activities and the edges above the workflows: they start and signal workflows, never load their code. */
const ACTIVITY_AND_EDGE_FILES = [
  'src/activities/**/*.ts',
  'src/pipelines/*/activities.ts',
  'src/pipelines/batch/manifest.ts',
  'src/pipelines/batch/start.ts',
  'src/pipelines/batch/cost.ts',
  'src/client/**/*.ts',
  'src/cli/**/*.ts',
  'src/workers/**/*.ts',
];

const nodeBuiltins = (message) => NODE_BUILTINS.flatMap((name) => [{ name, message }, { name: `node:${name}`, message }]);

const DETERMINISM_PATHS = [
  ...nodeBuiltins('Workflows must be deterministic: no Node APIs (do I/O in an activity).'),
  { name: 'undici', message: 'HTTP belongs in activities.' },
  { name: '@temporalio/activity', message: 'Activity code does not run in workflows.' },
  { name: '@temporalio/client', message: 'Use child workflows or activities, not a client, inside workflows.' },
  { name: '@temporalio/worker', message: 'Not available inside workflows.' },
];
const DETERMINISM_PATTERNS = [
  { group: ['**/activities', '**/activities/*', '!**/activities/index'], message: 'Import activities as types only (import type).', allowTypeImports: true },
  {
    // Provider wire schemas and the lenient readers are pure zod, the documented sets pure data; clients, the edges and configuration are not.
    regex: '(^|/)(providers/(?!(schemas|lenient|documented)$)|sandbox(/|$)|cli(/|$)|dev(/|$)|client(/|$)|workers(/|$)|codec(/|$)|config$|temporal-config$|fields$)',
    message: 'Workflows import only @temporalio/workflow, types, zod schemas and pure helpers.',
    allowTypeImports: true,
  },
];
/** Workflow runtime code: the pipelines' workflow modules, the workflow machinery and the worker's list. */
const WORKFLOW_RUNTIME_PATTERNS = [
  { regex: '(^|/)workflows(/.*)?$', message: 'Workflow runtime code: share signals, queries and schemas through src/contract or a pipeline\'s input/signals module.', allowTypeImports: true },
  { regex: '(^|/)pipelines/[a-z0-9]+/workflow$|^\\.\\.?/workflow$', message: "A pipeline's workflow module is workflow runtime code: import it as a type only.", allowTypeImports: true },
];

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
    files: WORKFLOW_SANDBOX_FILES,
    rules: {
      'no-restricted-imports': ['error', { paths: DETERMINISM_PATHS, patterns: DETERMINISM_PATTERNS }],
      'no-restricted-globals': ['error', { name: 'setTimeout', message: 'Use sleep() from @temporalio/workflow.' }, { name: 'setInterval', message: 'Use sleep() in a loop.' }, { name: 'process', message: 'No process access in workflows.' }],
    },
  },
  {
    // The contract sits below the workflows: it defines signals, queries and schemas, and runs nothing.
    files: CONTRACT_FILES,
    rules: {
      'no-restricted-imports': ['error', { paths: DETERMINISM_PATHS, patterns: [...DETERMINISM_PATTERNS, ...WORKFLOW_RUNTIME_PATTERNS] }],
    },
  },
  {
    // Provider clients: HTTP and zod only, nothing of Temporal, nothing of the layers above them.
    files: PROVIDER_FILES,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@temporalio/*'], message: 'Provider clients know nothing of Temporal: translate in the activity (src/activities/shared.ts).' },
            {
              regex: '^(\\.\\.?/)+(workflows|activities|contract|cli|client|workers|sandbox)(/|$)|(^|/)(workflow|activities|input|spec|signals|registry)$',
              message: 'Provider clients sit at the bottom: they import only the HTTP core (src/providers) and their own wire schemas.',
            },
          ],
        },
      ],
    },
  },
  {
    // The sandbox simulates the providers from their docs, not from our clients: a mistake shared by both would pass.
    files: ['src/sandbox/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^\\.\\./', message: 'The sandbox is written from the provider docs: it imports nothing of Reelay outside src/sandbox.' }] }],
    },
  },
  {
    files: ACTIVITY_AND_EDGE_FILES,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: '@temporalio/workflow', message: 'Workflow runtime: import signals and queries from src/contract or a pipeline\'s signals module.', allowTypeImports: true }],
          patterns: WORKFLOW_RUNTIME_PATTERNS,
        },
      ],
      // no-restricted-imports does not see import() and require(): the CLI loads modules lazily.
      'no-restricted-syntax': [
        'error',
        ...['ImportExpression > Literal.source', "CallExpression[callee.name='require'] > Literal.arguments"].map((node) => ({
          selector: `${node}[value=/(^|\\/)workflows(\\/|$)|\\/workflow$/]`,
          message: 'Workflow runtime code is not loaded here: import its signals, queries and schemas from src/contract or a pipeline\'s input/signals module.',
        })),
      ],
    },
  },
);
