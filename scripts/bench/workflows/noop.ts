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

export interface NoopWaitingInput {
  /** Activities one after another first (a pipeline validates its input in one). */
  first: number;
  /** Then activities in parallel (LipDub's video and audio uploads). */
  parallel: number;
  /** Then activities one after another (a submit, a first status call). */
  activities: number;
  /** Then one timer: the run waits, as a pipeline does between polls. */
  waitMs: number;
}

/** The shape of a pipeline that reached its first wait, doing nothing (the light section's reference). */
export async function noopWaiting(input: NoopWaitingInput): Promise<void> {
  for (let i = 0; i < input.first; i++) await noopStep();
  await Promise.all(Array.from({ length: input.parallel }, () => noopStep()));
  for (let i = 0; i < input.activities; i++) await noopStep();
  await sleep(input.waitMs);
}
