import { ApplicationFailure } from '@temporalio/workflow';

const GENERIC = new Set(['Workflow execution failed', 'Child Workflow execution failed', 'Activity task failed']);

/**
 * What a failure says, read down its cause chain: the messages that mean something (not "Activity task
 * failed") joined, and the deepest ApplicationFailure type (`OutcomeUnknown`, `Unauthorized`, …).
 */
export function failureInfo(err: unknown): { message: string; type?: string } {
  const parts: string[] = [];
  let type: string | undefined;
  let e = err as (Error & { cause?: unknown; type?: string | null }) | undefined;
  for (let depth = 0; e && depth < 10; depth++) {
    if (e.message && !GENERIC.has(e.message)) parts.push(e.message);
    if (e instanceof ApplicationFailure && e.type) type = e.type;
    e = e.cause as typeof e;
  }
  return { message: parts.join(' — ') || 'failed', ...(type ? { type } : {}) };
}
