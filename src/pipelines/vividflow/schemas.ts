/**
 * Vivid Flow API shapes (shared/providers/vividflow.md). Where the docs are silent, see
 * docs/provider-assumptions.md § Vivid Flow; each schema below that encodes one says so.
 * Requests are camelCase parameters the client maps to the documented form fields; responses are read
 * tolerantly (src/pipelines/vividflow/fields.ts: only what the pipeline needs is required, every other
 * field falls back; extra fields pass and are dropped) and come back in camelCase.
 */
import { z } from 'zod';
import { lenientNumber, lenientStatus, lenientText, lenientUrl } from '../../providers/lenient';
import { httpUrl, idString, isGcsOrHttpsUrl, tolerantEnum, type Undocumented } from '../../providers/schemas';
import { VIVIDFLOW_STATUSES } from './statuses';

export { VIVIDFLOW_STATUSES } from './statuses';

/** A documented status keeps its literal type; another non-empty text passes (the pipeline keeps waiting). */
export const VividflowJobStatus = tolerantEnum(VIVIDFLOW_STATUSES);
export type VividflowJobStatus = (typeof VIVIDFLOW_STATUSES)[number] | Undocumented;

export const VividflowModel = z.enum(['wan2.1', 'veo3.1']);
export type VividflowModel = z.infer<typeof VividflowModel>;

/** The documented server defaults, applied by the server to every parameter the request leaves out. */
export const VIVIDFLOW_DEFAULTS = {
  model: 'wan2.1',
  negativePrompt: 'blurry, low quality, distorted',
  cfg: 7.5,
  width: 1280,
  height: 720,
  length: 81,
  steps: 30,
  seed: 42,
  durationSeconds: 4,
  resolution: '720p',
  enhancePrompt: false,
} as const;

/** Request parameter → documented form field. */
export const VIVIDFLOW_FORM_FIELDS = {
  prompt: 'prompt',
  model: 'model',
  negativePrompt: 'negative_prompt',
  cfg: 'cfg',
  width: 'width',
  height: 'height',
  length: 'length',
  steps: 'steps',
  seed: 'seed',
  durationSeconds: 'duration_seconds',
  resolution: 'resolution',
  cameraMotion: 'camera_motion',
  subjectAnimation: 'subject_animation',
  environmentalAnimation: 'environmental_animation',
  enhancePrompt: 'enhance_prompt',
} as const;

const WAN_PARAMS = ['negativePrompt', 'cfg', 'width', 'height', 'length', 'steps', 'seed'] as const;
const VEO_PARAMS = ['durationSeconds', 'resolution', 'cameraMotion', 'subjectAnimation', 'environmentalAnimation', 'enhancePrompt'] as const;

const positiveInt = z.number().int().positive();
const text = z.string().refine((t) => t.trim() !== '', 'must not be empty');

/** `gs://bucket/path` or an https URL (docs: "GCS URL or HTTPS URL"). */
const imageUrl = z.string().refine(isGcsOrHttpsUrl, 'expected a gs://bucket/path or https:// URL');

/**
 * POST /generate. Exactly one image source: `imagePath` (a local file, sent as the multipart field
 * `image`, streamed from disk) or `imageUrl` (sent urlencoded as `image_url`). Parameters left out take
 * the server's documented defaults (VIVIDFLOW_DEFAULTS); a parameter of the other model is refused
 * (the server would ignore it silently — e.g. `durationSeconds` without `model: 'veo3.1'`).
 */
