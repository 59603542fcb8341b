import { createHash } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { PollingConfig } from '../contract/common';
import type { CallActivities } from './index';
import { nextPollDelay, type ExpectedDuration, type ProgressSample } from '../contract/poll-schedule';
import { DETAIL_EVERY_POLLS, PROBES, STILL_WAITING, type Probe, type ProbeName } from '../contract/probes';

export { STILL_WAITING };

/** What a waiting pipeline knows of its job: the last answer it was told of. */
export interface SeenStatus {
  significant: string;
  /** A digest of the whole answer (it goes into history with every wait). */
  detail: string;
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 16);
}

export interface WaitForChangeArgs {
  /** The status activity to call (src/workflows/shared/probes.ts) and its argument. */
  probe: ProbeName;
  args: unknown;
  /** What is waited for, for the Temporal UI's "last failure" line ("text2video job 42"). */
  label: string;
  seen?: SeenStatus;
  /** Workflow time the whole wait began, and the polls made since then (for the backoff and hints). */
  waitStartedAt: number;
  polls: number;
  /** Progress readings the workflow kept, oldest first (see poll-schedule.ts). */
  samples: ProgressSample[];
  config: PollingConfig;
  /** Already scaled to workflow time. */
  expected?: ExpectedDuration;
  /** The pipeline's deadline: the activity hands back its last answer rather than wait past it. */
  deadlineAt: number;
  /** The first attempt makes no call and asks to be retried after this long (the wait before the next poll). */
  firstCheckInMs: number;
}

export interface WaitForChangeResult<V = unknown> {
  value: V;
  seen: SeenStatus;
  /** Polls since the wait began, and in this activity (attempts that met a provider fault included). */
  polls: number;
  pollsThisCall: number;
}


/** Waits shorter than this are slept inside an attempt (the server's retry timers are about this coarse)… */
const SHORT_WAIT_MS = 1000;
/** …for at most this long an attempt. */
const IN_ATTEMPT_MS = 10_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A retried provider fault in a wait is tried again at the polling rhythm, between these bounds. */
const FAULT_RETRY_MIN_MS = 1000;
const FAULT_RETRY_MAX_MS = 60_000;

type StatusCalls = Pick<CallActivities, ProbeName>;

/**
 * Waiting for a provider job as retries of one activity: each attempt is one status call; an answer with
 * nothing new ends the attempt with a benign `StillWaiting` failure whose `nextRetryDelay` is the hint
 * scheduler's next wait, so the server itself runs the timer. Retries write no history events and wake no
 * workflow task: a wait of hundreds of polls costs the workflow one activity (3 events) per change it is
 * told of, and the server one activity task per poll instead of an activity task, a timer and two
 * workflow tasks. The workflow decides what the answer means (src/workflows/shared/polling.ts).
 */
export function createWaitActivities(calls: StatusCalls) {
  return {
    async waitForChange(a: WaitForChangeArgs): Promise<WaitForChangeResult> {
      const { attempt, heartbeatDetails } = Context.current().info;
      // The wait before the first check: a retry timer on the server, or for a short one a sleep here.
      const delayed = a.firstCheckInMs >= SHORT_WAIT_MS;
      if (delayed && attempt === 1) throw stillWaiting(a, a.firstCheckInMs, 'the next check is due');
      if (!delayed && attempt === 1 && a.firstCheckInMs > 0) await sleep(a.firstCheckInMs);
      // One call per attempt, and the calls an attempt made beyond its first (short waits: see below).
      const extraBefore = (heartbeatDetails as { extraCalls?: number } | undefined)?.extraCalls ?? 0;
      let extraCalls = extraBefore;
      const pollsSoFar = () => a.polls + (delayed ? attempt - 1 : attempt) + extraCalls;
      const probe = PROBES[a.probe] as Probe<unknown>;
      const attemptStarted = Date.now();
      const elapsedMs = () => Date.now() - a.waitStartedAt;
      let samples = a.samples;
      const delayFor = () => nextPollDelay({ elapsedMs: elapsedMs(), attempt: pollsSoFar(), config: a.config, hint: { expected: a.expected, progress: samples } });
      // The next attempt learns how many calls this one made beyond its first.
      const noteCalls = () => {
        if (extraCalls > extraBefore) Context.current().heartbeat({ extraCalls });
      };

      for (let first = true; ; first = false) {
        if (!first) extraCalls++;
        let value: unknown;
        try {
          value = await (calls[a.probe] as (args: unknown) => Promise<unknown>)(a.args);
        } catch (err) {
          noteCalls();
          // A provider fault the classification calls transient is tried again at the polling rhythm (or
          // when the provider said, Retry-After), not at the retry policy's backoff of a much later attempt.
          if (err instanceof ApplicationFailure && !err.nonRetryable && (err.nextRetryDelay === undefined || err.nextRetryDelay === null)) {
            const retryIn = Math.min(FAULT_RETRY_MAX_MS, Math.max(FAULT_RETRY_MIN_MS, delayFor()));
            throw ApplicationFailure.create({ message: err.message, type: err.type ?? undefined, details: err.details as unknown[] | undefined, nextRetryDelay: retryIn });
          }
          throw err;
        }
        const polls = pollsSoFar();
        const pollsThisCall = polls - a.polls;
        const seen: SeenStatus = { significant: probe.significant(value), detail: digest(JSON.stringify(value) ?? '') };
        const told = a.seen === undefined || seen.significant !== a.seen.significant || (seen.detail !== a.seen.detail && pollsThisCall >= DETAIL_EVERY_POLLS);
        if (told) return { value, seen, polls, pollsThisCall };

        const fraction = probe.progressOf?.(value);
        if (fraction !== undefined && Number.isFinite(fraction)) samples = [...samples, { elapsedMs: elapsedMs(), fraction: Math.max(0, Math.min(1, fraction)) }];
        const delay = delayFor();
        // Past the deadline the workflow fails the run; it is told the last answer instead of a later one.
        if (Date.now() + delay >= a.deadlineAt) return { value, seen, polls, pollsThisCall };
        // The server's retry timers run at a resolution of about a second: a shorter wait (sandbox speeds,
        // tests) is slept here, within one attempt, for at most IN_ATTEMPT_MS.
        if (delay < SHORT_WAIT_MS && Date.now() - attemptStarted + delay < IN_ATTEMPT_MS) {
          await sleep(delay);
          continue;
        }
        noteCalls();
        throw stillWaiting(a, delay, `still ${seen.significant || 'waiting'}`);
      }
    },
  };
}

function stillWaiting(a: WaitForChangeArgs, delayMs: number, what: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: STILL_WAITING,
    message: `${a.label}: ${what}; next check in ${Math.round(delayMs / 100) / 10}s`,
    nextRetryDelay: Math.max(1, Math.round(delayMs)),
    // Not an error: the SDK logs it at debug level and leaves it out of its failure metrics.
    category: 'BENIGN',
  });
}
