import { z } from 'zod';
import type { PipelineProgress } from './progress';

/**
 * The `progress` query's answer as a zod schema, for the published contract (schemas/progress.query.json)
 * and for callers that check what they read. It lives beside the interface rather than replacing it: the
 * workflows define the query from ./progress and must not load zod for it.
 */
export const PipelineProgressSchema = z.object({
  pipeline: z.string(),
  provider: z.string(),
  stage: z.string(),
  /** 0–100, an estimate from the stages done and the provider's own progress where it gives one. */
  percent: z.number().min(0).max(100),
  /** Provider job ids by role, e.g. `{ shotId: '746176', 'generateId:es-MX': '456' }`. */
  providerIds: z.record(z.string(), z.string()),
  /** The latest lines, oldest first. */
  log: z.array(z.object({ at: z.string(), message: z.string() })),
  startedAt: z.string(),
  updatedAt: z.string(),
  /** What was left running at the provider when the pipeline was cancelled or failed. */
  leftAtProvider: z.array(z.string()).optional(),
});

// The schema and the interface describe the same value: the compiler refuses a field added to one only.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const same: Same<z.infer<typeof PipelineProgressSchema>, PipelineProgress> = true;
void same;
