import fs from 'node:fs';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ObjectStoreServer } from '../../src/dev/objectstore';

export default async function globalTeardown(): Promise<void> {
  const env = (globalThis as { __REELAY_TEST_ENV__?: TestWorkflowEnvironment }).__REELAY_TEST_ENV__;
  await env?.teardown();
  await (globalThis as { __REELAY_TEST_STORE__?: ObjectStoreServer }).__REELAY_TEST_STORE__?.stop();
  const bundle = process.env.REELAY_TEST_WORKFLOW_BUNDLE;
  if (bundle) fs.rmSync(path.dirname(bundle), { recursive: true, force: true });
}
