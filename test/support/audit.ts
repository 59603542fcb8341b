import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { progressQuery } from '../../src/client';

/**
 * Everything a workflow leaves where people and tools can read it — its history (with its children's),
 * its description (search attributes, memo, summaries), its outcome and its progress query — exported
 * for a secrets audit. `raw*` is what the server stores, payloads as stored; the rest is what a client
 * with this process's data converter reads.
 */
export interface WorkflowExport {
  workflowId: string;
  /** The history's JSON, exactly as `temporal workflow show --output json` would export it. */
  rawHistoryJson: string;
  /** Every string and byte string of the raw history, bytes as UTF-8 (payload contents included). */
  rawHistoryText: string;
  /** The same, split: inside payloads, and everything else (ids, types, failure messages, …). */
  rawPayloadText: string;
  rawOtherText: string;
  /** Payloads that are inputs (of the workflow, its activities and children), and all the others (results, summaries, failure details, …). */
  rawInputPayloadText: string;
  rawNonInputPayloadText: string;
  /** Every payload of the raw history, with where it sits. */
  payloads: Array<{ where: string; payload: Payload }>;
  /** DescribeWorkflowExecution as stored (search attributes, memo and user metadata undecoded). */
  rawDescribeText: string;
  /** Decoded by the client: summary, details, memo, search attributes. */
  describedText: string;
  /** The result, or the failure chain's messages, types, stacks and details. */
  outcome: { status: 'completed'; result: unknown } | { status: 'failed'; error: unknown };
  outcomeText: string;
  progressText: string;
  activityTypes: string[];
  histories: Array<{ workflowId: string; history: unknown }>;
}

function isPayload(v: unknown): v is Payload {
  return typeof v === 'object' && v !== null && 'metadata' in v && 'data' in v && !Array.isArray(v);
}

/** Walks an object graph: `onPayload` for payloads (not descended into), `onText` for every other string or byte string. */
export function walk(value: unknown, visit: { onText(text: string, where: string): void; onPayload?(p: Payload, where: string): void }, where = ''): void {
  const seen = new Set<unknown>();
  const go = (v: unknown, at: string): void => {
    if (v === null || v === undefined) return;
    if (typeof v === 'string') return visit.onText(v, at);
    if (v instanceof Uint8Array) return visit.onText(Buffer.from(v).toString('utf8'), at);
    if (typeof v !== 'object' || seen.has(v)) return;
    seen.add(v);
    if (visit.onPayload && isPayload(v)) return visit.onPayload(v, at);
    for (const [k, x] of Array.isArray(v) ? v.entries() : Object.entries(v)) go(x, `${at}.${k}`);
  };
  go(value, where);
}

export function textOf(value: unknown): string {
  const parts: string[] = [];
  walk(value, { onText: (t) => parts.push(t) });
  return parts.join('\n');
}

function errorText(err: unknown, depth = 0): string {
  if (!err || typeof err !== 'object' || depth > 10) return String(err);
  const e = err as Error & { type?: string; details?: unknown; cause?: unknown; failure?: unknown };
  return [e.name, e.message, e.type, e.stack, textOf(e.details), textOf(e.failure), e.cause ? errorText(e.cause, depth + 1) : ''].join('\n');
}

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;

/** The whole history as JSON, bytes in base64 and 64-bit integers as strings (as proto3 JSON has them). */
export function historyJson(history: History): string {
  return JSON.stringify(history, (_key, v: unknown) => {
    if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
    if (v && typeof v === 'object') {
      const o = v as { type?: unknown; data?: unknown; low?: unknown; high?: unknown; toString(): string };
      if (o.type === 'Buffer' && Array.isArray(o.data)) return Buffer.from(o.data as number[]).toString('base64');
      if (typeof o.low === 'number' && typeof o.high === 'number') return o.toString();
    }
    return v;
  });
}

export async function exportWorkflow(client: Client, workflowId: string): Promise<WorkflowExport> {
  const handle = client.workflow.getHandle(workflowId);
  const histories: Array<{ workflowId: string; history: History }> = [];
  const queue = [workflowId];
  while (queue.length) {
    const id = queue.shift()!;
    const history = await client.workflow.getHandle(id).fetchHistory();
    histories.push({ workflowId: id, history });
    for (const e of history.events ?? []) {
      const child = e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
      if (child) queue.push(child);
    }
  }
  const payloads: WorkflowExport['payloads'] = [];
  const payloadParts: string[] = [];
  const inputParts: string[] = [];
  const nonInputParts: string[] = [];
  const otherParts: string[] = [];
  for (const { workflowId: id, history } of histories) {
    walk(history, {
      onText: (t) => otherParts.push(t),
      onPayload: (p, at) => {
        payloads.push({ where: `${id}${at}`, payload: p });
        payloadParts.push(textOf(p));
        (/\.input\.payloads\.\d+$/.test(at) ? inputParts : nonInputParts).push(textOf(p));
      },
    });
  }
  const activityTypes = new Set<string>();
  for (const { history } of histories) {
    for (const e of history.events ?? []) {
      const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
      if (name) activityTypes.add(name);
    }
  }
  const desc = await handle.describe();
  let outcome: WorkflowExport['outcome'];
  try {
    outcome = { status: 'completed', result: await handle.result() };
  } catch (error) {
    outcome = { status: 'failed', error };
  }
  const progress = await handle.query(progressQuery).catch((err: unknown) => ({ queryFailed: errorText(err) }));
  return {
    workflowId,
    rawHistoryJson: histories.map(({ history }) => historyJson(history)).join('\n'),
    rawHistoryText: histories.map(({ history }) => textOf(history)).join('\n'),
    rawPayloadText: payloadParts.join('\n'),
    rawOtherText: otherParts.join('\n'),
    rawInputPayloadText: inputParts.join('\n'),
    rawNonInputPayloadText: nonInputParts.join('\n'),
    payloads,
    rawDescribeText: textOf(desc.raw),
    describedText: [
      desc.workflowId,
      await desc.staticSummary().catch((e: unknown) => errorText(e)),
      await desc.staticDetails().catch((e: unknown) => errorText(e)),
      JSON.stringify(await Promise.resolve(desc.memo).catch((e: unknown) => errorText(e))),
      JSON.stringify(desc.typedSearchAttributes),
    ].join('\n'),
    outcome,
    outcomeText: outcome.status === 'completed' ? JSON.stringify(outcome.result) : errorText(outcome.error),
    progressText: JSON.stringify(progress),
    activityTypes: [...activityTypes].sort(),
    histories,
  };
}

/** The structure of a value with its leaves replaced by their types (array items merged), to compare two runs. */
export function shape(v: unknown): unknown {
  if (Array.isArray(v)) {
    const items = new Map(v.map((x) => [JSON.stringify(shape(x)), shape(x)]));
    return [...items.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, s]) => s);
  }
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, shape((v as Record<string, unknown>)[k])]));
  return v === null ? 'null' : typeof v;
}

/** Which of `needles` occur in `haystack`, by name. */
export function found(haystack: string, needles: Record<string, string>): string[] {
  return Object.entries(needles)
    .filter(([, n]) => n.length > 0 && haystack.includes(n))
    .map(([name]) => name);
}
