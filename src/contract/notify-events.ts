/**
 * The pure half of completion webhooks (./notify has the zod schemas): what a pipeline's run needs when it
 * hands an ending to its `webhookDelivery` child. Without zod, since a workflow run evaluates every module
 * it reaches (src/workflows/index.ts).
 */

export const NOTIFY_EVENTS = ['completed', 'failed', 'cancelled'] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

/** The endings a (parsed) `notify` asks for: its `events`, or all three. */
export function notifyEvents(notify: { events?: readonly NotifyEvent[] }): readonly NotifyEvent[] {
  return notify.events ?? NOTIFY_EVENTS;
}

/** The delivery child's workflow id: one per run and event (a workflow id reused later gets deliveries of its own). */
export function webhookDeliveryWorkflowId(workflowId: string, runId: string, event: NotifyEvent): string {
  return `${workflowId}-notify-${event}-${runId}`;
}

export const WEBHOOK_DELIVERY_WORKFLOW_TYPE = 'webhookDelivery';
