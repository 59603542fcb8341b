import { formatWithOptions } from 'node:util';
import { DefaultLogger, type LogEntry, type LogLevel, type Logger } from '@temporalio/worker';
import type { LogFormat } from '../config';
import { PACED_PROVIDERS } from '../pipelines/registry';

export type { LogFormat } from '../config';

/**
 * The worker's log (the Temporal runtime's logger: the SDK's worker, activity and workflow logs, Reelay's
 * own `log.*` calls and Core's), as an operator wants to read it:
 * - `REELAY_LOG_FORMAT=json`: one JSON object per line, with the run's `workflowId`, `runId`, `workflowType`,
 *   the `activity` and its `attempt`, and the `provider`, `endpoint` and `status` of a provider failure;
 * - a failure Reelay classified as retryable (an ApplicationFailure a provider's 429 or 5xx became, a
 *   store fault …) is one line without a stack: it is expected, and Temporal retries it;
 * - a failure a run ends with is one line too when it is an ApplicationFailure (the workflow or a
 *   provider said why); a stack is kept only for errors nobody classified (bugs);
 * - the SDK's "No workflows registered" warning is dropped for the paced provider queues, which are
 *   activity-only by design.
 */
interface ErrorLike {
  name?: string;
  message?: string;
  stack?: string;
  type?: string;
  nonRetryable?: boolean;
  nextRetryDelay?: unknown;
  details?: unknown[];
  cause?: unknown;
}

const NO_WORKFLOWS = 'No workflows registered, not polling for workflow tasks';

function isPacedQueue(taskQueue: unknown): boolean {
  return typeof taskQueue === 'string' && PACED_PROVIDERS.some((p) => taskQueue.endsWith(`-${p}`));
}

const TEMPORAL_FAILURE = /^(ApplicationFailure|ActivityFailure|ChildWorkflowFailure|CancelledFailure|TimeoutFailure|TerminatedFailure)\b/;

/**
 * A Temporal failure (an ApplicationFailure, or what wraps one): someone classified it, and its message
 * says what happened. A sink copying one out of the workflow sandbox keeps its stack but may lose its class.
 */
function isClassified(err: ErrorLike): boolean {
  return typeof err.type === 'string' || TEMPORAL_FAILURE.test(err.name ?? '') || TEMPORAL_FAILURE.test(err.stack ?? '');
}

/** The innermost cause, through ActivityFailure / ChildWorkflowFailure wrappers. */
function rootCause(err: ErrorLike): ErrorLike {
  let e = err;
  for (let i = 0; i < 8 && e.cause && typeof e.cause === 'object'; i++) e = e.cause as ErrorLike;
  return e;
}

function providerDetails(err: ErrorLike): { provider?: string; endpoint?: string; status?: number } {
  const d = Array.isArray(err.details) ? (err.details[0] as Record<string, unknown> | undefined) : undefined;
  if (!d || typeof d !== 'object') return {};
  return {
    ...(typeof d.provider === 'string' ? { provider: d.provider } : {}),
    ...(typeof d.endpoint === 'string' ? { endpoint: d.endpoint } : {}),
    ...(typeof d.status === 'number' ? { status: d.status } : {}),
  };
}

function millis(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  return undefined;
}

export interface ShapedEntry {
  time: string;
  level: LogLevel;
  msg: string;
  fields: Record<string, unknown>;
  /** Only for errors nobody classified. */
  stack?: string;
}

