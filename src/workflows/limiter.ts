import { condition, continueAsNew, getExternalWorkflowHandle, patched, proxyActivities, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { countSlotWait, recordJobsInFlight } from './shared/metrics';
import {
  acquireSlotSignal,
  DEFAULT_RECLAIM_CHECK_MS,
  limiterStateQuery,
  releaseSlotSignal,
  slotGrantedSignal,
  RECENT_GRANTS_KEPT,
  type LimiterState,
  type SlotGrant,
} from '../contract/limiter';
import { callerKey, definedClaim, nextToGrant, pruneCallerTurns } from '../contract/slot-order';

/**
 * Job slots for one provider, shared by every worker and every batch on a task queue: a semaphore held in
 * a workflow, so the count survives any worker's crash and is the same for all of them. A pipeline asks
 * for a slot (acquire), is told when it has one (granted, a signal back), and gives it back when its job
 * at the provider has ended (release). The highest priority goes first, and callers take turns within a
 * priority (`priority` and `caller` on the pipeline's input).
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

/**
 * Patch: free slots go by priority, then round-robin across callers, and their grants are sent together
 * without waiting for each delivery; one wake-up timer serves every wait (not one started and cancelled
 * per signal); the reclaim check runs beside the grants. Runs recorded before it granted first come,
 * first served, one delivery at a time, and replay that way.
 */
export const GRANT_BY_PRIORITY_TOGETHER = 'limiter-grants-by-priority-together';

/** One look-up per holder; a failed check is skipped, the next one comes an interval later. */
const { limiterClosedHolders } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumAttempts: 3 },
});

export async function providerLimiterWorkflow(state: LimiterState): Promise<void> {
  let signals = 0;
  let checks = 0;
  let nextCheckAt: number | undefined;
  // Since GRANT_BY_PRIORITY_TOGETHER: what wakes the loop (a signal, an undeliverable grant, a finished
  // check, the wake-up timer), whether a reclaim check is running, and the one wake-up timer.
  let wakes = 0;
  let checking = false;
  let wakeTimer: { at: number; fired: boolean } | undefined;
  setHandler(limiterStateQuery, () => state);
  setHandler(acquireSlotSignal, (req) => {
    signals++;
    wakes++;
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
    wakes++;
    state.holders = state.holders.filter((h) => h.requestId !== req.requestId);
    state.waiting = state.waiting.filter((w) => w.requestId !== req.requestId);
  });

  /** Holders this run has signalled (a run continued from another sends again what was not confirmed). */
  const sent = new Set<string>();
  /**
   * Tell a holder it has its slot. The holder stays `unconfirmed` until the server confirms the delivery,
   * so a grant sent in the task that continued as new is sent again by the next run (the requester takes
   * a grant twice as once). A grant that cannot be delivered (the requester has closed) frees its slot
   * again and wakes the loop.
   */
  const sendGrant = (holder: LimiterState['holders'][number]) => {
    const { requesterId, requestId } = holder;
    holder.unconfirmed = true;
    sent.add(requestId);
    getExternalWorkflowHandle(requesterId)
      .signal(slotGrantedSignal, { requestId })
      .then(
        () => {
          const h = state.holders.find((x) => x.requestId === requestId);
          if (h) delete h.unconfirmed;
        },
        () => {
          state.holders = state.holders.filter((h) => h.requestId !== requestId);
          wakes++;
        },
      );
  };

  /**
   * Fill every free slot in priority and turn order (src/contract/slot-order.ts), signalling the holders
   * all at once: one workflow task sends them together and the loop goes on without waiting for their
   * delivery.
   */
  const grantFreeSlots = () => {
    for (const h of state.holders) if (h.unconfirmed && !sent.has(h.requestId)) sendGrant(h);
    while (state.holders.length < state.capacity && state.waiting.length > 0) {
      const [next] = state.waiting.splice(nextToGrant(state.waiting, state.callerTurns ?? {}), 1);
      const { requesterId, requestId, requesterRunId, priority, caller } = next!;
      const claim = definedClaim({ priority, caller });
      const holder = { requesterId, requestId, ...(requesterRunId !== undefined ? { requesterRunId } : {}), ...claim, since: Date.now() };
      state.holders.push(holder);
      noteGrant(state, { requesterId, ...claim, at: Date.now() });
      sendGrant(holder);
    }
    state.callerTurns = pruneCallerTurns(state.callerTurns ?? {}, state.waiting);
  };

  /**
   * Wait for a signal, the next lease expiry or (while slots are held) the next reclaim check, whichever
   * comes first. One timer serves every wait until it fires or an earlier wake-up is due, rather than a
   * timer started and cancelled per signal; the reclaim check runs beside the grants instead of holding
   * them up.
   */
  const waitForWork = async () => {
    if (state.holders.length === 0) nextCheckAt = undefined;
    else nextCheckAt ??= Date.now() + (state.reclaimCheckMs ?? DEFAULT_RECLAIM_CHECK_MS);
    const oldest = state.holders.reduce((m, h) => Math.min(m, h.since), Infinity);
    const leaseAt = Number.isFinite(oldest) ? Math.max(Date.now() + 1000, oldest + LEASE_MS) : Date.now() + LEASE_MS;
    const at = Math.min(leaseAt, nextCheckAt ?? Infinity);
    if (!wakeTimer || wakeTimer.fired || at < wakeTimer.at) {
      const timer = { at, fired: false };
      wakeTimer = timer;
      void sleep(Math.max(1, at - Date.now())).then(() => {
        timer.fired = true;
        wakes++;
      });
    }
    const seen = wakes;
    await condition(() => wakes !== seen);
    if (!checking && nextCheckAt !== undefined && Date.now() >= nextCheckAt) {
      checks++;
      checking = true;
      nextCheckAt = undefined;
      void reclaimClosedHolders(state).finally(() => {
        checking = false;
        wakes++;
      });
    }
  };

  for (;;) {
    const now = Date.now();
    const before = state.holders.length;
    state.holders = state.holders.filter((h) => now - h.since < LEASE_MS);
    state.expired += before - state.holders.length;

    const together = patched(GRANT_BY_PRIORITY_TOGETHER);
    if (together) grantFreeSlots();
    else {
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
    }
    recordJobsInFlight(state.provider, state.holders.length);
    if (signals >= (state.signalsPerRun ?? SIGNALS_PER_RUN) || checks >= CHECKS_PER_RUN || workflowInfo().continueAsNewSuggested) {
      // Grants on their way are not waited for: those the server has not confirmed are still `unconfirmed`
      // in the state, and the next run sends them again (a grant sent in this very task was lost at 2,000
      // pipelines). A reclaim check still running is dropped and made again by the next run.
      await continueAsNew<typeof providerLimiterWorkflow>(state);
    }
    if (together) {
      await waitForWork();
      continue;
    }
    // Wake on the next signal (or a grant that could not be delivered), at the next lease expiry, or (while
    // slots are held) at the next reclaim check.
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

/** Grants after the first RECENT_GRANTS_KEPT are only counted. */
function noteGrant(state: LimiterState, grant: SlotGrant): void {
  state.granted = (state.granted ?? 0) + 1;
  state.callerTurns = { ...state.callerTurns, [callerKey(grant)]: state.granted };
  const recent = [...(state.recentGrants ?? []), grant];
  state.recentGrants = recent.slice(-RECENT_GRANTS_KEPT);
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
