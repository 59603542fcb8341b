import { z } from 'zod';
import { CallerInput, PriorityInput, SafeSubdir } from '../../contract/common';
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
    /** The items' priority and caller where a line's input sets none (the line's own win). */
    priority: PriorityInput.optional(),
    caller: CallerInput.optional(),
    state: BatchState.optional(),
  })
  .strict();
export type BatchPipelineInput = z.input<typeof BatchPipelineInput>;

export const BatchItemStatus = z.enum(['completed', 'failed', 'cancelled']);
export type BatchItemStatus = z.infer<typeof BatchItemStatus>;

/** One line of results.jsonl. A line may appear more than once (a retried append, retry-failed): the last wins. */
export const BatchResultRecord = z.object({
  line: z.number().int().positive(),
  pipeline: z.string(),
  workflowId: z.string(),
  status: BatchItemStatus,
  /** The item pipeline's result (its own schema, schemas/<workflowType>.result.json), when it completed. */
  result: z.unknown().optional(),
  error: z.object({ message: z.string(), type: z.string().optional() }).optional(),
  at: z.string(),
});
export type BatchResultRecord = z.infer<typeof BatchResultRecord>;

export const BatchStatus = z.enum(['running', 'paused', 'cancelling', 'completed', 'cancelled']);
export type BatchStatus = z.infer<typeof BatchStatus>;

const count = z.number().int().nonnegative();

/** What the `batchProgress` query returns. */
export const BatchProgress = z.object({
  batchId: z.string(),
  status: BatchStatus,
  total: count,
  /** Items that completed successfully. */
  done: count,
  failed: count,
  cancelled: count,
  running: count,
  queued: count,
  paused: z.boolean(),
  /** Items finished (any outcome) per minute since the batch started. */
  ratePerMinute: z.number().nonnegative(),
  etaSeconds: z.number().nonnegative().nullable(),
  startedAt: z.string(),
  run: z.number().int().positive(),
  /** The latest failures, newest last, e.g. `line 17: ProviderJobFailed: …`. */
  recentErrors: z.array(z.string()),
  /** Where the results are (a local results.jsonl or an `s3://` one), once the first are written. */
  resultsPath: z.string().optional(),
});
export type BatchProgress = z.infer<typeof BatchProgress>;

export const BatchPipelineResult = z.object({
  batchId: z.string(),
  status: z.enum(['completed', 'cancelled']),
  total: count,
  succeeded: count,
  failed: count,
  cancelled: count,
  /** Lines never started (a cancelled batch). */
  notStarted: count,
  failedLines: z.array(z.number().int().positive()),
  manifestPath: z.string(),
  resultsPath: z.string().optional(),
  startedAt: z.string(),
  finishedAt: z.string(),
  runs: z.number().int().positive(),
});
export type BatchPipelineResult = z.infer<typeof BatchPipelineResult>;
