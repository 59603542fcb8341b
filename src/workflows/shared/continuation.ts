import { ApplicationFailure, CancellationScope, condition, continueAsNew, isCancellation, workflowInfo } from '@temporalio/workflow';
import type { PipelineProgress } from '../../contract/progress';
import type { ProgressSample } from '../../contract/poll-schedule';
import { failureInfo } from './failure';

/**
 * Bounded history for every pipeline: a run continues as new before its history reaches EVENT_BUDGET.
 *
 * Waits are cheap (one activity per change the provider reports: src/activities/wait.ts), so most runs
 * never come near the budget; the ones that do are waits of days, providers whose status flips often, or
 * fan-outs of 50 generations. Those continue as new at a wait, once CONTINUE_AT_EVENTS is reached or the
 * server suggests it, carrying:
 * - every create and transfer call's outcome (`calls`, keyed by the call's summary and arguments): the
 *   new run runs the same pipeline code from the top, and each of those calls returns what it returned,
 *   or fails as it failed, without calling the provider again (nothing billable twice);
 * - the progress the `progress` query answers (stage, percent, provider ids, log), the deadline, the
 *   provider job slots held and each wait's schedule (when it began, polls made, progress readings).
 * The new run fast-forwards to the wait it left without a timer: status reads are made again (a few
 * events), and progress lines are not logged twice. The search attributes are carried by the server.
 */

/** No pipeline run's history exceeds this many events, whatever the input and the deadline. */
export const EVENT_BUDGET = 4000;

/**
 * A run continues as new at its next wait once its history has this many events. The rest of the budget
 * is room for what is in flight then: at most 50 generations' downloads of about 10 events each, and the
 * status reads of the wait itself.
 */
export const CONTINUE_AT_EVENTS = 3000;

type CallRecord = { ok: unknown } | { failed: { message: string; type?: string; details?: unknown[] } };

export interface WaitState {
  startedAt: number;
  polls: number;
  samples: ProgressSample[];
}

/** What a pipeline run hands to the run it continues as (its workflow function's second argument). */
export interface CarriedState {
  /** Runs of this pipeline before this one. */
  runs: number;
  calls: Record<string, CallRecord>;
  progress?: PipelineProgress;
  deadlineAt?: number;
  /** Provider → the request id of the job slot this pipeline holds (src/workflows/shared/slots.ts). */
  slots: Record<string, string>;
  waits: Record<string, WaitState>;
}

/** 53-bit FNV-1a of a string, as hex: call keys stay short whatever the arguments' size. */
function hash(s: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0;
  }
  return (h1.toString(16) + (h2 & 0x1fffff).toString(16)).padStart(14, '0');
}

export class Continuation {
  readonly state: CarriedState;
  private readonly recorded: Record<string, CallRecord>;
  private readonly occurrences = new Map<string, number>();
  /** The predecessor's calls this run has run through. */
  private readonly consumed = new Set<string>();
  /** Calls in flight that a new run could not redo (creates, transfers). */
  private inflight = 0;
  private wanted = false;
  /** While the new run runs through what its predecessor did, progress is not rewritten. */
  private fastForward: boolean;

  constructor(carried: CarriedState | undefined) {
    this.recorded = carried?.calls ?? {};
    this.fastForward = carried !== undefined;
    this.state = {
      runs: carried ? carried.runs + 1 : 0,
      calls: { ...this.recorded },
      ...(carried?.progress ? { progress: carried.progress } : {}),
      ...(carried?.deadlineAt !== undefined ? { deadlineAt: carried.deadlineAt } : {}),
      slots: { ...carried?.slots },
      waits: { ...carried?.waits },
    };
  }

  /** True until this run does something its predecessor did not (it makes a new call or a wait answers). */
  get replayingPredecessor(): boolean {
    return this.fastForward;
  }

  /** Something happened that only this run saw (a call its predecessor did not make): progress is this run's again. */
  live(): void {
    this.fastForward = false;
  }

  /**
   * A wait was answered: once every call the predecessor made has been run through, this run is where
   * its predecessor stopped, and its progress is its own again.
   */
  waitAnswered(): void {
    if (this.consumed.size >= Object.keys(this.recorded).length) this.live();
  }

  /**
   * A create or transfer call: its recorded outcome when a predecessor made it, else the call itself,
   * recorded. Once a continue-as-new is due, a call not yet made waits for it (the next run makes it).
   */
  call<R>(summary: string, args: unknown[], run: () => Promise<R>): Promise<R> {
    const base = hash(`${summary}\n${JSON.stringify(args)}`);
    const n = (this.occurrences.get(base) ?? 0) + 1;
    this.occurrences.set(base, n);
    const key = n === 1 ? base : `${base}#${n}`;
    const record = this.recorded[key];
    if (record) {
      this.consumed.add(key);
      return 'ok' in record ? Promise.resolve(record.ok as R) : Promise.reject(ApplicationFailure.create({ ...record.failed, nonRetryable: true }));
    }
    // Never made: the run continues as new first, and the next run makes it.
    if (this.wanted) return condition(() => false).then(run);
    this.live();
    this.inflight++;
    // The call's own promise goes back, not a wrapper: an extra await here would move the caller on a
    // microtask later, and the order of commands from parallel branches of runs recorded before with it.
    const made = run();
    made.then(
      (value) => {
        this.state.calls[key] = { ok: value };
        this.inflight--;
      },
      (err: unknown) => {
        if (!isCancellation(err)) {
          const { message, type } = failureInfo(err);
          const details = detailsOf(err);
          this.state.calls[key] = { failed: { message, ...(type ? { type } : {}), ...(details ? { details } : {}) } };
        }
        this.inflight--;
      },
    );
    return made;
  }

  /**
   * Called by a wait before each status activity: when the history is near the budget (or the server
   * suggests it), the run is to continue as new, and this wait stops here; the run ends once no create
   * or transfer is in flight.
   */
  async checkpoint(): Promise<void> {
    const info = workflowInfo();
    if (!this.wanted && (info.continueAsNewSuggested || info.historyLength >= CONTINUE_AT_EVENTS)) this.wanted = true;
    if (this.wanted) await condition(() => false);
  }

  /** Resolves once the run should continue as new (a checkpoint asked for it and nothing is in flight). */
  async due(): Promise<void> {
    // Not cancellable: a cancelled run ends through its pipeline's own cancellation handling.
    await CancellationScope.nonCancellable(() => condition(() => this.wanted && this.inflight === 0));
  }
}

function detailsOf(err: unknown): unknown[] | undefined {
  let e = err as { details?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; e && typeof e === 'object' && depth < 10; depth++) {
    if (Array.isArray(e.details) && e.details.length) return e.details as unknown[];
    e = e.cause as typeof e;
  }
  return undefined;
}

/** The run's continuation: module state is per run in the workflow sandbox. */
let current: Continuation | undefined;

export function continuation(): Continuation | undefined {
  return current;
}

/**
 * Run a pipeline's body so it can continue as new: with the state its predecessor carried (if any), and
 * ending in a continue-as-new with the same input and this run's state once a wait asks for it.
 */
export async function continuable<I, R>(input: I, carried: CarriedState | undefined, body: () => Promise<R>): Promise<R> {
  const ctx = (current = new Continuation(carried));
  const CUT = Symbol('continue-as-new');
  const outcome = await Promise.race([body(), ctx.due().then(() => CUT)]);
  if (outcome === CUT) {
    return continueAsNew<(input: I, carried: CarriedState) => Promise<R>>(input, ctx.state);
  }
  return outcome as R;
}
