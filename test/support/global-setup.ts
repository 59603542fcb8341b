import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode } from '@temporalio/worker';
import { TEST_STORE_ENV, ensureVersitygw, startObjectStore, type ObjectStoreServer } from '../../src/dev/objectstore';
import { dynamicConfigFlags, ensureTemporalCli } from '../../src/dev/temporal';
import { REELAY_SEARCH_ATTRIBUTES } from '../../src/contract/search-attributes';

/**
 * One real Temporal dev server (the same `temporal` binary the demo uses, nothing downloaded), one real
 * S3-compatible server (versitygw, built once the same way) and one workflow bundle for the whole run;
 * test files find them through environment variables.
 */
export default async function globalSetup(): Promise<void> {
  // Tracing is off in tests unless a test turns it on (test/ops/traces.test.ts), whatever the shell exports.
  for (const name of Object.keys(process.env)) if (name.startsWith('OTEL_')) delete process.env[name];
  const cli = ensureTemporalCli({ log: (l) => console.log(l) });
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: cli.path },
      searchAttributes: [...REELAY_SEARCH_ATTRIBUTES],
      ip: '127.0.0.1',
      // The same server settings the demo and the benchmark run with.
      extraArgs: dynamicConfigFlags(),
    },
  });
  (globalThis as { __REELAY_TEST_ENV__?: TestWorkflowEnvironment }).__REELAY_TEST_ENV__ = env;
  process.env.REELAY_TEST_TEMPORAL_ADDRESS = env.address;
  process.env.REELAY_TEST_TEMPORAL_CLI = cli.path;

  // One real S3-compatible server (versitygw, POSIX backend, built once like the temporal CLI) with a bucket.
  const versitygw = ensureVersitygw({ log: (l) => console.log(l) });
  const store = await startObjectStore({ binary: versitygw.path });
  (globalThis as { __REELAY_TEST_STORE__?: ObjectStoreServer }).__REELAY_TEST_STORE__ = store;
  process.env[TEST_STORE_ENV.endpoint] = store.endpoint;
  process.env[TEST_STORE_ENV.bucket] = store.bucket;
  process.env[TEST_STORE_ENV.region] = store.region;
  process.env[TEST_STORE_ENV.accessKeyId] = store.credentials.accessKeyId;
  process.env[TEST_STORE_ENV.secretAccessKey] = store.credentials.secretAccessKey;
  process.env[TEST_STORE_ENV.binary] = versitygw.path;

  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../src/workflows'),
    logger: { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} } as never,
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reelay-test-bundle-'));
  const codePath = path.join(dir, 'workflows.js');
  fs.writeFileSync(codePath, code);
  process.env.REELAY_TEST_WORKFLOW_BUNDLE = codePath;
}
