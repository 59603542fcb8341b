import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { maxConcurrentJobs } from '../config';
import { acquireSlotSignal, limiterWorkflowId, type AcquireRequest, type HolderRun, type LimiterState, type SlotClaim } from '../contract/limiter';
import type { providerLimiterWorkflow } from '../workflows/limiter';
import type { ActivityDeps } from './shared';
import { PRIORITY_HIGHEST, definedClaim } from '../contract/slot-order';

/** Holders looked up at once by one reclaim check. */
const CHECKS_AT_ONCE = 8;

export function createLimiterActivities(deps: ActivityDeps) {
  return {
    /**
     * Ask the provider's limiter workflow for a job slot, starting the limiter if it is not running yet
     * (signal-with-start: exactly one limiter per provider and task queue). `limited: false` when this
     * worker's configuration sets no cap for the provider: the pipeline goes ahead without a slot.
     */
    async limiterAcquire(
      args: { provider: string; requesterId: string; requestId: string; requesterRunId?: string } & SlotClaim,
    ): Promise<{ limited: boolean; capacity: number }> {
      const capacity = maxConcurrentJobs(deps.config, args.provider);
      if (capacity === 0) return { limited: false, capacity };
      const ctx = Context.current();
      const taskQueue = ctx.info.taskQueue;
      const reclaimCheckMs = deps.config.limiterReclaimCheckMs;
      const initial: LimiterState = { provider: args.provider, capacity, holders: [], waiting: [], expired: 0, reclaimed: 0, reclaimCheckMs };
      await ctx.client.workflow.signalWithStart<typeof providerLimiterWorkflow, [AcquireRequest]>('providerLimiterWorkflow', {
        workflowId: limiterWorkflowId(args.provider, taskQueue),
        taskQueue,
        args: [initial],
        signal: acquireSlotSignal,
        signalArgs: [
          {
            requesterId: args.requesterId,
            requestId: args.requestId,
            ...(args.requesterRunId !== undefined ? { requesterRunId: args.requesterRunId } : {}),
            ...definedClaim(args),
            capacity,
            reclaimCheckMs,
          },
        ],
        staticSummary: `${args.provider} job slots, shared by every worker on ${taskQueue}`,
        // The limiter's tasks go ahead of the pipelines' on a busy queue: every grant waits on them.
        priority: { priorityKey: PRIORITY_HIGHEST },
      });
      return { limited: true, capacity };
    },

    /**
     * Which of the limiter's holders have closed runs (completed, failed, cancelled, terminated, timed out,
     * continued as new, reset away) or no longer exist: their slots are free. A holder without a run id is
     * looked up by workflow id (its latest run). Returns the closed holders' request ids.
     */
    async limiterClosedHolders(args: { holders: Array<HolderRun & { requestId: string }> }): Promise<string[]> {
      const { client } = Context.current();
      const closed: string[] = [];
      const isClosed = async (holder: HolderRun & { requestId: string }): Promise<boolean> => {
        try {
          const described = await client.workflow.getHandle(holder.workflowId, holder.runId).describe();
          // A holder that continued as new holds its slot in its latest run (src/workflows/shared/continuation.ts).
          const alive =
            described.status.name === 'RUNNING' ||
            (described.status.name === 'CONTINUED_AS_NEW' && (await client.workflow.getHandle(holder.workflowId).describe()).status.name === 'RUNNING');
          return !alive;
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) return true;
          throw err;
        }
      };
      // A few look-ups at a time: at a cap of hundreds a check takes a second or two, not a minute.
      let next = 0;
      const lane = async () => {
        while (next < args.holders.length) {
          const holder = args.holders[next++]!;
          if (await isClosed(holder)) closed.push(holder.requestId);
        }
      };
      await Promise.all(Array.from({ length: Math.min(CHECKS_AT_ONCE, args.holders.length) }, lane));
      return closed;
    },
  };
}
