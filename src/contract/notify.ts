import { z } from 'zod';
import { NOTIFY_EVENTS, type NotifyEvent } from './notify-events';

/**
 * Completion webhooks (docs/webhooks.md): what a caller asks for in a pipeline's input (`notify`), and
 * what the pipeline hands to the `webhookDelivery` child workflow when it ends. Pure: the URL rules here
 * are checked at the edge, by the workflow's own input parse and again by the delivering activity, which
 * also applies the worker's address policy (private and loopback destinations) after resolving the host.
 */

export { NOTIFY_EVENTS, WEBHOOK_DELIVERY_WORKFLOW_TYPE, notifyEvents, webhookDeliveryWorkflowId, type NotifyEvent } from './notify-events';

export const NOTIFY_URL_MAX_LENGTH = 2048;
const HTTP_SCHEME = /^https?:\/\//i;

/**
 * Where the webhook is POSTed: an http(s) URL with a host, without a user name or password (inputs are
 * kept in workflow history; a receiver authenticates Reelay by the signature) and without a fragment.
 */
export const NotifyUrl = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(NOTIFY_URL_MAX_LENGTH, `must be at most ${NOTIFY_URL_MAX_LENGTH} characters`)
  .regex(HTTP_SCHEME, 'must be an http:// or https:// URL')
  .superRefine((s, ctx) => {
    if (!HTTP_SCHEME.test(s)) return;
    const problem = notifyUrlProblem(s);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** Why a webhook URL is refused, or undefined when it is fine. */
export function notifyUrlProblem(s: string): string | undefined {
  if (!HTTP_SCHEME.test(s)) return 'must be an http:// or https:// URL';
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    return 'is not a valid URL';
  }
  if (!url.hostname) return 'is not a valid URL: it has no host';
  if (url.username || url.password) return 'must not carry a user name or password (inputs are kept in workflow history, and receivers check the signature instead)';
  if (s.includes('#')) return 'must not have a fragment ("#…")';
  return undefined;
}

export const NotifyInput = z
  .object({
    /** The receiver: an http(s) URL, no credentials, no fragment. */
    url: NotifyUrl,
    /** Which endings are sent; default all three. */
    events: z
      .array(z.enum(NOTIFY_EVENTS))
      .min(1, 'needs at least one event (or leave it out for all)')
      .refine((e) => new Set(e).size === e.length, 'must not repeat an event')
      .optional(),
  })
  .strict()
  .describe('Signed completion webhook (docs/webhooks.md): POSTed to `url` when the run ends as one of `events` (default all).');
export type NotifyInput = z.infer<typeof NotifyInput>;

export type WebhookEventType = `pipeline.${NotifyEvent}`;

/** What a pipeline that ends hands to its `webhookDelivery` child: everything the body and the signature need. */
export interface WebhookDeliveryInput {
  url: string;
  event: NotifyEvent;
  workflowId: string;
  runId: string;
  workflowType: string;
  /** When the run ended (the workflow's clock), ISO 8601: the body's `timestamp`, the same on every attempt. */
  occurredAt: string;
  result?: unknown;
  failure?: { message: string; type?: string };
  /** The failure chain's details (a partial failure lists what it delivered): searched for outputs, not sent. */
  failureDetails?: unknown[];
}

export interface WebhookDeliveryResult {
  webhookId: string;
  status: number;
  attempt: number;
}
