import { ApplicationFailure, Context } from '@temporalio/activity';
import { request } from 'undici';
import { notifyUrlProblem, type WebhookDeliveryInput, type WebhookDeliveryResult, type WebhookEventType } from '../contract/notify';
import { redactUrl } from '../providers/http';
import { WebhookAddressError, pinnedAgent, resolveWebhookHost } from '../webhooks/address';
import { webhookMessageId, webhookSignature } from '../webhooks/signature';
import type { ActivityDeps } from './shared';

/**
 * Delivers one completion webhook (docs/webhooks.md), signed the Standard Webhooks way with the worker's
 * secret, which never enters workflow history. Each attempt is one POST; a non-2xx answer or a network
 * error fails the attempt with a next-retry delay that doubles from REELAY_WEBHOOK_RETRY_INITIAL_SECONDS up
 * to an hour (a receiver's Retry-After is honoured, within that hour); the workflow's retry policy bounds
 * the whole to 24 hours. What cannot get better by waiting — no secret, a bad URL, a refused address —
 * fails at once.
 */

/** A receiver has this long to answer (headers and body); the activity's start-to-close leaves room above it. */
export const WEBHOOK_REQUEST_TIMEOUT_MS = 30_000;
export const WEBHOOK_MAX_RETRY_DELAY_MS = 3_600_000;
const HEARTBEAT_EVERY_MS = 1_000;

/** The JSON body of a webhook: the same bytes on every attempt. */
export interface WebhookBody {
  type: WebhookEventType;
  /** When the run ended. */
  timestamp: string;
  data: {
    workflowId: string;
    runId: string;
    workflowType: string;
    status: WebhookDeliveryInput['event'];
    result?: unknown;
    failure?: { message: string; type?: string };
    /** Every file the run delivered (an s3:// URI, else the path on the workers' disk), and a batch's results file. */
    outputs: string[];
  };
}

export function webhookBody(input: WebhookDeliveryInput): WebhookBody {
  return {
    type: `pipeline.${input.event}`,
    timestamp: input.occurredAt,
    data: {
      workflowId: input.workflowId,
      runId: input.runId,
      workflowType: input.workflowType,
      status: input.event,
      ...(input.result !== undefined ? { result: input.result } : {}),
      ...(input.failure ? { failure: input.failure } : {}),
      outputs: deliveredOutputs(input.result !== undefined ? input.result : input.failureDetails),
    },
  };
}

/**
 * The files a result (or a failure's details) names: every delivered file (an object with `path` and
 * `sha256`, src/contract/common.ts DeliveredFile) by its `uri` or `path`, and a batch's `resultsPath`.
 */
export function deliveredOutputs(value: unknown): string[] {
  const out = new Set<string>();
  const walk = (v: unknown, depth: number): void => {
    if (!v || typeof v !== 'object' || depth > 10) return;
    const o = v as Record<string, unknown>;
    if (typeof o.path === 'string' && typeof o.sha256 === 'string') {
      out.add(typeof o.uri === 'string' ? o.uri : o.path);
      return;
    }
    if (typeof o.resultsPath === 'string') out.add(o.resultsPath);
    for (const x of Array.isArray(v) ? v : Object.values(o)) walk(x, depth + 1);
  };
  walk(value, 0);
  return [...out];
}

/** The wait before attempt `attempt + 1`: initial × 2^(attempt−1), at most an hour. */
export function webhookRetryDelayMs(initialMs: number, attempt: number): number {
  return Math.min(WEBHOOK_MAX_RETRY_DELAY_MS, initialMs * 2 ** Math.min(attempt - 1, 30));
}

function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const v = Array.isArray(header) ? header[0] : header;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

export function createWebhookActivities(deps: ActivityDeps) {
  return {
    async deliverWebhook(input: WebhookDeliveryInput): Promise<WebhookDeliveryResult> {
      const ctx = Context.current();
      const { attempt } = ctx.info;
      const settings = deps.config.webhooks;
      const where = redactUrl(input.url);
      if (!settings.keys.length) {
        throw ApplicationFailure.create({
          type: 'WebhookNotConfigured',
          nonRetryable: true,
          message: `cannot sign the webhook to ${where}: this worker has no webhook secret; set REELAY_WEBHOOK_SECRET (whsec_…) on the workers`,
        });
      }
      const problem = notifyUrlProblem(input.url);
      if (problem) throw ApplicationFailure.create({ type: 'InvalidWebhookUrl', nonRetryable: true, message: `notify.url ${problem}` });
      const url = new URL(input.url);
      const webhookId = webhookMessageId(input.workflowId, input.runId, input.event);
      const body = JSON.stringify(webhookBody(input));
      const refused = (message: string, status?: number, after?: number): ApplicationFailure => {
        const delay = Math.min(WEBHOOK_MAX_RETRY_DELAY_MS, Math.max(after ?? 0, webhookRetryDelayMs(settings.retryInitialMs, attempt)));
        return ApplicationFailure.create({ type: 'WebhookNotDelivered', message, nextRetryDelay: delay, details: [{ webhookId, status: status ?? null, attempt }] });
      };

      let target;
      try {
        target = await resolveWebhookHost(url.hostname, { allowPrivate: settings.allowPrivate });
      } catch (err) {
        if (err instanceof WebhookAddressError) throw ApplicationFailure.create({ type: 'WebhookAddressRefused', nonRetryable: true, message: err.message });
        throw refused(`webhook to ${where}: cannot resolve ${url.hostname}: ${(err as Error).message}`);
      }
      // Connect only to the addresses just checked: a DNS answer that changes now cannot redirect the POST.
      const agent = pinnedAgent(target, { connectMs: 10_000, answerMs: WEBHOOK_REQUEST_TIMEOUT_MS });
      const beat = setInterval(() => ctx.heartbeat({ webhookId, attempt }), HEARTBEAT_EVERY_MS);
      try {
        const timestamp = Math.floor(Date.now() / 1000);
        const res = await request(url, {
          method: 'POST',
          dispatcher: agent,
          signal: ctx.cancellationSignal,
          headers: {
            'content-type': 'application/json',
            'user-agent': 'reelay-webhooks/1',
            'webhook-id': webhookId,
            'webhook-timestamp': String(timestamp),
            'webhook-signature': webhookSignature(settings.keys, webhookId, timestamp, body),
          },
          body,
        });
        await res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
        if (res.statusCode >= 200 && res.statusCode < 300) return { webhookId, status: res.statusCode, attempt };
        throw refused(`webhook to ${where} answered HTTP ${res.statusCode} (attempt ${attempt})`, res.statusCode, retryAfterMs(res.headers['retry-after']));
      } catch (err) {
        if (err instanceof ApplicationFailure) throw err;
        if (ctx.cancellationSignal.aborted) throw err;
        const e = err as Error & { code?: string; cause?: { code?: string; message?: string } };
        throw refused(`webhook to ${where} failed (attempt ${attempt}): ${e.code ?? e.cause?.code ?? e.name}: ${e.cause?.message ?? e.message}`);
      } finally {
        clearInterval(beat);
        await agent.close().catch(() => undefined);
      }
    },
  };
}
