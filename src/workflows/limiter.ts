import { condition, continueAsNew, getExternalWorkflowHandle, patched, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { countSlotWait, recordJobsInFlight } from './shared/metrics';
import {
  acquireSlotSignal,
  DEFAULT_RECLAIM_CHECK_MS,
  limiterStateQuery,
  releaseSlotSignal,
  slotGrantedSignal,
  type LimiterState,
} from '../contract/limiter';

/**
 * Job slots for one provider, shared by every worker and every batch on a task queue: a semaphore held in
 * a workflow, so the count survives any worker's crash and is the same for all of them. A pipeline asks
 * for a slot (acquire), is told when it has one (granted, a signal back), and gives it back when its job
 * at the provider has ended (release). First come, first served.
 *
 * A holder that never releases (terminated, timed out, reset, deleted) is noticed by a check that runs
 * every `reclaimCheckMs` while any slot is held: its slot is free again within that interval plus one
 * check. The 12-hour lease stays as the last resort.
 */

/** A slot held this long without release is taken back: a pipeline's own deadline is shorter. */
const LEASE_MS = 12 * 60 * 60 * 1000;
/** Continue as new after this many signals, so the history stays small however long it runs. */
const SIGNALS_PER_RUN = 1000;
/** …or after this many reclaim checks (a timer and an activity each, about 10 events). */
const CHECKS_PER_RUN = 300;

/**
 * Patch: the limiter looks for holders whose runs have closed and takes their slots back. Runs recorded
 * before it wait for the lease only, so their histories replay.
 */
export const RECLAIM_CLOSED_HOLDERS = 'limiter-reclaims-closed-holders';

/** One look-up per holder; a failed check is skipped, the next one comes an interval later. */
const { limiterClosedHolders } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumAttempts: 3 },
});

export async function providerLimiterWorkflow(state: LimiterState): Promise<void> {
  let signals = 0;
  let checks = 0;
  let nextCheckAt: number | undefined;
  setHandler(limiterStateQuery, () => state);
  setHandler(acquireSlotSignal, (req) => {
    signals++;
    state.capacity = req.capacity;
    if (req.reclaimCheckMs !== undefined) state.reclaimCheckMs = req.reclaimCheckMs;
    const known = state.holders.some((h) => h.requestId === req.requestId) || state.waiting.some((w) => w.requestId === req.requestId);
    if (!known) {
      state.waiting.push(req);
      if (state.holders.length + state.waiting.length > state.capacity) countSlotWait(state.provider);
    }
  });
  setHandler(releaseSlotSignal, (req) => {
    signals++;
    state.holders = state.holders.filter((h) => h.requestId !== req.requestId);
    state.waiting = state.waiting.filter((w) => w.requestId !== req.requestId);
  });

  for (;;) {
    const now = Date.now();
    const before = state.holders.length;
    state.holders = state.holders.filter((h) => now - h.since < LEASE_MS);
    state.expired += before - state.holders.length;

    while (state.holders.length < state.capacity && state.waiting.length > 0) {
      const next = state.waiting.shift()!;
      state.holders.push({
        requesterId: next.requesterId,
        requestId: next.requestId,
        ...(next.requesterRunId !== undefined ? { requesterRunId: next.requesterRunId } : {}),
        since: Date.now(),
      });
      try {
        await getExternalWorkflowHandle(next.requesterId).signal(slotGrantedSignal, { requestId: next.requestId });
      } catch {
        // The requester has closed (cancelled, failed, terminated): the slot is free again.
        state.holders = state.holders.filter((h) => h.requestId !== next.requestId);
      }
    }
    recordJobsInFlight(state.provider, state.holders.length);
    if (signals >= SIGNALS_PER_RUN || checks >= CHECKS_PER_RUN || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof providerLimiterWorkflow>(state);
    }
    // Wake on the next signal, at the next lease expiry, or (while slots are held) at the next reclaim check.
    const seen = signals;
    const oldest = state.holders.reduce((m, h) => Math.min(m, h.since), Infinity);
    const leaseWakeMs = Number.isFinite(oldest) ? Math.max(1000, oldest + LEASE_MS - Date.now()) : LEASE_MS;
    if (state.holders.length === 0 || !patched(RECLAIM_CLOSED_HOLDERS)) {
      nextCheckAt = undefined;
      await condition(() => signals !== seen, leaseWakeMs);
      continue;
    }
    nextCheckAt ??= Date.now() + (state.reclaimCheckMs ?? DEFAULT_RECLAIM_CHECK_MS);
    if (Date.now() < nextCheckAt) {
      await condition(() => signals !== seen, Math.min(leaseWakeMs, Math.max(1, nextCheckAt - Date.now())));
    }
    if (Date.now() >= nextCheckAt) {
      checks++;
      await reclaimClosedHolders(state);
      nextCheckAt = undefined;
    }
  }
}

async function reclaimClosedHolders(state: LimiterState): Promise<void> {
  const asked = state.holders.map((h) => ({
    workflowId: h.requesterId,
    requestId: h.requestId,
    ...(h.requesterRunId !== undefined ? { runId: h.requesterRunId } : {}),
  }));
  let closed: string[];
  try {
    closed = await limiterClosedHolders({ holders: asked });
  } catch {
    return;
  }
  const before = state.holders.length;
  state.holders = state.holders.filter((h) => !closed.includes(h.requestId));
  state.reclaimed = (state.reclaimed ?? 0) + before - state.holders.length;
}
