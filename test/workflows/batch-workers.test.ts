import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { readResults, startBatch } from '../../src/pipelines/batch/start';
import { batchProgressQuery } from '../../src/pipelines/batch/signals';
import { FAST_POLLING, startHarness, tempDir, type Harness } from '../support/harness';
import { killed, spawnWorker } from '../support/processes';

describe('a batch shared by two worker processes', () => {
  let h: Harness;
  let dir: string;
  const workers: ChildProcess[] = [];

  beforeAll(async () => {
    h = await startHarness({ timings: { text2video: { queueMs: 20, stageMs: 40 } } });
    dir = tempDir('batch-workers');
  });
  afterAll(async () => {
    await Promise.all(workers.map(killed));
    await h.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('loses nothing when one of them is SIGKILLed mid-batch', async () => {
    const env = { ...h.env, REELAY_TEST_TEMPORAL_ADDRESS: process.env.REELAY_TEST_TEMPORAL_ADDRESS, REELAY_TEST_WORKFLOW_BUNDLE: process.env.REELAY_TEST_WORKFLOW_BUNDLE };
    workers.push(await spawnWorker(env), await spawnWorker(env));
    const total = 40;
    const manifest = path.join(dir, 'stories.jsonl');
    fs.writeFileSync(
      manifest,
      Array.from({ length: total }, (_, i) => JSON.stringify({ pipeline: 'text2video', input: { text: `Story ${i + 1}`, polling: FAST_POLLING } })).join('\n') + '\n',
    );
    const batch = await startBatch(h.client, manifest, { taskQueue: h.taskQueue, outputRoot: h.outputRoot, window: 8, itemsPerRun: 15 });

    // Kill one worker once the batch is well under way (some done, some running).
    for (;;) {
      const p = await batch.handle.query(batchProgressQuery);
      if (p.done >= 10 && p.running > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await killed(workers[0]!);

    const result = await batch.handle.result();
    expect(result).toMatchObject({ status: 'completed', total, succeeded: total, failed: 0, cancelled: 0 });
    const records = readResults(result.resultsPath!);
    expect(records.map((r) => r.line).sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(records.every((r) => r.status === 'completed')).toBe(true);
    // Every item's video is on disk.
    for (const r of records) {
      const out = (r.result as { output: { path: string; bytes: number } }).output;
      expect(fs.statSync(out.path).size).toBe(out.bytes);
    }
    // Recovery waits for the server to time out what the killed worker held (a create's 1 min heartbeat
    // timeout, a status call's 45 s start-to-close): minutes on a busy machine, so the limit is generous.
  }, 5 * 60_000);
});
