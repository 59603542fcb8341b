import { CancellationScope, condition, getExternalWorkflowHandle, isCancellation, patched, setHandler, uuid4, workflowInfo } from '@temporalio/workflow';
import { CANCEL_WAITS_FOR_CREATES, statusActivities } from '../activity-proxies';
import { recordSlotWait } from './metrics';
import { limiterWorkflowId, releaseSlotSignal, slotGrantedSignal } from '../../contract/limiter';

/**
 * Run `fn` while holding one of the provider's job slots (see limiter.ts). Waiting for a slot is a
 * durable wait on a signal; the slot is given back however `fn` ends, cancellation included. On
 * cancellation `onCancelled` (the pipeline's cancel-and-report, which must be safe to call twice) runs
 * first, so the slot is free only once the job holding it was cancelled at the provider or reported.
 */
export async function withProviderSlot<T>(
  provider: string,
  onWait: (capacity: number) => void,
  fn: () => Promise<T>,
  onCancelled?: () => Promise<void>,
): Promise<T> {
  const { workflowId, runId, taskQueue } = workflowInfo();
  const requestId = uuid4();
  let granted = false;
  setHandler(slotGrantedSignal, ({ requestId: id }) => {
    if (id === requestId) granted = true;
  });
  const { limited, capacity } = await statusActivities.limiterAcquire({ provider, requesterId: workflowId, requesterRunId: runId, requestId });
  if (!limited) return fn();
  try {
    if (!granted) {
      onWait(capacity);
      const waitFrom = Date.now();
      await condition(() => granted);
      recordSlotWait(provider, Date.now() - waitFrom);
    }
    return await fn();
  } catch (err) {
    if (onCancelled && isCancellation(err) && patched(CANCEL_WAITS_FOR_CREATES)) await onCancelled();
    throw err;
  } finally {
    await CancellationScope.nonCancellable(() =>
      getExternalWorkflowHandle(limiterWorkflowId(provider, taskQueue)).signal(releaseSlotSignal, { requesterId: workflowId, requestId }),
    );
  }
}