export const VividflowGenerateRequest = z
  .object({
    prompt: text.describe('Creative description of the desired motion (required)'),
    model: VividflowModel.optional().describe('wan2.1 (default) or veo3.1'),
    imagePath: text.optional().describe('Local image file, uploaded as the multipart field `image`'),
    imageUrl: imageUrl.optional().describe('gs://bucket/path or https:// URL, sent as `image_url`'),
    // Wan 2.1
    negativePrompt: z.string().optional().describe('Wan 2.1: what to avoid (default "blurry, low quality, distorted")'),
    cfg: z.number().min(1).max(20).optional().describe('Wan 2.1: motion guidance scale 1.0–20.0 (default 7.5)'),
    width: positiveInt.optional().describe('Wan 2.1: output width (default 1280)'),
    height: positiveInt.optional().describe('Wan 2.1: output height (default 720)'),
    length: positiveInt.optional().describe('Wan 2.1: number of frames (default 81)'),
    steps: positiveInt.optional().describe('Wan 2.1: diffusion steps (default 30)'),
    seed: z.number().int().optional().describe('Wan 2.1: random seed (default 42)'),
    // Veo 3.1
    durationSeconds: z.literal([4, 6, 8]).optional().describe('Veo 3.1: video length 4, 6 or 8 seconds (default 4)'),
    resolution: z.enum(['720p', '1080p']).optional().describe('Veo 3.1: 720p (default) or 1080p'),
    cameraMotion: text.optional().describe('Veo 3.1: camera movement, e.g. "Pan (right)" (default none)'),
    subjectAnimation: text.optional().describe('Veo 3.1: subject motion (default none)'),
    environmentalAnimation: text.optional().describe('Veo 3.1: environmental effects (default none)'),
    enhancePrompt: z.boolean().optional().describe('Veo 3.1: AI prompt enhancement (default false)'),
  })
  .superRefine((p, ctx) => {
    const hasPath = p.imagePath !== undefined;
    const hasUrl = p.imageUrl !== undefined;
    if (hasPath === hasUrl) {
      ctx.addIssue({
        code: 'custom',
        path: [hasPath ? 'imageUrl' : 'imagePath'],
        message: hasPath ? 'give imagePath or imageUrl, not both' : 'one of imagePath or imageUrl is required',
      });
    }
    const model = p.model ?? VIVIDFLOW_DEFAULTS.model;
    const foreign = model === 'veo3.1' ? WAN_PARAMS : VEO_PARAMS;
    for (const k of foreign) {
      if (p[k] !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [k],
          message: `applies to model ${model === 'veo3.1' ? 'wan2.1' : 'veo3.1'} only (model is ${model})`,
        });
      }
    }
  });
export type VividflowGenerateRequest = z.input<typeof VividflowGenerateRequest>;

/** The form fields of a validated request (booleans as "true"/"false"), without the image source. */
export function vividflowFormFields(p: z.output<typeof VividflowGenerateRequest>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [key, field] of Object.entries(VIVIDFLOW_FORM_FIELDS) as Array<[keyof typeof VIVIDFLOW_FORM_FIELDS, string]>) {
    const v = p[key];
    if (v !== undefined) out.push([field, String(v)]);
  }
  return out;
}

/** 202 `{ message, job_id, status: "queued", estimated_wait_time }`; only `job_id` is needed. */
export const VividflowGenerate = z
  .object({
    job_id: idString,
    status: lenientStatus(VIVIDFLOW_STATUSES),
    message: lenientText,
    estimated_wait_time: lenientText,
  })
  .transform((r) => ({
    jobId: r.job_id,
    status: r.status,
    message: r.message ?? '',
    ...(r.estimated_wait_time !== undefined ? { estimatedWaitTime: r.estimated_wait_time } : {}),
  }));
export type VividflowGenerate = z.infer<typeof VividflowGenerate>;

const UNIT_SECONDS: Record<string, number> = { s: 1, sec: 1, second: 1, m: 60, min: 60, minute: 60, h: 3600, hr: 3600, hour: 3600 };

/**
 * `estimated_wait_time` as seconds: "~2-5 minutes" → { minSeconds: 120, maxSeconds: 300 }, "about 3 min"
 * → 180–180. The docs show only the "~2-5 minutes" form; anything unreadable is undefined (no hint).
 */
export function parseEstimatedWait(text: string | undefined): { minSeconds: number; maxSeconds: number } | undefined {
  const m = /(\d+(?:\.\d+)?)\s*(?:(?:-|–|—|to)\s*(\d+(?:\.\d+)?))?\s*(s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?)\b/i.exec(text ?? '');
  if (!m) return undefined;
  const unit = UNIT_SECONDS[m[3]!.toLowerCase().replace(/s$/, '')] ?? UNIT_SECONDS[m[3]!.toLowerCase()];
  if (unit === undefined) return undefined;
  const low = Number(m[1]) * unit;
  const high = m[2] !== undefined ? Number(m[2]) * unit : low;
  if (!(low > 0) || high < low) return undefined;
  return { minSeconds: low, maxSeconds: high };
}

const seconds = lenientNumber;

