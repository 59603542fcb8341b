/**
 * text2video API shapes (shared/providers/text2video.md). Where the docs are silent, see
 * docs/provider-assumptions.md § text2video; each schema below that encodes one says so.
 * Responses are parsed leniently (extra fields pass and are dropped) and come back in camelCase.
 */
import { z } from 'zod';
import { idString, isRecord, optionalText } from '../schemas';

/** Closed union: an unknown value is a ResponseValidationError. */
export const Text2videoJobStatus = z.enum(['queued', 'processing', 'completed', 'failed']);
export type Text2videoJobStatus = z.infer<typeof Text2videoJobStatus>;

/** POST /generate. An empty or blank `text` is the server's 400; refused here before sending. */
export const Text2videoGenerateRequest = z.object({
  text: z.string().refine((t) => t.trim() !== '', 'must not be empty'),
});
export type Text2videoGenerateRequest = z.input<typeof Text2videoGenerateRequest>;

/** 202 `{ job_id, status: "queued", message }`. */
export const Text2videoGenerate = z
  .object({
    job_id: idString,
    status: Text2videoJobStatus,
    message: optionalText,
  })
  .transform((r) => ({ jobId: r.job_id, status: r.status, message: r.message ?? '' }));
export type Text2videoGenerate = z.infer<typeof Text2videoGenerate>;

const jobFields = {
  status: Text2videoJobStatus,
  /** 0–100 through the documented stages 0, 20, 40, 60, 80, 90, 100. */
  progress: z.number().min(0).max(100),
  message: optionalText,
  /** Unix seconds (docs: `1648656000`). */
  created_at: z.number().nullish().transform((v) => v ?? undefined),
  logs: z
    .array(z.string())
    .nullish()
    .transform((v) => v ?? []),
  /** A failed job's reason (assumed: the docs show no failure body). */
  error: optionalText,
  /** Only in GET /jobs (docs: `output/video_<job_id>.mp4`). */
  output_file: optionalText,
};

function camelJob(j: {
  status: Text2videoJobStatus;
  progress: number;
  message: string | undefined;
  created_at: number | undefined;
  logs: string[];
  error: string | undefined;
  output_file: string | undefined;
}) {
  return {
    status: j.status,
    progress: j.progress,
    message: j.message ?? '',
    /** Unix seconds. */
    createdAt: j.created_at,
    logs: j.logs,
    ...(j.error !== undefined ? { error: j.error } : {}),
    ...(j.output_file !== undefined ? { outputFile: j.output_file } : {}),
  };
}

/** GET /status/{job_id}: `{ status, progress, message, created_at, logs, error? }`. */
export const Text2videoJobStatusResponse = z.object(jobFields).transform(camelJob);
export type Text2videoStatus = z.infer<typeof Text2videoJobStatusResponse>;

/** One job of GET /jobs, with its id. */
export type Text2videoJob = Text2videoStatus & { jobId: string };

/**
 * GET /jobs → `{ jobs: { <job_id>: job } }` (docs), returned as an array in the server's order.
 * A `jobs` array whose entries carry `job_id` is accepted too (lenient); a bare array is not an answer.
 */
export const Text2videoJobList = z
  .preprocess(
    (v) => {
      if (!isRecord(v) || !isRecord(v.jobs)) return v;
      return { ...v, jobs: Object.entries(v.jobs).map(([id, j]) => (isRecord(j) ? { job_id: id, ...j } : j)) };
    },
    z.object({
      jobs: z.array(
        z.object({ job_id: idString, ...jobFields }).transform((j): Text2videoJob => ({ jobId: j.job_id, ...camelJob(j) })),
        { error: 'expected { <job_id>: job, … }' },
      ),
    }),
  )
  .transform((l) => l.jobs);
export type Text2videoJobList = z.infer<typeof Text2videoJobList>;
