import { startPipeline } from '../../src/client';
import { limiterStateQuery, limiterWorkflowId } from '../../src/contract/limiter';
import { FAST_POLLING, startHarness, waitForProgress, type Harness } from '../support/harness';

/** The check interval the worker is given; a closed holder's slot must come back within it plus one check. */
const CHECK_SECONDS = 2;
const BOUND_MS = CHECK_SECONDS * 1000 + 8_000;

describe('job slots held by closed runs are reclaimed', () => {
  let h: Harness;

  beforeAll(async () => {
    // A's job runs for ten minutes: only a reclaim can free its slot in time.
    h = await startHarness({ timings: { aistudio: { pendingMs: 50, runMs: 600_000, mockRunMs: 600_000 } } });
    h.env.REELAY_AISTUDIO_MAX_CONCURRENT_JOBS = '1';
    h.env.REELAY_LIMITER_RECLAIM_CHECK_SECONDS = String(CHECK_SECONDS);
    await h.startWorker();
  });
  afterAll(async () => {
    await h.close();
  });

  it('a terminated holder\'s slot goes to the next waiter within the check interval, and that pipeline completes', async () => {
    const start = (prompt: string) =>
      startPipeline(h.client, 'aistudio', { prompt, mockMode: true, polling: FAST_POLLING }, { taskQueue: h.taskQueue });
    const a = await start('the holder that is terminated');
    await waitForProgress(a.handle, (p) => p.providerIds.jobId !== undefined);
    const b = await start('the waiter');
    await waitForProgress(b.handle, (p) => p.log.some((l) => l.message.startsWith('Waiting for one of 1 AI Studio job slot')));

    const limiter = h.client.workflow.getHandle(limiterWorkflowId('aistudio', h.taskQueue));
    const held = await limiter.query(limiterStateQuery);
    expect(held.holders.map((x) => x.requesterId)).toEqual([a.handle.workflowId]);
    expect(held.waiting.map((x) => x.requesterId)).toEqual([b.handle.workflowId]);

    // B's own job is quick; A's stays running at the provider (a terminate cancels nothing there).
    h.sandbox.configure({ timings: { aistudio: { runMs: 300, mockRunMs: 300 } } });
    await a.handle.terminate('operator terminates the holder');
    const terminatedAt = Date.now();

    await waitForProgress(b.handle, (p) => p.providerIds.jobId !== undefined, BOUND_MS);
    const grantedAfterMs = Date.now() - terminatedAt;
    expect(grantedAfterMs).toBeLessThan(BOUND_MS);
    const result = await b.handle.result();
    expect(result.jobId).toBeDefined();

    const after = await limiter.query(limiterStateQuery);
    expect(after).toMatchObject({ holders: [], waiting: [], reclaimed: 1, expired: 0 });
  });
});
