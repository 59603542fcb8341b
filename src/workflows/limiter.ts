import { condition, continueAsNew, getExternalWorkflowHandle, setHandler, workflowInfo } from '@temporalio/workflow';
import { countSlotWait, recordJobsInFlight } from './shared/metrics';
import { acquireSlotSignal, limiterStateQuery, releaseSlotSignal, slotGrantedSignal, type LimiterState } from '../contract/limiter';

/**
 * Job slots for one provider, shared by every worker and every batch on a task queue: a semaphore held in
 * a workflow, so the count survives any worker's crash and is the same for all of them. A pipeline asks
 * for a slot (acquire), is told when it has one (granted, a signal back), and gives it back when its job
 * at the provider has ended (release). First come, first served.
 */

/** A slot held this long without release is taken back: a pipeline's own deadline is shorter. */
const LEASE_MS = 12 * 60 * 60 * 1000;
/** Continue as new after this many signals, so the history stays small however long it runs. */
const SIGNALS_PER_RUN = 1000;

export async function providerLimiterWorkflow(state: LimiterState): Promise<void> {
  let signals = 0;
  setHandler(limiterStateQuery, () => state);
  setHandler(acquireSlotSignal, (req) => {
    signals++;
    state.capacity = req.capacity;
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
      state.holders.push({ requesterId: next.requesterId, requestId: next.requestId, since: Date.now() });
      try {
        await getExternalWorkflowHandle(next.requesterId).signal(slotGrantedSignal, { requestId: next.requestId });
      } catch {
        // The requester has closed (cancelled, failed, terminated): the slot is free again.
        state.holders = state.holders.filter((h) => h.requestId !== next.requestId);
      }
    }
    recordJobsInFlight(state.provider, state.holders.length);
    if (signals >= SIGNALS_PER_RUN || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof providerLimiterWorkflow>(state);
    }
    // Wake on the next signal, or at the next lease expiry.
    const seen = signals;
    const oldest = state.holders.reduce((m, h) => Math.min(m, h.since), Infinity);
    const leaseWakeMs = Number.isFinite(oldest) ? Math.max(1000, oldest + LEASE_MS - Date.now()) : LEASE_MS;
    await condition(() => signals !== seen, leaseWakeMs);
  }
}
