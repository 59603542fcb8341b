import fs from 'node:fs';
import type { WorkflowFailedError, WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import {
  progressQuery,
  startPipeline,
} from '../../src/client';
import { sha256Hex, text2videoOutput } from '../../src/sandbox/derive';
import { FAST_POLLING, startHarness, type Harness } from '../support/harness';

/**
 * The generation pipelines against a sandbox that answers with exactly what the provider docs show
 * (src/sandbox/config.ts, profile docs-minimal): no assumed fields, per-state answers, download URLs
 * that expire 20 s after issue.
 */

const failureOf = async (handle: WorkflowHandle) => (await handle.result().then(() => undefined, (e: unknown) => e)) as WorkflowFailedError;

/** The workflow's own failure (thrown by the workflow, not an activity): its type and message. */
async function jobFailure(handle: WorkflowHandle): Promise<ApplicationFailure> {
  const err = await failureOf(handle);
  expect(err.cause).toBeInstanceOf(ApplicationFailure);
  return err.cause as ApplicationFailure;
}

const logOf = async (handle: WorkflowHandle) => (await handle.query(progressQuery)).log.map((l) => l.message);

describe('generation pipelines against the docs-minimal sandbox', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({
      profile: 'docs-minimal',
      timings: {
        text2video: { queueMs: 50, stageMs: 60 },
        vividflow: { processMs: 200, workers: 1 },
        aistudio: { pendingMs: 50, runMs: 300, mockRunMs: 300 },
      },
    });
    await h.startWorker();
  });
  afterAll(async () => {
    await h.close();
  });
  afterEach(() => {
    h.sandbox.setFaults({});
    h.sandbox.configure({ text2video: { failTexts: [] }, vividflow: { failPrompts: [] }, aistudio: { failPrompts: [] } });
  });

  describe('text2video', () => {
    it('turns a story into a video', async () => {
      const text = 'A story told to a server that says only what its docs say.';
      const started = await startPipeline(h.client, 'text2video', { text, polling: FAST_POLLING }, { taskQueue: h.taskQueue });
      const result = await started.handle.result();
      expect(result.output.sha256).toBe(sha256Hex(text2videoOutput(text)));
      expect((await started.handle.query(progressQuery)).stage).toBe('completed');
    });

    it('a failed job fails the pipeline with the reason from the status message (the docs show no error field)', async () => {
      h.sandbox.configure({ text2video: { failTexts: ['doomed'] } });
      const started = await startPipeline(h.client, 'text2video', { text: 'a doomed story', polling: FAST_POLLING }, { taskQueue: h.taskQueue });
      const failure = await jobFailure(started.handle);
      expect(failure.type).toBe('ProviderJobFailed');
      expect(failure.message).toMatch(/^text2video job \S+ failed: Error: Error generating search queries: .*"doomed"/);
    });

    it('a status the docs do not list keeps the pipeline waiting, said once in its progress log', async () => {
      h.sandbox.setFaults({ rules: [{ key: 'text2video GET /api/v1/status/:jobId', faults: { unknownStatus: { rate: 1, first: 3 } } }] });
      const started = await startPipeline(h.client, 'text2video', { text: 'a paused story', polling: FAST_POLLING }, { taskQueue: h.taskQueue });
      await started.handle.result();
      const log = await logOf(started.handle);
      expect(log.filter((m) => /^text2video reported status "paused" for job \S+, which the docs do not list; still waiting$/.test(m))).toHaveLength(1);
      expect(h.sandbox.faultStats().total).toEqual({ unknownStatus: 3 });
    });
  });

  describe('vividflow', () => {
    it('animates an image; the result URL is read fresh and downloaded within its 20 s', async () => {
      const started = await startPipeline(
        h.client,
        'vividflow',
        { prompt: 'the sea starts to move, docs only', imageUrl: 'gs://reelay-test/still.png', polling: FAST_POLLING },
        { taskQueue: h.taskQueue },
      );
      const result = await started.handle.result();
      expect(sha256Hex(fs.readFileSync(result.output.path))).toBe(result.output.sha256);
      expect(result.metrics?.totalTime).toEqual(expect.any(Number));
    });

    it('a failed job fails the pipeline with its error_message', async () => {
      h.sandbox.configure({ vividflow: { failPrompts: ['doomed'] } });
      const started = await startPipeline(h.client, 'vividflow', { prompt: 'a doomed sea', imageUrl: 'gs://reelay-test/still.png', polling: FAST_POLLING }, { taskQueue: h.taskQueue });
      const failure = await jobFailure(started.handle);
      expect(failure.type).toBe('ProviderJobFailed');
      expect(failure.message).toMatch(/^Vivid Flow job \S+ failed: Video generation returned no results\.$/);
    });

    it('a status the docs do not list keeps the pipeline waiting, said once in its progress log', async () => {
      h.sandbox.setFaults({ rules: [{ key: 'vividflow GET /api/v1/status/:jobId', faults: { unknownStatus: { rate: 1, first: 3 } } }] });
      const started = await startPipeline(h.client, 'vividflow', { prompt: 'a paused sea', imageUrl: 'gs://reelay-test/still.png', polling: FAST_POLLING }, { taskQueue: h.taskQueue });
      await started.handle.result();
      const log = await logOf(started.handle);
      expect(log.filter((m) => /^Vivid Flow reported status "paused" for job \S+, which the docs do not list; still waiting$/.test(m))).toHaveLength(1);
    });
  });

  describe('aistudio', () => {
    it('generates a video from per-state poll answers without logs or nulls', async () => {
      const started = await startPipeline(h.client, 'aistudio', { prompt: 'a boat, docs only', mockMode: true, polling: FAST_POLLING }, { taskQueue: h.taskQueue });
      const result = await started.handle.result();
      expect(fs.statSync(result.output.path).size).toBe(result.output.bytes);
      expect(result.tokensConsumed).toBe(50);
      expect((await started.handle.query(progressQuery)).percent).toBe(100);
    });

    it('a failed job fails the pipeline with its errorMessage', async () => {
      h.sandbox.configure({ aistudio: { failPrompts: ['doomed'] } });
      const started = await startPipeline(h.client, 'aistudio', { prompt: 'a doomed boat', mockMode: true, polling: FAST_POLLING }, { taskQueue: h.taskQueue });
      const failure = await jobFailure(started.handle);
      expect(failure.type).toBe('ProviderJobFailed');
      expect(failure.message).toMatch(/^AI Studio job \S+ FAILED: Video generation failed: the Veo API returned no video for this prompt$/);
    });

    it('a status the docs do not list keeps the pipeline waiting, said once in its progress log', async () => {
      h.sandbox.setFaults({ rules: [{ key: 'aistudio GET /api/v1/video-jobs/:jobId', faults: { unknownStatus: { rate: 1, first: 3 } } }] });
      const started = await startPipeline(h.client, 'aistudio', { prompt: 'a paused boat', mockMode: true, polling: FAST_POLLING }, { taskQueue: h.taskQueue });
      await started.handle.result();
      const log = await logOf(started.handle);
      expect(log.filter((m) => /^AI Studio reported status "PAUSED" for job \S+, which the docs do not list; still waiting$/.test(m))).toHaveLength(1);
    });
  });
});
