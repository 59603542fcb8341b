import { defineQuery, defineSignal } from '@temporalio/workflow';

// What the limiter workflow (src/workflows/limiter.ts), the pipelines that ask it for slots and the
// limiterAcquire activity share.

export interface SlotRequest {
  requesterId: string;
  requestId: string;
  /** The requester's run; absent in requests made before the limiter reclaimed closed holders. */
  requesterRunId?: string;
}

/** Who asks and how urgently: slots go to the highest priority first, then round-robin across callers. */
export interface SlotClaim {
  /** 1 (highest) to 5 (lowest), as Temporal's task priority; absent: 3. */
  priority?: number;
  /** The fairness key (a tenant, a team, a service); absent: one shared caller. */
  caller?: string;
}

export interface AcquireRequest extends SlotRequest, SlotClaim {
  /** The limit, from the configuration of the worker that asks; the latest one wins. */
  capacity: number;
  /** How often, while slots are held, to look for holders whose runs have closed (latest one wins). */
  reclaimCheckMs?: number;
}

/** How often the limiter looks for closed holders when no worker's configuration says (REELAY_LIMITER_RECLAIM_CHECK_SECONDS). */
export const DEFAULT_RECLAIM_CHECK_MS = 60_000;

/** A holder the limiter asks Temporal about: its workflow id and, where known, its run. */
export interface HolderRun {
  workflowId: string;
  runId?: string;
}

export const acquireSlotSignal = defineSignal<[AcquireRequest]>('acquireSlot');
export const releaseSlotSignal = defineSignal<[SlotRequest]>('releaseSlot');
export const slotGrantedSignal = defineSignal<[{ requestId: string }]>('slotGranted');

/** One grant, as the limiter's state keeps the latest ones (for `reelay` and the tests to see the order). */
export interface SlotGrant extends SlotClaim {
  requesterId: string;
  at: number;
}

export interface LimiterState {
  provider: string;
  capacity: number;
  /** `unconfirmed`: its grant is sent, and the server has not yet confirmed the delivery. */
  holders: Array<SlotRequest & SlotClaim & { since: number; unconfirmed?: boolean }>;
  waiting: AcquireRequest[];
  /** Slots dropped because their holder kept them past the lease (a requester that never released). */
  expired: number;
  /** Slots taken back because their holder's run had closed without releasing (terminated, timed out, reset, deleted). */
  reclaimed?: number;
  /** How often, while slots are held, the limiter looks for closed holders (from the workers' configuration). */
  reclaimCheckMs?: number;
  /** Grants so far, over every run (each run carries it on). */
  granted?: number;
  /** Each waiting caller's turn: the grant number it was last served at (round-robin within a priority). */
  callerTurns?: Record<string, number>;
  /** Continue as new after this many signals (default 1000); a limiter started with a state that sets it keeps it. */
  signalsPerRun?: number;
  /** The latest grants, newest last (at most RECENT_GRANTS_KEPT). */
  recentGrants?: SlotGrant[];
}
export const RECENT_GRANTS_KEPT = 50;
export const limiterStateQuery = defineQuery<LimiterState>('limiterState');

export function limiterWorkflowId(provider: string, taskQueue: string): string {
  return `reelay-limiter-${provider}-${taskQueue}`;
}
