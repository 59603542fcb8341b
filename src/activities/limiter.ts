import { Context } from '@temporalio/activity';
import { maxConcurrentJobs } from '../config';
import { acquireSlotSignal, limiterWorkflowId, type AcquireRequest, type LimiterState } from '../contract/limiter';
import type { providerLimiterWorkflow } from '../workflows/limiter';
import type { ActivityDeps } from './shared';

export function createLimiterActivities(deps: ActivityDeps) {
  return {
    /**
     * Ask the provider's limiter workflow for a job slot, starting the limiter if it is not running yet
     * (signal-with-start: exactly one limiter per provider and task queue). `limited: false` when this
     * worker's configuration sets no cap for the provider: the pipeline goes ahead without a slot.
     */
    async limiterAcquire(args: { provider: string; requesterId: string; requestId: string }): Promise<{ limited: boolean; capacity: number }> {
      const capacity = maxConcurrentJobs(deps.config, args.provider);
      if (capacity === 0) return { limited: false, capacity };
      const ctx = Context.current();
      const taskQueue = ctx.info.taskQueue;
      const initial: LimiterState = { provider: args.provider, capacity, holders: [], waiting: [], expired: 0 };
      await ctx.client.workflow.signalWithStart<typeof providerLimiterWorkflow, [AcquireRequest]>('providerLimiterWorkflow', {
        workflowId: limiterWorkflowId(args.provider, taskQueue),
        taskQueue,
        args: [initial],
        signal: acquireSlotSignal,
        signalArgs: [{ requesterId: args.requesterId, requestId: args.requestId, capacity }],
        staticSummary: `${args.provider} job slots, shared by every worker on ${taskQueue}`,
      });
      return { limited: true, capacity };
    },
  };
}
