import type { PollingConfig } from './common';

/**
 * When to ask a provider again, from what it tells about the job. Pure (no Temporal imports): the
 * workflows, the unit tests and the benchmark's simulation all run this same code.
 *
 * Plain backoff cannot poll both rarely and promptly: it does not know when a job can be done. With a
 * hint it can. Before the earliest time the job could end there is nothing to learn, so the wait runs to
 * that time (within `maxIntervalSeconds`). From then on the job may end at any moment, and a poll made
 * `LAG_FRACTION × elapsed` after the previous one notices the end at most that fraction of the job's own
 * duration late: dense around the expected end, sparser the longer the job runs.
 */

/** How long a provider job takes, measured from the start of the wait. */
export interface ExpectedDuration {
  minMs: number;
  maxMs: number;
  /** Where the figure comes from ("documented: …", "provider estimate …"), for logs and docs. */
  source: string;
}

/** A progress reading: the fraction done (0–1) at `elapsedMs` since the wait started. */
export interface ProgressSample {
  elapsedMs: number;
  fraction: number;
}

export interface PollHint {
  /** A documented, assumed or provider-estimated duration of the job. */
  expected?: ExpectedDuration;
  /** The progress readings so far, oldest first; they take over from `expected` once they give a rate. */
  progress?: readonly ProgressSample[];
}

/**
 * Once the job may be done, each wait is this share of the time waited so far, so the end is noticed at
 * most 8 % of the job's duration late (the target is 10 %; the rest is room for the status call itself).
 */
export const LAG_FRACTION = 0.08;

/**
 * Of the time a progress rate says is left, wait this share before looking again. Progress is often
 * stepwise or jumps at the end (AI Studio goes from 90 % to 100 %), so a straight line overshoots.
 */
export const PROGRESS_WAIT_SHARE = 0.8;

/** The n-th wait (0-based) of a backoff: initial × coefficient^n, capped. What runs without a hint. */
export function backoffSeconds(config: Pick<PollingConfig, 'initialIntervalSeconds' | 'maxIntervalSeconds' | 'backoffCoefficient'>, attempt: number): number {
  return Math.min(config.maxIntervalSeconds, config.initialIntervalSeconds * config.backoffCoefficient ** attempt);
}

/**
 * When the progress readings say the job will end (ms since the wait started), or undefined when they give
 * no rate yet. The rate runs from the first reading above 0 to the first reading of the latest level
 * (stepwise progress reaches a level about when it is first seen); with one level only, from the start.
 */
export function progressFinishMs(samples: readonly ProgressSample[] | undefined): number | undefined {
  const moving = (samples ?? []).filter((s) => s.fraction > 0 && s.fraction < 1 && s.elapsedMs > 0);
  if (moving.length === 0) return undefined;
  const last = moving[moving.length - 1]!;
  const first = moving[0]!;
  const levelReached = moving.find((s) => s.fraction >= last.fraction)!;
  const rate =
    levelReached.fraction > first.fraction && levelReached.elapsedMs > first.elapsedMs
      ? (levelReached.fraction - first.fraction) / (levelReached.elapsedMs - first.elapsedMs)
      : levelReached.fraction / levelReached.elapsedMs;
  if (!(rate > 0) || !Number.isFinite(rate)) return undefined;
  return levelReached.elapsedMs + (1 - levelReached.fraction) / rate;
}

/**
 * The earliest time (ms since the wait started) the job is worth checking: from the progress rate when
 * there is one, else the documented or estimated minimum duration; undefined without a hint.
 */
export function earliestFinishMs(elapsedMs: number, hint: PollHint | undefined): number | undefined {
  const finish = progressFinishMs(hint?.progress);
  if (finish !== undefined) return elapsedMs + PROGRESS_WAIT_SHARE * (finish - elapsedMs);
  return hint?.expected?.minMs;
}

/**
 * How long to wait before the next status call (ms), after `attempt` calls (0-based) and `elapsedMs` since
 * the wait started. With a hint: up to the earliest possible end, then `LAG_FRACTION × elapsed`; without
 * one, the configured backoff as before. Always within [initialIntervalSeconds, maxIntervalSeconds]; the
 * caller also keeps it inside the pipeline's deadline.
 */
export function nextPollDelay(opts: { elapsedMs: number; attempt: number; config: PollingConfig; hint?: PollHint }): number {
  const { elapsedMs, attempt, config } = opts;
  const earliest = config.hints ? earliestFinishMs(elapsedMs, opts.hint) : undefined;
  if (earliest === undefined) return backoffSeconds(config, attempt) * 1000;
  const floorMs = config.initialIntervalSeconds * 1000;
  const capMs = config.maxIntervalSeconds * 1000;
  return Math.min(capMs, Math.max(floorMs, earliest - elapsedMs, LAG_FRACTION * elapsedMs));
}

/** An expected duration in workflow time: a sandbox that runs `timeScale` times faster shortens it as much. */
export function scaleExpected(expected: ExpectedDuration | undefined, timeScale: number): ExpectedDuration | undefined {
  if (!expected || timeScale === 1) return expected;
  return { ...expected, minMs: expected.minMs / timeScale, maxMs: expected.maxMs / timeScale };
}
