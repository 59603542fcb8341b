/**
 * The benchmark's reference workflow: the same number of activities and timers as a pipeline, doing
 * nothing. What it costs is what Temporal costs; a pipeline's excess over it is Reelay's.
 * Bundled by the benchmark only; never registered by a Reelay worker.
 */
import { proxyActivities, sleep } from '@temporalio/workflow';

/** Implemented by scripts/bench/worker.ts. */
export interface NoopActivities {
  noopStep(): Promise<void>;
}

export interface NoopPipelineInput {
  activities: number;
  timers: number;
  timerMs: number;
}

const { noopStep } = proxyActivities<NoopActivities>({ startToCloseTimeout: '45 seconds' });

/** step, wait, step, wait, …: timers sit between activities, as a pipeline's polls do. */
export async function noopPipeline(input: NoopPipelineInput): Promise<void> {
  for (let i = 0; i < Math.max(input.activities, input.timers); i++) {
    if (i < input.activities) await noopStep();
    if (i < input.timers) await sleep(input.timerMs);
  }
}
