import { progressQuery, startPipeline } from '../../src/client';
import { parseJsonOutput, runCli } from '../support/cli';
import { FAST_POLLING, makeFile, startHarness, tempDir, waitForProgress } from '../support/harness';

/**
 * `reelay status` when no worker answers the progress query (all stopped, or one busy replaying
 * thousands of waiting pipelines): it still shows the stage and the provider's ids, read from what the
 * server holds (the ReelayStage and ReelayJobIds search attributes), instead of "not available".
 */
describe('reelay status without an answering worker', () => {
  it('shows the stage and job ids the server holds, and the live progress again once a worker answers', async () => {
    const h = await startHarness({ timings: { lipdub: { shotMs: 120_000 } } });
    const dir = tempDir('status-fallback');
    try {
      await h.startWorker();
      const video = makeFile(dir, 'talk.mp4', 50_000);
      const audio = makeFile(dir, 'es.mp3', 5_000);
      const started = await startPipeline(h.client, 'lipdub', { video, audios: [{ source: audio, language: 'es' }], polling: FAST_POLLING }, { taskQueue: h.taskQueue });
      const live = await waitForProgress(started.handle, (p) => p.stage === 'waiting-for-shot' && Object.keys(p.providerIds).length > 0);
      await h.stopWorker();

      const r = await runCli(h, ['status', started.workflowId, '--json']);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      const s = parseJsonOutput<{ status: string; progress?: unknown; fromServer?: { stage?: string; jobIds?: string[] } }>(r);
      expect(s.status).toBe('RUNNING');
      expect(s.progress).toBeUndefined();
      expect(s.fromServer?.stage).toBe('waiting-for-shot');
      expect([...(s.fromServer?.jobIds ?? [])].sort()).toEqual([...new Set(Object.values(live.providerIds))].sort());

      const human = await runCli(h, ['status', started.workflowId]);
      expect(human.stdout).toMatch(/Stage: +waiting-for-shot +\(from the server; no worker answered/);
      expect(human.stdout).not.toContain('not available');

      await h.startWorker();
      const back = parseJsonOutput<{ progress?: { stage: string }; fromServer?: unknown }>(await runCli(h, ['status', started.workflowId, '--json']));
      expect(back.progress?.stage).toBe('waiting-for-shot');
      expect(back.fromServer).toBeUndefined();
      await started.handle.cancel();
      await started.handle.result().catch(() => undefined);
      expect((await started.handle.query(progressQuery)).stage).toBe('cancelled');
    } finally {
      await h.close();
    }
  }, 120_000);
});

describe('reelay status while an activity is being retried', () => {
  it('shows the activity, its attempt and what its last attempt failed with, and the run completes once the answers are usable', async () => {
    const h = await startHarness();
    try {
      await h.startWorker();
      // Every status answer is cut in half: the read is retried, and status says why.
      h.sandbox.setFaults({ rules: [{ key: 'text2video GET /api/v1/status/:jobId', faults: { malformedJson: 1 } }] });
      const started = await startPipeline(h.client, 'text2video', { text: 'A story told twice.', polling: FAST_POLLING }, { taskQueue: h.taskQueue });
      let retrying: Array<{ activity: string; attempt: number; lastFailure: string }> | undefined;
      const deadline = Date.now() + 30_000;
      while (!retrying?.length && Date.now() < deadline) {
        retrying = parseJsonOutput<{ retrying?: typeof retrying }>(await runCli(h, ['status', started.workflowId, '--json'])).retrying;
        if (!retrying?.length) await new Promise((r) => setTimeout(r, 300));
      }
      // The next attempt's time is known only between attempts, not while one is under way.
      const { nextAttemptAt, ...shown } = retrying![0]! as { nextAttemptAt?: unknown };
      expect(shown).toEqual({
        // The status call is made by the wait (src/activities/wait.ts); its failure names the endpoint.
        activity: 'waitForChange',
        attempt: expect.any(Number),
        lastFailure: expect.stringContaining('Text2Video GET /status/{job_id}: response is not JSON'),
      });
      if (nextAttemptAt !== undefined) expect(nextAttemptAt).toEqual(expect.any(String));
      expect(retrying![0]!.lastFailure).toContain('(a read: retried');
      const human = await runCli(h, ['status', started.workflowId]);
      expect(human.stdout).toMatch(/Retrying: +waitForChange \(attempt \d+(, next attempt [\d:]+)?\): Text2Video GET \/status\/\{job_id\}: response is not JSON/);

      h.sandbox.setFaults({});
      await expect(started.handle.result()).resolves.toMatchObject({ jobId: expect.any(String) });
    } finally {
      await h.close();
    }
  }, 120_000);
});
