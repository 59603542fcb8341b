import { defineQuery, defineSignal } from '@temporalio/workflow';

// What the limiter workflow (src/workflows/limiter.ts), the pipelines that ask it for slots and the
// limiterAcquire activity share.

export interface SlotRequest {
  requesterId: string;
  requestId: string;
}
export interface AcquireRequest extends SlotRequest {
  /** The limit, from the configuration of the worker that asks; the latest one wins. */
  capacity: number;
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
}
export const limiterStateQuery = defineQuery<LimiterState>('limiterState');

export function limiterWorkflowId(provider: string, taskQueue: string): string {
  return `reelay-limiter-${provider}-${taskQueue}`;
}
