import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { WebhookDeliveryInput, WebhookDeliveryResult } from '../contract/notify';

/**
 * One POST per attempt; the activity sets each next-retry delay (doubling from
 * REELAY_WEBHOOK_RETRY_INITIAL_SECONDS, default 5 s, up to 1 h, or the receiver's Retry-After). The policy
 * below applies where the activity cannot speak — a worker lost mid-delivery, noticed within the 10 s
 * heartbeat timeout — and schedule-to-close ends the retries 24 hours after the first attempt was scheduled.
 * Start-to-close: the receiver has 30 s to answer (WEBHOOK_REQUEST_TIMEOUT_MS), plus the connect and DNS.
 */
export const WEBHOOK_DELIVERY: ActivityOptions = {
  scheduleToCloseTimeout: '24 hours',
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '1 hour' },
};
const delivery = proxyActivities<Activities>(WEBHOOK_DELIVERY);

/**
 * Delivers one completion webhook of a pipeline run that has ended. The run starts it as an abandoned
 * child (src/workflows/shared/notify.ts) and closes as soon as it has started, so a slow or absent receiver
 * never holds a pipeline open; this workflow alone waits, retries and records the outcome.
 */
export async function webhookDelivery(input: WebhookDeliveryInput): Promise<WebhookDeliveryResult> {
  return delivery.deliverWebhook.executeWithOptions(
    {
      ...WEBHOOK_DELIVERY,
      summary: `POST pipeline.${input.event} for ${input.workflowId}`,
    },
    [input],
  );
}
