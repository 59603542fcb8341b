import { temporal } from '@temporalio/proto';
import { startPipeline } from '../../src/client';
import { loadConfig } from '../../src/config';
import { FAST_POLLING, startHarness } from '../support/harness';

const STICKY = temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_STICKY;

/**
 * REELAY_MAX_CACHED_WORKFLOWS bounds how many runs a worker keeps in memory. What the server records
 * shows whether a worker kept a run: with a cache, every workflow task after the first goes to the
 * worker's own sticky queue; without one, each goes back to the shared queue and is replayed.
 */
describe('REELAY_MAX_CACHED_WORKFLOWS', () => {
  async function stickyTasks(cache: string | undefined): Promise<{ tasks: number; sticky: number }> {
    const h = await startHarness({ timings: { text2video: { queueMs: 50, stageMs: 50 } } });
    try {
      if (cache === undefined) delete h.env.REELAY_MAX_CACHED_WORKFLOWS;
      else h.env.REELAY_MAX_CACHED_WORKFLOWS = cache;
      await h.startWorker();
      const started = await startPipeline(h.client, 'text2video', { text: `Cache ${cache ?? 'default'}: a lighthouse.`, polling: FAST_POLLING }, { taskQueue: h.taskQueue });
      await started.handle.result();
      const events = (await started.handle.fetchHistory()).events ?? [];
      const scheduled = events.filter((e) => e.workflowTaskScheduledEventAttributes);
      return { tasks: scheduled.length, sticky: scheduled.filter((e) => e.workflowTaskScheduledEventAttributes!.taskQueue?.kind === STICKY).length };
    } finally {
      await h.close();
    }
  }

  it('unset, the worker keeps runs between tasks (sticky); 0 turns the cache off (every task replays from the shared queue)', async () => {
    const cached = await stickyTasks(undefined);
    expect(cached.tasks).toBeGreaterThan(2);
    expect(cached.sticky).toBeGreaterThan(0);
    const uncached = await stickyTasks('0');
    expect(uncached.tasks).toBeGreaterThan(2);
    expect(uncached.sticky).toBe(0);
  }, 120_000);

  it('is read as a whole number, and anything else is refused naming the variable', () => {
    const maxCachedWorkflows = (env: NodeJS.ProcessEnv) => loadConfig(env).maxCachedWorkflows;
    expect(maxCachedWorkflows({})).toBeUndefined();
    expect(maxCachedWorkflows({ REELAY_MAX_CACHED_WORKFLOWS: '' })).toBeUndefined();
    expect(maxCachedWorkflows({ REELAY_MAX_CACHED_WORKFLOWS: '500' })).toBe(500);
    expect(maxCachedWorkflows({ REELAY_MAX_CACHED_WORKFLOWS: '0' })).toBe(0);
    for (const bad of ['-1', '1.5', 'lots', '0x10', '1e3']) {
      expect(() => maxCachedWorkflows({ REELAY_MAX_CACHED_WORKFLOWS: bad })).toThrow(/REELAY_MAX_CACHED_WORKFLOWS="[^"]*": must be a whole number/);
    }
  });
});
