import { z } from 'zod';
import { SafeSubdir } from '../../contract/common';
import { NotifyInput } from '../../contract/notify';

/**
 * Batch inputs, state and records. The manifest itself never enters workflow history: the starter writes
 * a normalized JSONL copy (one `ManifestEntry` per line, absolute paths) and the workflow reads it a page
 * at a time through `batchReadManifest`.
 */

export const BATCH_DEFAULT_WINDOW = 20;
export const BATCH_MAX_WINDOW = 500;
/** Completions per run before continue-as-new (sooner when the server suggests it). */
export const BATCH_DEFAULT_ITEMS_PER_RUN = 500;
export const BATCH_MAX_ITEMS = 100_000;

/** One line of the normalized manifest: the line number is the one in the caller's manifest. */
export const ManifestEntry = z.object({
  line: z.number().int().positive(),
  pipeline: z.string().min(1),
  input: z.record(z.string(), z.unknown()),
  key: z.string().optional(),
});
export type ManifestEntry = z.infer<typeof ManifestEntry>;

/** A manifest entry as read by the workflow, with the byte offset of its line (where a later run resumes). */
export type ManifestPageItem = ManifestEntry & { offset: number };

export const BatchCounts = z.object({
  succeeded: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  cancelled: z.number().int().nonnegative(),
});
export type BatchCounts = z.infer<typeof BatchCounts>;

/** What one run hands to the next through continue-as-new: counts and failed lines, never results. */
export const BatchState = z.object({
  /** Byte offset of the first manifest line not yet started. */
  nextOffset: z.number().int().nonnegative(),
  counts: BatchCounts,
  failedLines: z.array(z.number().int().positive()),
  startedAt: z.string(),
  paused: z.boolean(),
  /** How many runs came before this one. */
  runs: z.number().int().nonnegative(),
  resultsPath: z.string().optional(),
});
export type BatchState = z.infer<typeof BatchState>;

export const BatchPipelineInput = z
  .object({
    /** The normalized JSONL manifest: an absolute path readable by the workers, or an `s3://` object in the store. */
    manifestPath: z.string().min(1),
    total: z.number().int().min(0).max(BATCH_MAX_ITEMS),
    window: z.number().int().min(1).max(BATCH_MAX_WINDOW, `must be at most ${BATCH_MAX_WINDOW}`).default(BATCH_DEFAULT_WINDOW),
    /** Where results.jsonl goes under the worker's output root; defaults to the batch's workflow id. */
    outputSubdir: SafeSubdir.optional(),
    itemsPerRun: z.number().int().min(1).max(10_000).default(BATCH_DEFAULT_ITEMS_PER_RUN),
    /** Run only these manifest lines (retry-failed). Resolved into a manifest of its own in the first run. */
    onlyLines: z.array(z.number().int().positive()).max(BATCH_MAX_ITEMS).optional(),
    /** Start even when the cost guard finds a provider's balance short of the estimate. */
    allowOverBudget: z.boolean().default(false),
    /** One webhook when the whole batch ends (each line's own input may ask for one per item). */
    notify: NotifyInput.optional(),
    state: BatchState.optional(),
  })
  .strict();
export type BatchPipelineInput = z.input<typeof BatchPipelineInput>;

export type BatchItemStatus = 'completed' | 'failed' | 'cancelled';

/** One line of results.jsonl. A line may appear more than once (a retried append, retry-failed): the last wins. */
export interface BatchResultRecord {
  line: number;
  pipeline: string;
  workflowId: string;
  status: BatchItemStatus;
  result?: unknown;
  error?: { message: string; type?: string };
  at: string;
}

export type BatchStatus = 'running' | 'paused' | 'cancelling' | 'completed' | 'cancelled';

/** What the `batchProgress` query returns. */
export interface BatchProgress {
  batchId: string;
  status: BatchStatus;
  total: number;
  /** Items that completed successfully. */
  done: number;
  failed: number;
  cancelled: number;
  running: number;
  queued: number;
  paused: boolean;
  /** Items finished (any outcome) per minute since the batch started. */
  ratePerMinute: number;
  etaSeconds: number | null;
  startedAt: string;
  run: number;
  /** The latest failures, newest last, e.g. `line 17: ProviderJobFailed: …`. */
  recentErrors: string[];
  /** Where the results are (a local results.jsonl or an `s3://` one), once the first are written. */
  resultsPath?: string;
}

export interface BatchPipelineResult {
  batchId: string;
  status: 'completed' | 'cancelled';
  total: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  /** Lines never started (a cancelled batch). */
  notStarted: number;
  failedLines: number[];
  manifestPath: string;
  resultsPath?: string;
  startedAt: string;
  finishedAt: string;
  runs: number;
}
