import { ApplicationFailure, patched, sleep, type ActivityOptions } from '@temporalio/workflow';
import type { PollingConfig, PollingInput } from '../../contract/common';
import type { WaitForChangeResult } from '../../activities/wait';
import { WAIT_CALL, waitActivities, withSummary } from '../activity-proxies';
import { countStatusPoll, recordProviderJobDuration } from './metrics';
import { nextPollDelay, scaleExpected, type ExpectedDuration, type ProgressSample } from '../../contract/poll-schedule';
import type { ProbeArgs, ProbeName, ProbeValue } from '../../contract/probes';
import { continuation } from './continuation';

export { backoffSeconds } from '../../contract/poll-schedule';

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
    // A continued run keeps the deadline of the first run.
    const ctx = continuation();
    this.at = ctx?.state.deadlineAt ?? Date.now() + minutes * 60_000;
    if (ctx) ctx.state.deadlineAt = this.at;
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
 * Patch: a wait is one activity that the server retries until the job's status changes
 * (src/activities/wait.ts), instead of a status activity and a durable timer per poll. Runs recorded
 * before it keep their timers.
 */
export const WAIT_IN_ACTIVITY = 'wait-in-one-retried-activity';

/** The status call a wait makes: its name in src/workflows/shared/probes.ts, its argument, a UI summary. */
export interface ProbeCall<V> {
  name: ProbeName;
  args: unknown;
  summary: string;
  /** Options over WAIT_CALL (another task queue). */
  options?: ActivityOptions;
  /** Type only. */
  readonly _value?: V;
}

export function probe<K extends ProbeName>(name: K, args: ProbeArgs<K>, summary: string, options?: ActivityOptions): ProbeCall<ProbeValue<K>> {
  return { name, args, summary, ...(options ? { options } : {}) };
}

/** Progress readings kept for the hint scheduler: the first moving ones and the latest (it reads no others). */
const SAMPLES_KEPT = 16;

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
  /** The same status call for a wait in one activity (WAIT_IN_ACTIVITY); `check` serves older runs. */
  probe?: ProbeCall<T>;
}): Promise<T> {
  if (opts.probe && patched(WAIT_IN_ACTIVITY)) return waitInActivity({ ...opts, probe: opts.probe });
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

/**
 * pollUntil since WAIT_IN_ACTIVITY: each `waitForChange` activity polls, retried by the server on the hint
 * scheduler's delays, and comes back when the status changed (or, for a percentage or log lines only,
 * after DETAIL_EVERY_POLLS polls, or at the deadline). The workflow then decides, as before, from the
 * answer: `onValue` mirrors it into progress, `isDone` ends the wait. History: one activity per change.
 */
async function waitInActivity<T>(opts: Parameters<typeof pollUntil<T>>[0] & { probe: ProbeCall<T> }): Promise<T> {
  const expected = scaleExpected(opts.expected, opts.config.timeScale);
  // A continued run picks up the wait where its predecessor left it (when it began, its polls, readings).
  const ctx = continuation();
  const resumed = ctx?.state.waits[opts.waitingFor];
  const startedAt = resumed?.startedAt ?? Date.now();
  const samples: ProgressSample[] = [...(resumed?.samples ?? [])];
  let seen: WaitForChangeResult['seen'] | undefined;
  let polls = resumed?.polls ?? 0;
  let firstCheckInMs = resumed
    ? Math.min(nextPollDelay({ elapsedMs: Date.now() - startedAt, attempt: polls, config: opts.config, hint: { expected, progress: samples } }), Math.max(opts.deadline.remainingMs(), 1))
    : 0;
  try {
    return await waitLoop();
  } finally {
    if (ctx) delete ctx.state.waits[opts.waitingFor];
  }

  async function waitLoop(): Promise<T> {
    for (;;) {
      opts.deadline.check(`waiting for ${opts.waitingFor}`);
      // Near the history budget, the run continues as new here (src/workflows/shared/continuation.ts).
      await ctx?.checkpoint();
      const remainingMs = Math.max(opts.deadline.remainingMs(), 1);
      const r = (await withSummary(
        { ...WAIT_CALL, ...opts.probe.options, scheduleToCloseTimeout: remainingMs + 5 * 60_000 },
        waitActivities.waitForChange,
        `Wait: ${opts.probe.summary}`,
        {
          probe: opts.probe.name,
          args: opts.probe.args,
          label: opts.waitingFor,
          ...(seen ? { seen } : {}),
          waitStartedAt: startedAt,
          polls,
          samples,
          config: opts.config,
          ...(expected ? { expected } : {}),
          deadlineAt: opts.deadline.at,
          firstCheckInMs,
        },
      )) as WaitForChangeResult<T>;
      ctx?.waitAnswered();
      for (let i = 0; i < r.pollsThisCall; i++) countStatusPoll();
      seen = r.seen;
      polls = r.polls;
      opts.onValue?.(r.value);
      if (opts.isDone(r.value)) {
        recordProviderJobDuration(Date.now() - startedAt);
        return r.value;
      }
      const elapsedMs = Date.now() - startedAt;
      const fraction = opts.progressOf?.(r.value);
      if (fraction !== undefined && Number.isFinite(fraction)) {
        samples.push({ elapsedMs, fraction: Math.max(0, Math.min(1, fraction)) });
        if (samples.length > SAMPLES_KEPT) samples.splice(SAMPLES_KEPT / 2, samples.length - SAMPLES_KEPT);
      }
      firstCheckInMs = Math.min(nextPollDelay({ elapsedMs, attempt: polls, config: opts.config, hint: { expected, progress: samples } }), remainingMs);
      if (ctx) ctx.state.waits[opts.waitingFor] = { startedAt, polls, samples: [...samples] };
    }
  }
}
