/**
 * The polling benchmark's cases and a simulation of them: the scheduler of src/workflows/shared/poll-schedule.ts
 * run in simulated time against the sandbox's timing model (src/sandbox/{lipdub,vividflow,aistudio}.ts),
 * with status calls that take no time. The real run (polling.ts) measures the same cases end to end.
 */
import type { PollingConfig } from '../../src/contract/common';
import { AISTUDIO_JOB_DURATION, AISTUDIO_POLLING_DEFAULTS } from '../../src/pipelines/aistudio/spec';
import { LIPDUB_POLLING_DEFAULTS, LIPDUB_SHOT_DURATION } from '../../src/pipelines/lipdub/spec';
import { VIVIDFLOW_JOB_DURATION, VIVIDFLOW_POLLING_DEFAULTS } from '../../src/pipelines/vividflow/spec';
import { nextPollDelay, type ExpectedDuration, type ProgressSample } from '../../src/contract/poll-schedule';

export type ProviderCase = 'lipdub' | 'vividflow' | 'aistudio';

export const PROVIDER_CASES: Record<ProviderCase, { label: string; hint: string; defaults: PollingConfig; expected: ExpectedDuration }> = {
  lipdub: { label: 'LipDub shot', hint: 'documented 5–30 min', defaults: LIPDUB_POLLING_DEFAULTS, expected: LIPDUB_SHOT_DURATION },
  // The sandbox answers every generate with the documented "~2-5 minutes", whatever the job's length.
  vividflow: { label: 'Vivid Flow job', hint: 'estimated_wait_time "~2-5 minutes"', defaults: VIVIDFLOW_POLLING_DEFAULTS, expected: VIVIDFLOW_JOB_DURATION },
  aistudio: { label: 'AI Studio job', hint: 'progress % (3–10 min documented until it moves)', defaults: AISTUDIO_POLLING_DEFAULTS, expected: AISTUDIO_JOB_DURATION },
};

/** The polling before hints: the same defaults, plain backoff. These were the defaults on `main`. */
export const OLD_DEFAULTS: Record<ProviderCase, PollingConfig> = {
  lipdub: { initialIntervalSeconds: 10, maxIntervalSeconds: 120, backoffCoefficient: 1.5, deadlineMinutes: 360, hints: false, timeScale: 1 },
  vividflow: { initialIntervalSeconds: 10, maxIntervalSeconds: 60, backoffCoefficient: 1.5, deadlineMinutes: 180, hints: false, timeScale: 1 },
  aistudio: { initialIntervalSeconds: 10, maxIntervalSeconds: 60, backoffCoefficient: 1.5, deadlineMinutes: 180, hints: false, timeScale: 1 },
};

/** A fixed 5-second loop, as in the providers' own examples. */
export const FIXED_5S: PollingConfig = { initialIntervalSeconds: 5, maxIntervalSeconds: 5, backoffCoefficient: 1, deadlineMinutes: 360, hints: false, timeScale: 1 };

export type Strategy = 'hints' | 'fixed' | 'backoff';

export function strategyConfig(provider: ProviderCase, strategy: Strategy): PollingConfig {
  if (strategy === 'fixed') return FIXED_5S;
  if (strategy === 'backoff') return OLD_DEFAULTS[provider];
  return PROVIDER_CASES[provider].defaults;
}

/** The same config in workflow time when the sandbox runs `scale` times faster. */
export function scaledConfig(config: PollingConfig, scale: number): PollingConfig {
  return {
    ...config,
    initialIntervalSeconds: config.initialIntervalSeconds / scale,
    maxIntervalSeconds: config.maxIntervalSeconds / scale,
    timeScale: scale,
  };
}

/**
 * How each case's job is laid out in sandbox timings for a total of `durationMs`: LipDub 70 % shot
 * processing, 30 % AI training; AI Studio 10 % PENDING, 90 % RUNNING (10 → 90 %, then 100 %); Vivid Flow
 * all processing (one job per worker, no queue).
 */
export function sandboxTimings(provider: ProviderCase, durationMs: number) {
  switch (provider) {
    case 'lipdub':
      return { lipdub: { shotMs: 0.7 * durationMs, trainingMs: 0.3 * durationMs, generateQueueMs: 0, generateMs: 0 } };
    case 'vividflow':
      return { vividflow: { processMs: durationMs, workers: 8 } };
    case 'aistudio':
      return { aistudio: { pendingMs: 0.1 * durationMs, runMs: 0.9 * durationMs } };
  }
}

/** What a status call at `t` ms after the job started reads, per the sandbox's model. */
function observe(provider: ProviderCase, durationMs: number, t: number): { done: boolean; progress?: number } {
  // Pessimistic: a call made at the very moment the job ends still sees it running.
  if (t > durationMs) return { done: true };
  if (provider !== 'aistudio') return { done: false };
  const pending = 0.1 * durationMs;
  if (t < pending) return { done: false };
  return { done: false, progress: (10 + Math.floor((80 * (t - pending)) / (0.9 * durationMs))) / 100 };
}

export interface SimResult {
  calls: number;
  lagMs: number;
  /** When each status call was made, ms since the job started. */
  at: number[];
}

/** One job of `durationMs` polled with `config` (unscaled), in simulated time. */
export function simulate(provider: ProviderCase, durationMs: number, config: PollingConfig): SimResult {
  const expected = PROVIDER_CASES[provider].expected;
  const progress: ProgressSample[] = [];
  const at: number[] = [];
  let t = 0;
  for (let attempt = 0; ; attempt++) {
    at.push(t);
    const seen = observe(provider, durationMs, t);
    if (seen.done) return { calls: at.length, lagMs: t - durationMs, at };
    if (seen.progress !== undefined) progress.push({ elapsedMs: t, fraction: seen.progress });
    t += nextPollDelay({ elapsedMs: t, attempt, config, hint: { expected, progress } });
  }
}
