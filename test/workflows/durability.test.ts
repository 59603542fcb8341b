import fs from 'node:fs';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { progressQuery, startPipeline } from '../../src/client';
import { lipdubOutput } from '../../src/sandbox/derive';
import { FAST_POLLING, makeFile, startHarness, tempDir, type Harness, waitForProgress } from '../support/harness';
import { killed, spawnWorker } from '../support/processes';

describe('durability and cancellation', () => {
  let h: Harness;
  let dir: string;

  beforeAll(async () => {
    h = await startHarness({ timings: { lipdub: { shotMs: 150, trainingMs: 150, generateQueueMs: 50, generateMs: 150 } } });
    dir = tempDir('durability-in');
  });
  afterAll(async () => {
    await h.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a worker SIGKILLed while the pipeline waits is replaced, and the same run finishes with no duplicate provider job', async () => {
    // The shot takes 4 s here, so the kill lands in the durable wait for it.
    h.sandbox.configure({ timings: { lipdub: { shotMs: 4000 } } });
    h.sandbox.resetCounters();
    const workerEnv = { ...h.env, REELAY_TEST_TEMPORAL_ADDRESS: process.env.REELAY_TEST_TEMPORAL_ADDRESS, REELAY_TEST_WORKFLOW_BUNDLE: process.env.REELAY_TEST_WORKFLOW_BUNDLE };
    let worker = await spawnWorker(workerEnv);
    try {
      const video = makeFile(dir, 'crash.mp4', 200_000);
      const audio = makeFile(dir, 'crash-es.mp3', 20_000);
      const started = await startPipeline(
        h.client,
        'lipdub',
        { video, audios: [{ source: audio, language: 'es' }], polling: { ...FAST_POLLING, initialIntervalSeconds: 0.3 } },
        { taskQueue: h.taskQueue },
      );
      await waitForProgress(started.handle, (p) => p.stage === 'waiting-for-shot' && p.providerIds.shotId !== undefined);
      await killed(worker);
      const statusCallsAtKill = h.sandbox.counters()['lipdub GET /v1/shots/:shotId/status'] ?? 0;
      await new Promise((r) => setTimeout(r, 1000));
      worker = await spawnWorker(workerEnv);

      const result = await started.handle.result();
      const counters = h.sandbox.counters();
      expect(counters['lipdub POST /v1/video']).toBe(1);
      expect(counters['lipdub POST /v1/video/success/:videoId']).toBe(1);
      expect(counters['lipdub POST /v1/audio']).toBe(1);
      expect(counters['lipdub POST /v1/shots/:shotId/generate']).toBe(1);
      expect(counters['lipdub GET /v1/shots/:shotId/status']).toBeGreaterThan(statusCallsAtKill);
      expect(fs.readFileSync(result.outputs[0]!.path).equals(lipdubOutput(fs.readFileSync(video), fs.readFileSync(audio), 'es'))).toBe(true);
      const { runId } = await started.handle.describe();
      expect(runId).toBe(started.runId);
    } finally {
      await killed(worker);
      h.sandbox.configure({ timings: { lipdub: { shotMs: 150 } } });
    }
  });

  it('cancelling a pipeline mid-generation ends it as cancelled and reports what is left at LipDub', async () => {
    await h.startWorker();
    h.sandbox.configure({ timings: { lipdub: { generateMs: 60_000 } } });
    try {
      const started = await startPipeline(
        h.client,
        'lipdub',
        { video: makeFile(dir, 'cancel.mp4', 5000), audios: [{ source: makeFile(dir, 'cancel.mp3', 500), language: 'ko' }], polling: FAST_POLLING },
        { taskQueue: h.taskQueue },
      );
      const running = await waitForProgress(started.handle, (p) => p.providerIds['generateId:ko'] !== undefined);
      await started.handle.cancel();
      const err = await started.handle.result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
      const after = await started.handle.query(progressQuery);
      expect(after.stage).toBe('cancelled');
      expect(after.leftAtProvider).toEqual([expect.stringContaining(`generation ${running.providerIds['generateId:ko']}`)]);
      expect((await started.handle.describe()).status.name).toBe('CANCELLED');
    } finally {
      h.sandbox.configure({ timings: { lipdub: { generateMs: 150 } } });
    }
  });
});