/** `metrics` (completed jobs): each entry optional; not an object reads undefined. */
const VividflowMetrics = z
  .unknown()
  .optional()
  .transform((m) => (m !== null && typeof m === 'object' && !Array.isArray(m) ? m : undefined))
  .pipe(z.object({ generation_time: seconds, spin_up_time: seconds, total_time: seconds }).optional())
  .transform((m) =>
    m ? { generationTime: m.generation_time, spinUpTime: m.spin_up_time, totalTime: m.total_time } : undefined,
  );

/**
 * GET /status/{job_id}: `{ job_id, status, created_at, updated_at?, message, result_url?, metrics?,
 * error_message? }` (the docs' four examples). Only `status` is required, and `result_url` once it is
 * `completed`. The client fills a missing `job_id` with the one asked for. Times are the provider's
 * strings (docs: `2025-01-15T10:30:00`, no zone).
 */
export const VividflowJobStatusResponse = z
  .object({
    job_id: idString.nullish().catch(undefined),
    status: VividflowJobStatus,
    message: lenientText,
    result_url: httpUrl.nullish().transform((v) => v ?? undefined),
    metrics: VividflowMetrics,
    error_message: lenientText,
    created_at: lenientText,
    updated_at: lenientText,
  })
  // The docs' client reads `result_url` as soon as the status is completed; without it there is nothing to fetch.
  .refine((r) => r.status !== 'completed' || r.result_url !== undefined, {
    path: ['result_url'],
    message: 'a completed job must carry its result_url',
  })
  .transform((r) => ({
    jobId: r.job_id,
    status: r.status,
    message: r.message,
    resultUrl: r.result_url,
    metrics: r.metrics,
    errorMessage: r.error_message,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }));
export type VividflowStatus = Omit<z.infer<typeof VividflowJobStatusResponse>, 'jobId'> & { jobId: string };

/** POST /cancel/{job_id} → `{ message, job_id }`; the client fills a missing `job_id`. */
export const VividflowCancelResponse = z
  .object({ message: lenientText, job_id: idString.nullish().catch(undefined) })
  .transform((r) => ({ message: r.message ?? '', jobId: r.job_id }));
export type VividflowCancel = { message: string; jobId: string };

/** GET /history `limit`: default 20, max 100 (docs). */
export const VividflowHistoryRequest = z.object({
  limit: z.number().int().min(1).max(100).optional(),
});
export type VividflowHistoryRequest = z.input<typeof VividflowHistoryRequest>;

/** One job of GET /history: `job_id` and `prompt` identify our own job after a lost answer; the rest is optional. */
export const VividflowHistoryJob = z
  .object({
    job_id: idString,
    status: lenientStatus(VIVIDFLOW_STATUSES),
    prompt: z.string({ error: 'expected the prompt the job was submitted with' }),
    result_url: lenientUrl,
    created_at: lenientText,
  })
  .transform((j) => ({ jobId: j.job_id, status: j.status, prompt: j.prompt, resultUrl: j.result_url, createdAt: j.created_at }));
export type VividflowHistoryJob = z.infer<typeof VividflowHistoryJob>;

/** `{ count, jobs }`, newest first (assumed); a missing `count` reads `jobs.length`. */
export const VividflowHistory = z
  .object({
    count: lenientNumber,
    jobs: z.array(VividflowHistoryJob),
  })
  .transform((h) => ({ count: h.count ?? h.jobs.length, jobs: h.jobs }));
export type VividflowHistory = z.infer<typeof VividflowHistory>;

/**
 * GET /usage. One credit per accepted generate; `credits_remaining = daily_limit − generates in 24 h`
 * (assumed). Only `credits_remaining` is needed (a batch's balance check); digits are read as a number.
 */
export const VividflowUsage = z
  .object({
    total_jobs: lenientNumber,
    completed_jobs: lenientNumber,
    failed_jobs: lenientNumber,
    queued_jobs: lenientNumber,
    recent_24h_jobs: lenientNumber,
    credits_remaining: z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)], { error: 'expected a number of credits' }),
    daily_limit: lenientNumber,
    reset_time: lenientText,
  })
  .transform((u) => ({
    totalJobs: u.total_jobs,
    completedJobs: u.completed_jobs,
    failedJobs: u.failed_jobs,
    queuedJobs: u.queued_jobs,
    recent24hJobs: u.recent_24h_jobs,
    creditsRemaining: u.credits_remaining,
    dailyLimit: u.daily_limit,
    resetTime: u.reset_time,
  }));
export type VividflowUsage = z.infer<typeof VividflowUsage>;
