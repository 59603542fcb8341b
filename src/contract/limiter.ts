import { defineQuery, defineSignal } from '@temporalio/workflow';

// What the limiter workflow (src/workflows/limiter.ts), the pipelines that ask it for slots and the
// limiterAcquire activity share.

export interface SlotRequest {
  requesterId: string;
  requestId: string;
  /** The requester's run; absent in requests made before the limiter reclaimed closed holders. */
  requesterRunId?: string;
}
export interface AcquireRequest extends SlotRequest {
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

export interface LimiterState {
  provider: string;
  capacity: number;
  holders: Array<SlotRequest & { since: number }>;
  waiting: AcquireRequest[];
  /** Slots dropped because their holder kept them past the lease (a requester that never released). */
  expired: number;
  /** Slots taken back because their holder's run had closed without releasing (terminated, timed out, reset, deleted). */
  reclaimed?: number;
  /** How often, while slots are held, the limiter looks for closed holders (from the workers' configuration). */
  reclaimCheckMs?: number;
}
export const limiterStateQuery = defineQuery<LimiterState>('limiterState');

export function limiterWorkflowId(provider: string, taskQueue: string): string {
  return `reelay-limiter-${provider}-${taskQueue}`;
}
