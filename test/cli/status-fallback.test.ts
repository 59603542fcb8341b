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
