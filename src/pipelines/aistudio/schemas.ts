/**
 * AI Studio video-job API shapes (shared/providers/aistudio.md). Where the docs are silent, see
 * docs/provider-assumptions.md § AI Studio; each schema below that encodes one says so.
 * The API is camelCase already; responses are read tolerantly (src/pipelines/aistudio/fields.ts: only
 * what the pipeline needs is required, every other field falls back; extra fields pass and are dropped).
 */
import { z } from 'zod';
import { lenientNumber, lenientPercent, lenientStatus, lenientText, lenientUrl } from '../../providers/lenient';
import { httpUrl, idString, tolerantEnum, type Undocumented } from '../../providers/schemas';
import { AISTUDIO_STATUSES } from './statuses';

export { AISTUDIO_STATUSES } from './statuses';

/** A documented status keeps its literal type; another non-empty text passes (the pipeline keeps waiting). */
export const AistudioJobStatus = tolerantEnum(AISTUDIO_STATUSES);
export type AistudioJobStatus = (typeof AISTUDIO_STATUSES)[number] | Undocumented;

/** The statuses a request may filter by (the query parameter is Reelay's own input: closed). */
export const AistudioStatusFilter = z.enum(AISTUDIO_STATUSES);

export const AistudioResolution = z.enum(['720p', '1080p']);
export const AistudioAspectRatio = z.enum(['16:9', '9:16']);

/** Documented limits. */
export const AISTUDIO_MAX_REFERENCE_IMAGES = 3;

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

/** One `logs` entry; an entry without a usable `message` is dropped. */
export const AistudioJobLog = z.object({
  timestamp: lenientText,
  level: lenientText,
  message: lenientText,
});
export type AistudioJobLog = { timestamp: string | undefined; level: string | undefined; message: string };

const logs = z
  .unknown()
  .optional()
  .transform((v) => (Array.isArray(v) ? v.filter((l) => l !== null && typeof l === 'object') : []))
  .pipe(z.array(AistudioJobLog))
  .transform((l) => l.filter((e): e is AistudioJobLog => e.message !== undefined));

/** Every VideoJob field but `id` and `status`: optional, each read when usable (fields.ts says the fallbacks). */
const videoJobFields = {
  userId: lenientText,
  prompt: lenientText,
  model: lenientText,
  resolution: lenientText,
  aspectRatio: lenientText,
  durationSeconds: lenientNumber,
  statusMessage: lenientText,
  progressPercentage: lenientPercent,
  logs,
  tokensConsumed: lenientNumber,
  cloudinaryUrl: lenientUrl,
  errorMessage: lenientText,
  createdAt: lenientText,
  completedAt: lenientText,
};

/**
 * VideoJob (docs) as GET /video-jobs/{id} answers it: `status` is required (it decides the wait), `id`
 * may be absent (the client fills in the id it asked for); everything else is optional.
 */
export const AistudioVideoJob = z.object({ id: idString.nullish().catch(undefined), status: AistudioJobStatus, ...videoJobFields });
export type AistudioVideoJob = Omit<z.infer<typeof AistudioVideoJob>, 'id'> & { id: string };

/**
 * The 202 of POST /video-jobs: the fields of the docs' example, `id` required (the job to follow), its
 * status not needed (the job is polled). `cloudinaryUrl`, `errorMessage` and `completedAt` are not read
 * here: the docs do not show them on a new job.
 */
const { cloudinaryUrl: _url, errorMessage: _error, completedAt: _completed, ...createdJobFields } = videoJobFields;
export const AistudioCreatedJob = z.object({ id: idString, status: lenientStatus(AISTUDIO_STATUSES), ...createdJobFields });
export type AistudioCreatedJob = z.infer<typeof AistudioCreatedJob>;

/** One VideoJob of GET /video-jobs: `id` required (it identifies our own job after a lost answer), the rest optional. */
export const AistudioListedJob = z.object({ id: idString, status: lenientStatus(AISTUDIO_STATUSES), ...videoJobFields });
export type AistudioListedJob = z.infer<typeof AistudioListedJob>;

/** GET /video-jobs query: `status_filter`, `limit` (default 50), `offset` (default 0). */
export const AistudioListJobsRequest = z.object({
  statusFilter: AistudioStatusFilter.optional(),
  limit: z.number().int().positive().optional(),
  offset: z.number().int().nonnegative().optional(),
});
export type AistudioListJobsRequest = z.input<typeof AistudioListJobsRequest>;

/** `{ jobs, total }`, newest first (assumed); a missing `total` reads `jobs.length`. */
export const AistudioJobList = z
  .object({ jobs: z.array(AistudioListedJob), total: lenientNumber })
  .transform((l) => ({ jobs: l.jobs, total: l.total ?? l.jobs.length }));
export type AistudioJobList = z.infer<typeof AistudioJobList>;

/** GET /video-jobs/{id}/download answers 302; the client returns the Location without following it. */
export const AistudioDownloadRedirect = z
  .object({ status: z.number(), location: httpUrl })
  .transform((r) => ({ location: r.location }));
export type AistudioDownload = z.infer<typeof AistudioDownloadRedirect>;
