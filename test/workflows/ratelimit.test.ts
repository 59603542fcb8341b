import fs from 'node:fs';
import path from 'node:path';
import { startBatch } from '../../src/pipelines/batch/start';
import type { BatchPipelineResult } from '../../src/pipelines/batch/input';
import { NativeConnection } from '@temporalio/worker';
import { providerTaskQueue } from '../../src/contract/task-queues';
import { createReelayWorker } from '../../src/workers/worker';
import { readDeploymentRate, settleDeploymentRate } from '../../src/workers/paced-rate';
import { FAST_POLLING, startHarness, tempDir, temporalAddress, type Harness } from '../support/harness';

/**
 * Vivid Flow allows a number of requests per rolling hour per key. The sandbox compresses its "hour" to
 * 4 s with 10 requests allowed, so six jobs at once (about 30 requests) would break it within a second.
 */
const SANDBOX = {
  timings: { vividflow: { processMs: 300, workers: 6 } },
  vividflow: { hourlyLimit: 10, dailyLimit: 1_000_000 },
} as const;

async function runBatch(h: Harness, dir: string, name: string): Promise<BatchPipelineResult> {
  const manifest = path.join(dir, `${name}.jsonl`);
  const lines = Array.from({ length: 6 }, (_, i) =>
    JSON.stringify({ pipeline: 'vividflow', input: { prompt: `${name} ${i}`, imageUrl: 'gs://reelay-test/still.png', polling: FAST_POLLING } }),
  );
  fs.writeFileSync(manifest, lines.join('\n') + '\n');
  const batch = await startBatch(h.client, manifest, { taskQueue: h.taskQueue, outputRoot: h.outputRoot, window: 6 });
  return await batch.handle.result();
}

const vividRequests = (h: Harness) =>
  Object.entries(h.sandbox.counters())
    .filter(([k]) => k.startsWith('vividflow '))
    .reduce((n, [, v]) => n + v, 0);

describe('provider request limits across workers', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir('ratelimit');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a batch under a Vivid Flow rate limit never exceeds it (no 429 at all) and still finishes', async () => {
    const h = await startHarness(SANDBOX);
    try {
      // 1.5 requests/s: at most 6 (+ the server's burst) in any 4 s window, under the 10 allowed.
      h.env.REELAY_VIVIDFLOW_REQUESTS_PER_SECOND = '1.5';
      h.sandbox.configure({ vividflow: { hourMs: 4000 } });
      await h.startWorker();
      const result = await runBatch(h, dir, 'paced');
      expect(result).toMatchObject({ status: 'completed', succeeded: 6, failed: 0 });
      expect(vividRequests(h)).toBeGreaterThanOrEqual(6 * 3);
      expect(h.sandbox.stats().vividflow.rateLimited).toBe(0);
    } finally {
      await h.close();
    }
  });

  it('unpaced, the same batch runs into 429s, and the provider\'s retry_after slows it down instead of failing items', async () => {
    const h = await startHarness(SANDBOX);
    try {
      h.env.REELAY_VIVIDFLOW_REQUESTS_PER_SECOND = '0';
      h.sandbox.configure({ vividflow: { hourMs: 4000 } });
      await h.startWorker();
      const result = await runBatch(h, dir, 'unpaced');
      expect(result).toMatchObject({ status: 'completed', succeeded: 6, failed: 0 });
      expect(h.sandbox.stats().vividflow.rateLimited).toBeGreaterThan(0);
    } finally {
      await h.close();
    }
  });

  it('two workers configured differently keep the deployment\'s pace: the first one\'s 1.5/s, not the second one\'s 20/s', async () => {
    const h = await startHarness(SANDBOX);
    const connection = await NativeConnection.connect({ address: temporalAddress() });
    try {
      h.env.REELAY_VIVIDFLOW_REQUESTS_PER_SECOND = '1.5';
      h.sandbox.configure({ vividflow: { hourMs: 4000 } });
      await h.startWorker();
      const queue = providerTaskQueue(h.taskQueue, 'vividflow');
      expect(await readDeploymentRate(connection.workflowService, 'default', queue)).toMatchObject({ requestsPerSecond: 1.5 });

      // A second worker on the same queues, configured for 20/s, starts after it (the last to poll).
      const second = await createReelayWorker({
        connection,
        namespace: 'default',
        taskQueue: h.taskQueue,
        outputRoot: h.outputRoot,
        env: { ...h.env, REELAY_VIVIDFLOW_REQUESTS_PER_SECOND: '20' },
        workflowBundle: { codePath: process.env.REELAY_TEST_WORKFLOW_BUNDLE! },
      });
      const running = second.run();
      try {
        // What that worker was told at start: the deployment's rate, and its own setting named as unused.
        const seen = await settleDeploymentRate({ service: connection.workflowService, namespace: 'default', taskQueue: queue, configured: 20, variables: 'REELAY_VIVIDFLOW_REQUESTS_PER_SECOND', identity: 'test' });
        expect(seen).toMatchObject({ requestsPerSecond: 1.5, source: 'deployment' });
        expect(seen.warning).toMatch(/runs at the deployment's 1.5 requests\/s .*REELAY_VIVIDFLOW_REQUESTS_PER_SECOND \(20\/s\) is not used/);

        const result = await runBatch(h, dir, 'two-workers');
        expect(result).toMatchObject({ status: 'completed', succeeded: 6, failed: 0 });
        expect(vividRequests(h)).toBeGreaterThanOrEqual(6 * 3);
        expect(h.sandbox.stats().vividflow.rateLimited).toBe(0);
        expect(await readDeploymentRate(connection.workflowService, 'default', queue)).toMatchObject({ requestsPerSecond: 1.5 });
      } finally {
        second.shutdown();
        await running;
      }
    } finally {
      await h.close();
      await connection.close();
    }
  });
});
