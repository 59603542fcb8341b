import { ApplicationFailure, sleep } from '@temporalio/workflow';
import type { PollingConfig, PollingInput } from '../inputs/common';

export function pollingConfig(defaults: PollingConfig, input: PollingInput | undefined): PollingConfig {
  return { ...defaults, ...Object.fromEntries(Object.entries(input ?? {}).filter(([, v]) => v !== undefined)) };
}

/** The n-th wait (0-based) of a backoff: initial × coefficient^n, capped. Pure, for tests and the benchmark. */
export function backoffSeconds(config: PollingConfig, attempt: number): number {
  return Math.min(config.maxIntervalSeconds, config.initialIntervalSeconds * config.backoffCoefficient ** attempt);
}

/** An overall deadline for one pipeline run, in workflow time. */
export class Deadline {
  readonly at: number;
  constructor(
    minutes: number,
    private readonly what: string,
  ) {
    this.at = Date.now() + minutes * 60_000;
  }

  remainingMs(): number {
    return this.at - Date.now();
  }

  check(context: string): void {
    if (this.remainingMs() <= 0) {
      throw ApplicationFailure.nonRetryable(
        `${this.what} passed its deadline (${new Date(this.at).toISOString()}) while ${context}`,
        'DeadlineExceeded',
      );
    }
  }
}

/**
 * Ask `check` until `isDone` says so, waiting on durable timers with growing backoff between calls.
 * Each wait is a timer in history: no worker slot is held, and a restarted worker picks up where it was.
 */
export async function pollUntil<T>(opts: {
  check: () => Promise<T>;
  isDone: (value: T) => boolean;
  config: PollingConfig;
  deadline: Deadline;
  waitingFor: string;
  onValue?: (value: T) => void;
}): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    opts.deadline.check(`waiting for ${opts.waitingFor}`);
    const value = await opts.check();
    opts.onValue?.(value);
    if (opts.isDone(value)) return value;
    const waitMs = Math.min(backoffSeconds(opts.config, attempt) * 1000, Math.max(opts.deadline.remainingMs(), 1));
    await sleep(waitMs);
  }
}
