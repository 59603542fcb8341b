import { CancellationScope, condition, getExternalWorkflowHandle, isCancellation, patched, setHandler, uuid4, workflowInfo } from '@temporalio/workflow';
import { CANCEL_WAITS_FOR_CREATES, statusActivities } from '../activity-proxies';
import { recordSlotWait } from './metrics';
import { continuation } from './continuation';
import { definedClaim } from '../../contract/slot-order';
import { limiterWorkflowId, releaseSlotSignal, slotGrantedSignal, type SlotClaim } from '../../contract/limiter';

/**
 * Run `fn` while holding one of the provider's job slots (see limiter.ts). Waiting for a slot is a
 * durable wait on a signal; the slot is given back however `fn` ends, cancellation included. On
 * cancellation `onCancelled` (the pipeline's cancel-and-report, which must be safe to call twice) runs
 * first, so the slot is free only once the job holding it was cancelled at the provider or reported.
 * `claim` (the input's `priority` and `caller`) places the request in the limiter's order.
 */
export async function withProviderSlot<T>(
  provider: string,
  onWait: (capacity: number) => void,
  fn: () => Promise<T>,
  onCancelled?: () => Promise<void>,
  claim: SlotClaim = {},
): Promise<T> {
  const { workflowId, runId, taskQueue } = workflowInfo();
  // A run continued from one that held a slot holds it still: the limiter keeps a slot whose holder
  // continued as new while the workflow runs (src/activities/limiter.ts).
  const ctx = continuation();
  const held = ctx?.state.slots[provider];
  const requestId = held ?? uuid4();
  let granted = held !== undefined;
  setHandler(slotGrantedSignal, ({ requestId: id }) => {
    if (id === requestId) granted = true;
  });
  let capacity = 0;
  if (held === undefined) {
    const acquired = await statusActivities.limiterAcquire({ provider, requesterId: workflowId, requesterRunId: runId, requestId, ...definedClaim(claim) });
    if (!acquired.limited) return fn();
    capacity = acquired.capacity;
  }
  try {
    if (!granted) {
      onWait(capacity);
      const waitFrom = Date.now();
      await condition(() => granted);
      recordSlotWait(provider, Date.now() - waitFrom);
    }
    if (ctx) ctx.state.slots[provider] = requestId;
    return await fn();
  } catch (err) {
    if (onCancelled && isCancellation(err) && patched(CANCEL_WAITS_FOR_CREATES)) await onCancelled();
    throw err;
  } finally {
    await release();
    if (ctx) delete ctx.state.slots[provider];
  }

  function release(): Promise<void> {
    return CancellationScope.nonCancellable(() =>
      getExternalWorkflowHandle(limiterWorkflowId(provider, taskQueue)).signal(releaseSlotSignal, { requesterId: workflowId, requestId }),
    );
  }
}

