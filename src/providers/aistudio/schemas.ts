/**
 * AI Studio video-job API shapes (shared/providers/aistudio.md). Where the docs are silent, see
 * docs/provider-assumptions.md § AI Studio; each schema below that encodes one says so.
 * The API is camelCase already; responses are parsed leniently (extra fields pass and are dropped,
 * fields other than `id` and `status` may be absent or null).
 */
import { z } from 'zod';
import { httpUrl, idString, optionalText } from '../schemas';

/** Closed union: an unknown value is a ResponseValidationError. */
export const AistudioJobStatus = z.enum(['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED']);
export type AistudioJobStatus = z.infer<typeof AistudioJobStatus>;

export const AistudioResolution = z.enum(['720p', '1080p']);
export const AistudioAspectRatio = z.enum(['16:9', '9:16']);

/** Documented limits. */
export const AISTUDIO_MAX_REFERENCE_IMAGES = 3;
/** Tokens taken at creation (docs). */
export const AISTUDIO_JOB_COST_TOKENS = 50;

const text = z.string().refine((t) => t.trim() !== '', 'must not be empty');
const filePath = text;

/**
 * POST /video-jobs (multipart/form-data). Images are local file paths, streamed as file parts
 * (`referenceImages` repeated once per file). One of `prompt` or `initialImage` is required.
 * `mockMode` is required by the API (true skips the paid Veo call).
 */
export const AistudioCreateJobRequest = z
  .object({
    prompt: text.optional().describe('Text description of the video (this or initialImage is required)'),
    model: text.describe("Model name, e.g. 'veo-3.1-fast-generate-preview'"),
    resolution: AistudioResolution.describe("'720p' or '1080p'"),
    aspectRatio: AistudioAspectRatio.describe("'16:9' or '9:16'"),
    durationSeconds: z.literal([4, 8]).optional().describe('4 or 8 seconds'),
    mockMode: z.boolean().describe('true skips the Veo API (test mode); required'),
    generateAudio: z.boolean().optional().describe('AI-generated audio (default false)'),
    initialImage: filePath.optional().describe('Local file: the starting frame'),
    endFrame: filePath.optional().describe('Local file: the ending frame'),
    referenceImages: z
      .array(filePath)
      .max(AISTUDIO_MAX_REFERENCE_IMAGES, `at most ${AISTUDIO_MAX_REFERENCE_IMAGES} reference images`)
      .optional()
      .describe('Local files: up to 3 reference images'),
  })
  .superRefine((p, ctx) => {
    if (p.prompt === undefined && p.initialImage === undefined) {
      ctx.addIssue({ code: 'custom', path: ['prompt'], message: 'one of prompt or initialImage is required' });
    }
  });
export type AistudioCreateJobRequest = z.input<typeof AistudioCreateJobRequest>;

const nullishString = optionalText;
const nullishNumber = z
  .number()
  .nullish()
  .transform((v) => v ?? undefined);

export const AistudioJobLog = z.object({
  timestamp: nullishString,
  level: nullishString,
  message: z.string(),
});
export type AistudioJobLog = z.infer<typeof AistudioJobLog>;

/** VideoJob (docs); everything but `id` and `status` may be absent or null (assumptions doc). */
export const AistudioVideoJob = z.object({
  id: idString,
  status: AistudioJobStatus,
  userId: idString.nullish().transform((v) => v ?? undefined),
  prompt: nullishString,
  model: nullishString,
  resolution: nullishString,
  aspectRatio: nullishString,
  durationSeconds: nullishNumber,
  statusMessage: nullishString,
  progressPercentage: nullishNumber,
  logs: z
    .array(AistudioJobLog)
    .nullish()
    .transform((v) => v ?? []),
  tokensConsumed: nullishNumber,
  cloudinaryUrl: httpUrl.nullish().transform((v) => v ?? undefined),
  errorMessage: nullishString,
  createdAt: nullishString,
  completedAt: nullishString,
});
export type AistudioVideoJob = z.infer<typeof AistudioVideoJob>;

/** GET /video-jobs query: `status_filter`, `limit` (default 50), `offset` (default 0). */
export const AistudioListJobsRequest = z.object({
  statusFilter: AistudioJobStatus.optional(),
  limit: z.number().int().positive().optional(),
  offset: z.number().int().nonnegative().optional(),
});
export type AistudioListJobsRequest = z.input<typeof AistudioListJobsRequest>;

/** `{ jobs, total }`, newest first (assumed); a missing `total` reads `jobs.length`. */
export const AistudioJobList = z
  .object({ jobs: z.array(AistudioVideoJob), total: z.number().int().nonnegative().nullish() })
  .transform((l) => ({ jobs: l.jobs, total: l.total ?? l.jobs.length }));
export type AistudioJobList = z.infer<typeof AistudioJobList>;

/** GET /video-jobs/{id}/download answers 302; the client returns the Location without following it. */
export const AistudioDownloadRedirect = z
  .object({ status: z.number(), location: httpUrl })
  .transform((r) => ({ location: r.location }));
export type AistudioDownload = z.infer<typeof AistudioDownloadRedirect>;
