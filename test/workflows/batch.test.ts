import fs from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { ManifestError } from '../../src/pipelines/batch/manifest';
import { readResults, retryFailed, startBatch } from '../../src/pipelines/batch/start';
import { text2videoOutput } from '../../src/sandbox/derive';
import { batchProgressQuery, cancelBatchSignal, pauseSignal, resumeSignal } from '../../src/pipelines/batch/signals';
import type { BatchProgress } from '../../src/pipelines/batch/input';
import { startHarness, tempDir, type Harness } from '../support/harness';

const FAST = { initialIntervalSeconds: 0.05, maxIntervalSeconds: 0.1 };

function writeJsonl(dir: string, name: string, items: unknown[]): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, items.map((i) => JSON.stringify(i)).join('\n') + '\n');
  return file;
}

const t2v = (text: string) => ({ pipeline: 'text2video', input: { text, polling: FAST } });

async function waitForBatch(handle: WorkflowHandle, until: (p: BatchProgress) => boolean, timeoutMs = 60_000): Promise<BatchProgress> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const p = await handle.query(batchProgressQuery).catch(() => undefined);
    if (p && until(p)) return p;
    if (Date.now() > deadline) throw new Error(`batch progress never reached the expected state; last: ${JSON.stringify(p)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Event counts of every run in the continue-as-new chain, first run first. */
async function runHistories(h: Harness, workflowId: string, firstRunId: string): Promise<number[]> {
  const counts: number[] = [];
  for (let runId: string | undefined = firstRunId; runId; ) {
    const history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>> = await h.client.workflow.getHandle(workflowId, runId).fetchHistory();
    const events: NonNullable<typeof history.events> = history.events ?? [];
    counts.push(events.length);
    runId = events[events.length - 1]?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  return counts;
}

describe('batchPipeline on a real dev server against the sandbox', () => {
  let h: Harness;
  let dir: string;

  beforeAll(async () => {
    h = await startHarness({ timings: { text2video: { queueMs: 0, stageMs: 0 }, aistudio: { pendingMs: 0, runMs: 0, mockRunMs: 0 } } });
    await h.startWorker();
    dir = tempDir('batch-in');
  });
  afterAll(async () => {
    await h.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a manifest with bad lines, listing every one with its number and reason, and starts nothing', async () => {
    const file = path.join(dir, 'bad.jsonl');
    fs.writeFileSync(
      file,
      [
        JSON.stringify(t2v('fine')),
        JSON.stringify({ pipeline: 'text2video', input: { text: '' } }),
        '{not json',
        JSON.stringify({ pipeline: 'nope', input: {} }),
        JSON.stringify({ pipeline: 'vividflow', input: { prompt: 'x', imageUrl: 'gs://b/i.png', cfg: 1000 } }),
      ].join('\n'),
    );
    const err = (await startBatch(h.client, file, { taskQueue: h.taskQueue, outputRoot: h.outputRoot, key: 'bad' }).catch((e: unknown) => e)) as ManifestError;
    expect(err).toBeInstanceOf(ManifestError);
    expect(err.problems.map((p) => p.line)).toEqual([2, 3, 4, 5]);
    expect(err.message).toMatch(/line 2: input\.text: must not be empty/);
    expect(err.message).toMatch(/line 5: input\.cfg: /);
    await expect(h.client.workflow.getHandle('batch-bad').describe()).rejects.toThrow();
  });

  it('runs a mixed batch (text2video + AI Studio mock) and writes one result per line', async () => {
    const file = writeJsonl(dir, 'mixed.jsonl', [
      t2v('first story'),
      { pipeline: 'aistudio', input: { prompt: 'a mock veo job', mockMode: true, polling: FAST, slotWait: { initialSeconds: 0.05, maxSeconds: 0.1 } } },
      t2v('second story'),
      { pipeline: 'aistudio', input: { prompt: 'another mock', mockMode: true, polling: FAST, slotWait: { initialSeconds: 0.05, maxSeconds: 0.1 } }, key: 'studio-2' },
    ]);
    const started = await startBatch(h.client, file, { taskQueue: h.taskQueue, outputRoot: h.outputRoot, window: 3 });
    const result = await started.handle.result();
    expect(result).toMatchObject({ status: 'completed', total: 4, succeeded: 4, failed: 0, failedLines: [] });
    const records = readResults(result.resultsPath!);
    expect(records.map((r) => [r.line, r.pipeline, r.status])).toEqual([
      [1, 'text2video', 'completed'],
      [2, 'aistudio', 'completed'],
      [3, 'text2video', 'completed'],
      [4, 'aistudio', 'completed'],
    ]);
    expect(records[3]!.workflowId).toBe(`${started.batchId}-studio-2`);
    const first = records[0]!.result as { output: { path: string } };
    expect(first.output.path).toBe(path.join(h.outputRoot, started.batchId, 'items', '1', 'video.mp4'));
    expect(fs.readFileSync(first.output.path).equals(text2videoOutput('first story'))).toBe(true);
    const p = await started.handle.query(batchProgressQuery);
    expect(p).toMatchObject({ status: 'completed', total: 4, done: 4, failed: 0, running: 0, queued: 0 });
  });

  it('records a failed item, and retry-failed re-runs only that item', async () => {
    h.sandbox.configure({ text2video: { failTexts: ['FAIL'] } });
    try {
      const file = writeJsonl(dir, 'fail.jsonl', [t2v('ok one'), t2v('this will FAIL'), t2v('ok two')]);
      const started = await startBatch(h.client, file, { taskQueue: h.taskQueue, outputRoot: h.outputRoot });
      const result = await started.handle.result();
      expect(result).toMatchObject({ status: 'completed', succeeded: 2, failed: 1, failedLines: [2] });
      const failed = readResults(result.resultsPath!).find((r) => r.line === 2)!;
      expect(failed.status).toBe('failed');
      expect(failed.error?.type).toBe('ProviderJobFailed');

      h.sandbox.configure({ text2video: { failTexts: [] } });
      h.sandbox.resetCounters();
      const retry = await retryFailed(h.client, started.batchId);
      expect(retry.batchId).toBe(`${started.batchId}-retry-1`);
      if (!('handle' in retry)) throw new Error('retryFailed started nothing');
      const retried = await retry.handle.result();
      expect(retried).toMatchObject({ status: 'completed', total: 1, succeeded: 1, failed: 0 });
      expect(h.sandbox.counters()['text2video POST /api/v1/generate']).toBe(1);
      // The retry appends to the original's results: every line now completed.
      expect(retried.resultsPath).toBe(result.resultsPath);
      expect(readResults(result.resultsPath!).map((r) => r.status)).toEqual(['completed', 'completed', 'completed']);
    } finally {
      h.sandbox.configure({ text2video: { failTexts: [] } });
    }
  });

  it('pauses (running items finish, none start) and resumes', async () => {
    h.sandbox.configure({ timings: { text2video: { stageMs: 100 } } });
    try {
      const file = writeJsonl(dir, 'pause.jsonl', Array.from({ length: 8 }, (_, i) => t2v(`pause story ${i}`)));
      const started = await startBatch(h.client, file, { taskQueue: h.taskQueue, outputRoot: h.outputRoot, window: 2 });
      await waitForBatch(started.handle, (p) => p.running === 2);
      await started.handle.signal(pauseSignal);
      const paused = await waitForBatch(started.handle, (p) => p.paused && p.running === 0);
      expect(paused.status).toBe('paused');
      expect(paused.done).toBeLessThan(8);
      await new Promise((r) => setTimeout(r, 1000));
      const still = await started.handle.query(batchProgressQuery);
      expect(still.done).toBe(paused.done);
      expect(still.running).toBe(0);
      await started.handle.signal(resumeSignal);
      const result = await started.handle.result();
      expect(result).toMatchObject({ status: 'completed', succeeded: 8 });
    } finally {
      h.sandbox.configure({ timings: { text2video: { stageMs: 0 } } });
    }
  });

  it('cancel stops starting, cancels the running items and ends with the counts', async () => {
    h.sandbox.configure({ timings: { text2video: { stageMs: 2000 } } });
    try {
      const file = writeJsonl(dir, 'cancel.jsonl', Array.from({ length: 6 }, (_, i) => t2v(`cancel story ${i}`)));
      const started = await startBatch(h.client, file, { taskQueue: h.taskQueue, outputRoot: h.outputRoot, window: 2 });
      await waitForBatch(started.handle, (p) => p.running === 2);
      await started.handle.signal(cancelBatchSignal);
      const result = await started.handle.result();
      expect(result).toMatchObject({ status: 'cancelled', succeeded: 0, failed: 0, cancelled: 2, notStarted: 4 });
      expect(readResults(result.resultsPath!).map((r) => r.status)).toEqual(['cancelled', 'cancelled']);
    } finally {
      h.sandbox.configure({ timings: { text2video: { stageMs: 0 } } });
    }
  });

  it('runs 1,000 items with every run\'s history bounded', async () => {
    const ITEMS = 1000;
    const ITEMS_PER_RUN = 200;
    const WINDOW = 50;
    const file = writeJsonl(dir, 'thousand.jsonl', Array.from({ length: ITEMS }, (_, i) => t2v(`story number ${i}`)));
    const t0 = Date.now();
    let peakRss = process.memoryUsage().rss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 250);
    try {
      const started = await startBatch(h.client, file, { taskQueue: h.taskQueue, outputRoot: h.outputRoot, window: WINDOW, itemsPerRun: ITEMS_PER_RUN });
      const result = await started.handle.result();
      const wallMs = Date.now() - t0;
      expect(result).toMatchObject({ status: 'completed', total: ITEMS, succeeded: ITEMS, failed: 0 });
      expect(readResults(result.resultsPath!)).toHaveLength(ITEMS);
      const counts = await runHistories(h, started.batchId, started.runId);
      // A run starts items until ITEMS_PER_RUN have finished, then drains its window: at most
      // ITEMS_PER_RUN + WINDOW - 1 items per run. Per item: StartChildWorkflowExecutionInitiated,
      // ChildWorkflowExecutionStarted, ChildWorkflowExecutionCompleted, plus at most two workflow tasks (3 events
      // each) to react to its start and its end: ≤ 9. Page reads and result appends are one activity (3 events)
      // per wake-up, each following a child event, so ≤ 3 more per item; + 100 for the run's start and end.
      const bound = 12 * (ITEMS_PER_RUN + WINDOW) + 100;
      console.log(
        `batch of ${ITEMS}: ${(wallMs / 1000).toFixed(1)} s wall, ${result.runs} runs, events per run ${counts.join(', ')} (bound ${bound}), peak test-process RSS (worker in-process) ${(peakRss / 2 ** 20).toFixed(0)} MiB`,
      );
      expect(counts.length).toBe(result.runs);
      expect(counts.length).toBeGreaterThanOrEqual(ITEMS / ITEMS_PER_RUN);
      expect(Math.max(...counts)).toBeLessThan(bound);
    } finally {
      clearInterval(sampler);
    }
  }, 300_000);
});
