import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Workflow, WorkflowResultType } from '@temporalio/common';
import type { PipelineProgress } from '../contract/progress';
import { ProgressView, type Outcome, type WatchedState } from './render';

/**
 * Client-side helpers shared by the commands and the demo: ask a pipeline for its progress without
 * hanging when no worker answers, turn a closed workflow into an outcome, and watch several at once.
 */

const QUERY_TIMEOUT_MS = 4000;

/** The `progress` query, or undefined when no worker answers in time (or the workflow has not started yet). */
export async function queryProgress(client: Client, handle: WorkflowHandle, timeoutMs = QUERY_TIMEOUT_MS): Promise<PipelineProgress | undefined> {
  const { progressQuery } = await import('../contract/progress');
  try {
    return await client.withDeadline(Date.now() + timeoutMs, () => handle.query(progressQuery));
  } catch {
    return undefined;
  }
}

export interface OutcomeInfo<R = unknown> {
  status: Outcome;
  /** The workflow's result, typed by its handle. */
  result?: R;
  failure?: string;
  /** The ApplicationFailure type at the root of the failure, e.g. `Unauthorized`. */
  failureType?: string;
  /** A partial failure's input for re-running only what failed (localize puts it in the failure's details). */
  rerunInput?: unknown;
}

/** Waits for the workflow to close (following continue-as-new) and says how it ended. */
export async function awaitOutcome<T extends Workflow>(handle: WorkflowHandle<T>): Promise<OutcomeInfo<WorkflowResultType<T>>> {
  const { WorkflowFailedError } = await import('@temporalio/client');
  const { CancelledFailure, TerminatedFailure, TimeoutFailure, ApplicationFailure } = await import('@temporalio/common');
  try {
    return { status: 'COMPLETED', result: await handle.result() };
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    const cause = err.cause;
    let status: Outcome = 'FAILED';
    if (cause instanceof CancelledFailure) status = 'CANCELLED';
    else if (cause instanceof TerminatedFailure) status = 'TERMINATED';
    else if (cause instanceof TimeoutFailure) status = 'TIMED_OUT';
    let root: Error | undefined = cause;
    let rerunInput: unknown;
    for (let e: Error | undefined = cause; e; e = (e as { cause?: Error }).cause) {
      const details = (e as { details?: unknown[] }).details;
      for (const d of Array.isArray(details) ? details : []) if (rerunInput === undefined && d && typeof d === 'object' && 'rerunInput' in d) rerunInput = (d as { rerunInput: unknown }).rerunInput;
      root = e;
    }
    return {
      status,
      failure: status === 'CANCELLED' ? 'cancelled' : failureMessage(err),
      failureType: root instanceof ApplicationFailure ? (root.type ?? undefined) : undefined,
      ...(rerunInput !== undefined ? { rerunInput } : {}),
    };
  }
}

const GENERIC = new Set(['Workflow execution failed', 'Activity task failed', 'Child Workflow execution failed', 'Activity task timed out']);

/** One line from a failure chain: the specific messages, with the activity and failure type named. */
export function failureMessage(err: unknown): string {
  const parts: string[] = [];
  let e = err as (Error & { cause?: unknown; type?: string | null; activityType?: string }) | undefined;
  for (let depth = 0; e && depth < 10; depth++) {
    if (e.activityType) parts.push(`activity ${e.activityType}`);
    if (e.message && !GENERIC.has(e.message)) parts.push(e.type ? `${e.type}: ${e.message}` : e.message);
    e = e.cause as typeof e;
  }
  return parts.join(' — ') || 'failed';
}

export interface OutputFile {
  label: string;
  /** Where it is: the local path, or the object's `s3://` uri when it went to a store. */
  path: string;
  /** The object's `s3://` uri, when it went to a store (`reelay output url` makes links to it). */
  uri?: string;
  bytes: number;
  sha256: string;
  /** Where the provider served it (without any signed query), when the result says. */
  providerUrl?: string;
}

/**
 * The delivered files of a pipeline result, recognised by shape: `outputs[]` (LipDub), `dubs[].outputs[]`
 * (DubLab), a single `output` (text2video, Vivid Flow, AI Studio) and `languages[].{video,dubbedAudio,subtitles}`
 * (localize), so future pipelines of those shapes work too.
 */
