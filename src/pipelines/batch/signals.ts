import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { BatchProgress } from './input';

// What the batch workflow and its callers (reelay batch, tests) share: its child ids, signals and query.

/** Child workflow id of one manifest line: `<batchId>-<line>` (or `<batchId>-<key>` when the line names one). */
export function batchChildWorkflowId(batchId: string, item: { line: number; key?: string }): string {
  return `${batchId}-${item.key ?? item.line}`;
}

/** Stop starting items; running ones finish. */
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
/** Stop starting items, cancel the running ones, end with the counts so far. */
export const cancelBatchSignal = defineSignal('cancel');
export const batchProgressQuery = defineQuery<BatchProgress>('batchProgress');
