import { CancellationScope, ContinueAsNew, ParentClosePolicy, isCancellation, log, startChild, workflowInfo } from '@temporalio/workflow';
import type * as Notify from '../../contract/notify';
import { WEBHOOK_DELIVERY_WORKFLOW_TYPE, notifyEvents, webhookDeliveryWorkflowId } from '../../contract/notify-events';
import type { webhookDelivery } from '../webhook';
import { failureInfo } from './failure';
import { validatedNotify } from './input';

/**
 * Completion webhooks for every pipeline, applied once where the worker's workflows are listed
 * (src/workflows/index.ts). A run whose input asks for `notify` starts, as it ends, a `webhookDelivery`
 * child for its event (completed, failed or cancelled; a cancelled run does so in a non-cancellable scope)
 * with ParentClosePolicy ABANDON, and waits only until the child has started: the run closes at once, the
 * child delivers (retrying up to 24 hours) and records the outcome. A run without `notify` issues no
 * command more than before, so recorded histories replay unchanged. Continue-as-new is not an ending.
 */
export function withNotify<I, R, Rest extends unknown[] = []>(run: (input: I, ...rest: Rest) => Promise<R>): (input: I, ...rest: Rest) => Promise<R> {
  return async (input, ...rest) => {
    const raw = (input as { notify?: unknown } | null | undefined)?.notify;
    if (raw === undefined) return run(input, ...rest);
    // A bad notify fails the run's own input check (InvalidInput); there is nowhere to send that. The
    // pipeline's validateInput activity said whether it is good; a run from before that patch (or one
    // that ended before the activity answered) parses it here, and only then loads zod. Pure either way:
    // when it is read changes no command.
    const notifyOf = (): Notify.NotifyInput | undefined => {
      const said = validatedNotify();
      if (said) return said.notify as Notify.NotifyInput | undefined;
      const parsed = (require('../../contract/notify') as typeof Notify).NotifyInput.safeParse(raw);
      return parsed.success ? parsed.data : undefined;
    };
    const handOff = async (event: Notify.NotifyEvent, outcome: Pick<Notify.WebhookDeliveryInput, 'result' | 'failure' | 'failureDetails'>) => {
      const notify = notifyOf();
      if (!notify || !notifyEvents(notify).includes(event)) return;
      const { workflowId, runId, workflowType } = workflowInfo();
      try {
        await startChild<typeof webhookDelivery>(WEBHOOK_DELIVERY_WORKFLOW_TYPE, {
          workflowId: webhookDeliveryWorkflowId(workflowId, runId, event),
          args: [{ url: notify.url, event, workflowId, runId, workflowType, occurredAt: new Date().toISOString(), ...outcome }],
          parentClosePolicy: ParentClosePolicy.ABANDON,
          staticSummary: `Webhook pipeline.${event} of ${workflowId}`,
        });
      } catch (err) {
        // The run's own outcome stands; the lost hand-off is in the log and the history.
        log.error('Could not start the webhook delivery', { event, error: failureInfo(err).message });
      }
    };
    try {
      const result = await run(input, ...rest);
      await handOff('completed', { result });
      return result;
    } catch (err) {
      if (err instanceof ContinueAsNew) throw err;
      if (isCancellation(err)) {
        await CancellationScope.nonCancellable(() => handOff('cancelled', { failure: failureInfo(err) }));
      } else {
        await handOff('failed', { failure: failureInfo(err), failureDetails: failureDetails(err) });
      }
      throw err;
    }
  };
}

/** The details along a failure's cause chain (a partial failure's delivered files are there). */
function failureDetails(err: unknown): unknown[] {
  const out: unknown[] = [];
  let e = err as { details?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; e && typeof e === 'object' && depth < 10; depth++) {
    if (Array.isArray(e.details) && e.details.length) out.push(...(e.details as unknown[]));
    e = e.cause as typeof e;
  }
  return out;
}