export function outputFiles(result: unknown): OutputFile[] {
  const files: OutputFile[] = [];
  const take = (o: Record<string, unknown>, label: string) => {
    // An output in an object store is named by its uri (s3://…), a local one by its path.
    const where = typeof o.uri === 'string' ? o.uri : o.path;
    if (typeof where !== 'string') return;
    files.push({
      label,
      path: where,
      ...(typeof o.uri === 'string' ? { uri: o.uri } : {}),
      bytes: Number(o.bytes ?? 0),
      sha256: String(o.sha256 ?? ''),
      ...(typeof o.providerUrl === 'string' ? { providerUrl: o.providerUrl } : {}),
    });
  };
  const r = (result ?? {}) as {
    output?: Record<string, unknown>;
    outputs?: Array<Record<string, unknown>>;
    dubs?: Array<{ language?: string; outputs?: Array<Record<string, unknown>> }>;
    languages?: Array<{ language?: string } & Record<string, unknown>>;
  };
  if (r.output && typeof r.output === 'object') take(r.output, String(r.output.language ?? r.output.type ?? 'video'));
  for (const o of r.outputs ?? []) take(o, String(o.language ?? o.type ?? 'output'));
  for (const d of r.dubs ?? []) for (const o of d.outputs ?? []) take(o, `${d.language ?? '?'} ${String(o.type ?? '')}`.trim());
  for (const l of r.languages ?? []) {
    for (const kind of ['video', 'dubbedAudio', 'subtitles']) {
      const o = l[kind];
      if (o && typeof o === 'object') take(o as Record<string, unknown>, `${l.language ?? '?'} ${kind}`);
    }
  }
  return files;
}

/**
 * The scalar facts of a result beside its files (`jobId=…`, `resubmits=0`, `tokensConsumed=50`,
 * `metrics.totalTime=…`), for a one-line summary. Nested objects other than `metrics` are left out.
 */
export function resultFacts(result: unknown): Array<[string, string]> {
  const facts: Array<[string, string]> = [];
  if (!result || typeof result !== 'object') return facts;
  const scalar = (v: unknown) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
  for (const [k, v] of Object.entries(result as Record<string, unknown>)) {
    if (scalar(v)) facts.push([k, String(v)]);
    else if (k === 'metrics' && v && typeof v === 'object') {
      for (const [mk, mv] of Object.entries(v as Record<string, unknown>)) if (scalar(mv)) facts.push([`${k}.${mk}`, String(mv)]);
    }
  }
  return facts;
}

export interface WatchTarget {
  handle: WorkflowHandle;
  label?: string;
}

export interface WatchResult extends OutcomeInfo {
  workflowId: string;
  progress?: PipelineProgress;
}

/**
 * Redraws progress for every target until all have closed, then returns each outcome with the last
 * progress (queried once more after closing, so a cancelled pipeline reports what it left behind).
 */
export async function watchWorkflows(
  client: Client,
  targets: WatchTarget[],
  opts: { stream?: NodeJS.WriteStream; intervalMs?: number; logLines?: number; header?: () => string[] } = {},
): Promise<WatchResult[]> {
  const view = new ProgressView(opts.stream ?? process.stdout, { logLines: opts.logLines, header: opts.header });
  const states: WatchedState[] = targets.map((t) => ({ workflowId: t.handle.workflowId, label: t.label, status: 'RUNNING' }));
  const outcomes: Array<OutcomeInfo | undefined> = targets.map(() => undefined);
  let wake: () => void = () => undefined;
  targets.forEach((t, i) => {
    void awaitOutcome(t.handle)
      .catch((err: unknown): OutcomeInfo => ({ status: 'UNKNOWN', failure: (err as Error).message }))
      .then((o) => {
        outcomes[i] = o;
        wake();
      });
  });
  const interval = opts.intervalMs ?? 1000;

  for (;;) {
    await Promise.all(
      targets.map(async (t, i) => {
        const s = states[i]!;
        if (s.status !== 'RUNNING') return;
        // Only a progress read after the close is final (a cancelled pipeline records what it left behind).
        const known = outcomes[i];
        const progress = await queryProgress(client, t.handle);
        if (progress) s.progress = progress;
        s.note = progress ? undefined : 'no progress yet (is a worker running on this task queue?)';
        if (known) {
          s.status = known.status;
          s.failure = known.status === 'COMPLETED' || known.status === 'CANCELLED' ? undefined : known.failure;
          s.note = undefined;
        }
      }),
    );
    view.update(states);
    if (states.every((s) => s.status !== 'RUNNING')) break;
    const pending = states.some((s, i) => s.status === 'RUNNING' && outcomes[i]);
    if (!pending) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, interval);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = () => undefined;
    }
  }
  view.done();
  return targets.map((t, i) => ({ workflowId: t.handle.workflowId, ...outcomes[i]!, progress: states[i]!.progress }));
}
