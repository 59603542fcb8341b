import {
  ActivityCancellationType,
  CancellationScope,
  CancelledFailure,
  isCancellation,
  patched,
  proxyActivities,
  type ActivityFunction,
  type ActivityFunctionWithOptions,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { continuation } from './shared/continuation';
import { noteCutShort } from './shared/cut-short';

/**
 * Timeouts and retries, declared once, one proxy per class of call.
 *
 * Status calls: the HTTP client gives up after 30 s, so 45 s start-to-close leaves room for the answer;
 * retried with backoff for a while, since the pipeline's own deadline bounds the whole wait anyway.
 */
export const STATUS_CALL: ActivityOptions = {
  startToCloseTimeout: '45 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 20 },
};

/**
 * Patch: create and transfer calls are awaited to their end when the run is cancelled
 * (WAIT_CANCELLATION_COMPLETED), and each pipeline's cancellation handler reads what is still running at
 * the provider. Runs recorded before it keep TRY_CANCEL and the old handlers, so their histories replay.
 */
export const CANCEL_WAITS_FOR_CREATES = 'cancel-waits-for-creates-and-transfers';

/**
 * Patch: a create or transfer call in flight when the run is cancelled, which then fails instead of
 * acknowledging the cancel (the server retries no activity once its cancel is requested: a provider's
 * 502, a worker killed mid-call and the heartbeat timeout that follows), ends the run as cancelled, not
 * failed. The pipeline's cancellation handler runs and reports what it found; `leftAtProvider` adds a
 * line naming the call, whose outcome at the provider is unknown (src/workflows/shared/cut-short.ts).
 * Runs recorded before it failed there, and replay that way.
 */
export const CANCELLED_CALL_ENDS_CANCELLED = 'cancelled-call-that-fails-ends-cancelled';

/**
 * Create calls (start a job, start a generation). The activity itself decides when a retry would risk a
 * duplicate (it fails with the non-retryable OutcomeUnknown), so a few retries are safe here.
 * Heartbeat timeout: the activity heartbeats `sent` just before the call, so a worker that dies mid-call
 * is noticed quickly and the next attempt knows to reconcile.
 * Cancellation waits for the call's end: a create cancelled mid-flight may still have made a billable
 * job, and the workflow must see its id to cancel it or report it (the activity lets the HTTP call finish).
 */
export const CREATE_CALL: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 6 },
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
};

/**
 * Uploads and downloads: hours for large files, so progress is proved by heartbeats (bytes done) within
 * 1 min rather than by a short start-to-close.
 */
export const TRANSFER_CALL: ActivityOptions = {
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 8 },
  // An upload also creates (a LipDub shot on success, a DubLab group): its end is awaited like a create's.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
};

/**
 * A wait for a provider job (src/activities/wait.ts): one status call per attempt, retried by the server
 * after the delay the attempt names, until the answer changes. Unlimited attempts: the pipeline's deadline
 * bounds it (the schedule-to-close timeout is set per call from it; no maximumAttempts means unlimited).
 */
export const WAIT_CALL: ActivityOptions = {
  // As a status call's: a worker that dies mid-attempt is noticed within 45 s (an attempt is one call, or
  // at most 10 s of short polls).
  startToCloseTimeout: '45 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
};

export const statusActivities = proxyActivities<Activities>(STATUS_CALL);
/**
 * Its own proxy: options given at a call are deep-merged into the proxy's, so a wait called through
 * statusActivities inherited STATUS_CALL's 20 attempts and failed after 20 polls with nothing new.
 */
export const waitActivities = proxyActivities<Activities>(WAIT_CALL);
export const createActivities = proxyActivities<Activities>(CREATE_CALL);
export const transferActivities = proxyActivities<Activities>(TRANSFER_CALL);

/**
 * Call an activity with a one-line summary for the Temporal UI, keeping its proxy's options. A call that
 * waits for its end on cancellation does so only in runs made since CANCEL_WAITS_FOR_CREATES; such a call
 * (a create or a transfer) made by a run this one continued from returns its recorded outcome.
 */
export function withSummary<F extends ActivityFunction>(
  options: ActivityOptions,
  fn: ActivityFunctionWithOptions<F>,
  summary: string,
  ...args: Parameters<F>
): Promise<Awaited<ReturnType<F>>> {
  const waits = options.cancellationType === ActivityCancellationType.WAIT_CANCELLATION_COMPLETED;
  const cancellationType = waits && !patched(CANCEL_WAITS_FOR_CREATES) ? ActivityCancellationType.TRY_CANCEL : options.cancellationType;
  const call = () =>
    fn.executeWithOptions({ ...options, ...(cancellationType !== undefined ? { cancellationType } : {}), summary }, args).catch((err: unknown) => {
      if (waits && !isCancellation(err) && CancellationScope.current().consideredCancelled && patched(CANCELLED_CALL_ENDS_CANCELLED)) {
        const reason = failureText(err);
        noteCutShort(summary, reason);
        throw new CancelledFailure(`cancelled while "${summary}" was in flight, which then failed: ${reason}`);
      }
      throw err;
    });
  // Creates and transfers (the calls that wait for their end on cancellation) are not made twice across a
  // continue-as-new (src/workflows/shared/continuation.ts); status reads are.
  const ctx = continuation();
  return waits && ctx ? ctx.call(summary, args, call) : call();
}

/** An activity failure as one short line: its cause's type and message (`ProviderServerError: DubLab 502 …`), else its own. */
function failureText(err: unknown): string {
  const cause = (err as { cause?: { type?: string; message?: string } } | undefined)?.cause;
  const e = err as { message?: string } | undefined;
  const text = cause?.message ? (cause.type ? `${cause.type}: ${cause.message}` : cause.message) : (e?.message ?? String(err));
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}
