/**
 * The benchmark's floor for orchestration: a workflow that does nothing but schedule `activities` no-op
 * activities and `timers` timers, in the same proportions as a real pipeline. Bench-only, never in src.
 */
import { proxyActivities, sleep } from '@temporalio/workflow';

export interface NoopActivities {
  noopActivity(): Promise<void>;
}

const { noopActivity } = proxyActivities<NoopActivities>({ startToCloseTimeout: '1 minute' });

export async function noopPipeline(args: { activities: number; timers: number; timerMs: number }): Promise<number> {
  let done = 0;
  for (let i = 0; i < Math.max(args.activities, args.timers); i++) {
    if (i < args.activities) {
      await noopActivity();
      done++;
    }
    if (i < args.timers) await sleep(args.timerMs);
  }
  return done;
}
