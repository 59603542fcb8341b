import { ApplicationFailure, sleep } from '@temporalio/workflow';
import type { PollingConfig, PollingInput } from '../../contract/common';
import { countStatusPoll, recordProviderJobDuration } from './metrics';
import { nextPollDelay, scaleExpected, type ExpectedDuration, type ProgressSample } from './poll-schedule';

export { backoffSeconds } from './poll-schedule';

export function pollingConfig(defaults: PollingConfig, input: PollingInput | undefined): PollingConfig {
  return { ...defaults, ...Object.fromEntries(Object.entries(input ?? {}).filter(([, v]) => v !== undefined)) };
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
 * Ask `check` until `isDone` says so, waiting on durable timers between calls. Each wait is a timer in
 * history: no worker slot is held, and a restarted worker picks up where it was. How long each wait is
 * comes from nextPollDelay: the job's `expected` duration (documented or the provider's estimate, in
 * provider time) and the progress `progressOf` reads from each status (0–1), else plain backoff.
 */
export async function pollUntil<T>(opts: {
  check: () => Promise<T>;
  isDone: (value: T) => boolean;
  config: PollingConfig;
  deadline: Deadline;
  waitingFor: string;
  onValue?: (value: T) => void;
  expected?: ExpectedDuration;
  progressOf?: (value: T) => number | undefined;
}): Promise<T> {
  const startedAt = Date.now();
  const expected = scaleExpected(opts.expected, opts.config.timeScale);
  const progress: ProgressSample[] = [];
  for (let attempt = 0; ; attempt++) {
    opts.deadline.check(`waiting for ${opts.waitingFor}`);
    const value = await opts.check();
    countStatusPoll();
    opts.onValue?.(value);
    if (opts.isDone(value)) {
      recordProviderJobDuration(Date.now() - startedAt);
      return value;
    }
    const elapsedMs = Date.now() - startedAt;
    const fraction = opts.progressOf?.(value);
    if (fraction !== undefined && Number.isFinite(fraction)) progress.push({ elapsedMs, fraction: Math.max(0, Math.min(1, fraction)) });
    const delayMs = nextPollDelay({ elapsedMs, attempt, config: opts.config, hint: { expected, progress } });
    await sleep(Math.min(delayMs, Math.max(opts.deadline.remainingMs(), 1)));
  }
}
