import type { Client } from '@temporalio/client';
import type * as Start from '../pipelines/batch/start';

/**
 * Batches for services: start a manifest, re-run its failed lines, read its results — from any machine
 * that reaches Temporal and, when outputs go to an object store (REELAY_OUTPUT_URL=s3://…), the store. The
 * batch module loads on first use (it reads manifests and talks to the store), not with `reelay`.
 */

export type { BatchStartOptions, BatchStarted } from '../pipelines/batch/start';
export type { BatchPipelineInput, BatchPipelineResult, BatchProgress, BatchResultRecord } from '../pipelines/batch/input';
export { batchProgressQuery, cancelBatchSignal, pauseSignal, resumeSignal } from '../pipelines/batch/signals';

/** Validate every line of a manifest file, write its normalized copy (to the output directory or the store) and start the batch. */
export async function startBatch(client: Client, manifestFile: string, opts?: Start.BatchStartOptions): Promise<Start.BatchStarted> {
  return (await import('../pipelines/batch/start')).startBatch(client, manifestFile, opts);
}

/** Start `<batchId>-retry-<n>` over the failed lines of a finished batch. */
export async function retryFailedLines(client: Client, batchId: string, opts?: Parameters<typeof Start.retryFailed>[2]): ReturnType<typeof Start.retryFailed> {
  return (await import('../pipelines/batch/start')).retryFailed(client, batchId, opts);
}

/** A batch's results, one record per line, from a local results.jsonl or from the store. */
export async function readBatchResults(...args: Parameters<typeof Start.readBatchResults>): ReturnType<typeof Start.readBatchResults> {
  return (await import('../pipelines/batch/start')).readBatchResults(...args);
}