/** What one log entry becomes, or undefined to drop it. */
export function shapeLogEntry(entry: LogEntry): ShapedEntry | undefined {
  const meta = { ...(entry.meta ?? {}) } as Record<string, unknown>;
  if (entry.message === NO_WORKFLOWS && isPacedQueue(meta.taskQueue)) return undefined;
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  let level = entry.level;
  let msg = entry.message;
  let stack: string | undefined;
  const fields: Record<string, unknown> = {};
  // Names an operator greps for, the same in every line.
  if (meta.workflowId !== undefined) fields.workflowId = meta.workflowId;
  const runId = meta.runId ?? meta.workflowRunId;
  if (runId !== undefined) fields.runId = runId;
  if (meta.workflowType !== undefined) fields.workflowType = meta.workflowType;
  if (meta.activityType !== undefined) fields.activity = meta.activityType;
  if (meta.attempt !== undefined) fields.attempt = meta.attempt;
  for (const k of ['workflowId', 'runId', 'workflowRunId', 'workflowType', 'activityType', 'attempt', 'taskToken', 'error']) delete meta[k];
  Object.assign(fields, meta);

  const error = entry.meta?.error;
  if (error && typeof error === 'object') {
    const err = error as ErrorLike;
    const root = rootCause(err);
    Object.assign(fields, providerDetails(root));
    fields.error = err.message ?? String(error);
    if (err.type ?? root.type) fields.errorType = err.type ?? root.type;
    if (root !== err && root.message && root.message !== err.message) fields.cause = root.message;
    const retryable = isClassified(err) && err.nonRetryable !== true;
    if (entry.message === 'Activity failed' && retryable) {
      // Expected, and Temporal tries again: one line, no stack.
      msg = 'Activity attempt failed (retryable)';
      const next = millis(err.nextRetryDelay);
      if (next !== undefined) fields.nextRetryMs = next;
    } else if (!isClassified(root) && !isClassified(err)) {
      stack = err.stack ?? root.stack;
    }
    if (entry.message === 'Workflow failed' && rootHasChild(err)) {
      // The child that failed logged its own failure; this is the same one, seen from its parent.
      level = 'INFO';
      msg = CHILD_FAILED;
    }
  }
  return { time, level, msg, fields, ...(stack ? { stack } : {}) };
}

const CHILD_FAILED = 'Workflow failed (a child workflow failed: logged on its own line)';

/**
 * Reelay's children are named after their parent (`<id>-dublab`, `<id>-lipdub`, `<id>-generate`), and a
 * parent that fails because a child did (localize's PartialFailure) repeats the child's reason: the parent's
 * line is then one INFO line naming the child, so one failure is one WARN. Remembers the last few
 * failed runs of this logger only.
 */
function childFailures(): (e: ShapedEntry) => ShapedEntry {
  const failed: string[] = [];
  return (e) => {
    if (e.msg !== 'Workflow failed' || typeof e.fields.workflowId !== 'string') return e;
    const id = e.fields.workflowId;
    const child = failed.find((c) => c.startsWith(`${id}-`));
    failed.push(id);
    if (failed.length > 256) failed.shift();
    if (!child) return e;
    const { stack: _stack, ...rest } = e;
    return { ...rest, level: 'INFO', msg: CHILD_FAILED, fields: { ...e.fields, child } };
  };
}

function rootHasChild(err: ErrorLike): boolean {
  let e: ErrorLike | undefined = err;
  for (let i = 0; i < 8 && e; i++) {
    if (e.name === 'ChildWorkflowFailure') return true;
    e = e.cause && typeof e.cause === 'object' ? (e.cause as ErrorLike) : undefined;
  }
  return false;
}

export function formatLogLine(e: ShapedEntry, format: LogFormat): string {
  if (format === 'json') {
    return JSON.stringify({ time: e.time, level: e.level, msg: e.msg, ...e.fields, ...(e.stack ? { stack: e.stack } : {}) }) + '\n';
  }
  const fields = Object.keys(e.fields).length ? ` ${formatWithOptions({ breakLength: Infinity, colors: false }, '%O', e.fields)}` : '';
  return `${e.time} [${e.level}] ${e.msg}${fields}${e.stack ? `\n${e.stack}` : ''}\n`;
}

/** The worker's logger: entries at `level` and above, shaped (shapeLogEntry) and written to stderr. */
export function reelayLogger(level: LogLevel, format: LogFormat, write: (line: string) => void = (line) => void process.stderr.write(line)): Logger {
  const dedupe = childFailures();
  return new DefaultLogger(level, (entry) => {
    const shaped = shapeLogEntry(entry);
    if (shaped) write(formatLogLine(dedupe(shaped), format));
  });
}
