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

/** Implemented by scripts/bench/worker.ts: one GET, the status call a poll makes. */
export interface PollActivities {
  noopPoll(url: string): Promise<void>;
}

export interface LegacyPollInput {
  url: string;
  initialMs: number;
  maxMs: number;
  coefficient: number;
}

const { noopPoll } = proxyActivities<PollActivities>({ startToCloseTimeout: '45 seconds' });

/**
 * A poll as every pipeline made it before the wait moved into one retried activity (issue 16): a status
 * activity, then a durable timer, on the same backoff, until terminated. The benchmark's "before".
 */
export async function legacyPollLoop(input: LegacyPollInput): Promise<void> {
  for (let i = 0; ; i++) {
    await noopPoll(input.url);
    await sleep(Math.min(input.maxMs, input.initialMs * input.coefficient ** i));
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
