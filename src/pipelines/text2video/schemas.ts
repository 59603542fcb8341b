/**
 * text2video API shapes (shared/providers/text2video.md). Where the docs are silent, see
 * docs/provider-assumptions.md § text2video; each schema below that encodes one says so.
 * Responses are read tolerantly (src/pipelines/text2video/fields.ts: only what the pipeline needs is
 * required, every other field falls back; extra fields pass and are dropped) and come back in camelCase.
 */
import { z } from 'zod';
import { lenientLines, lenientNumber, lenientPercent, lenientStatus, lenientText } from '../../providers/lenient';
import { idString, isRecord, tolerantEnum, type Undocumented } from '../../providers/schemas';
import { TEXT2VIDEO_STATUSES } from './statuses';

export { TEXT2VIDEO_STATUSES } from './statuses';

/** A documented status keeps its literal type; another non-empty text passes (the pipeline keeps waiting). */
export const Text2videoJobStatus = tolerantEnum(TEXT2VIDEO_STATUSES);
export type Text2videoJobStatus = (typeof TEXT2VIDEO_STATUSES)[number] | Undocumented;

/** POST /generate. An empty or blank `text` is the server's 400; refused here before sending. */
export const Text2videoGenerateRequest = z.object({
  text: z.string().refine((t) => t.trim() !== '', 'must not be empty'),
});
export type Text2videoGenerateRequest = z.input<typeof Text2videoGenerateRequest>;

/** 202 `{ job_id, status: "queued", message }`; only `job_id` is needed (the status is polled). */
export const Text2videoGenerate = z
  .object({
    job_id: idString,
    status: lenientStatus(TEXT2VIDEO_STATUSES),
    message: lenientText,
  })
  .transform((r) => ({ jobId: r.job_id, status: r.status, message: r.message ?? '' }));
export type Text2videoGenerate = z.infer<typeof Text2videoGenerate>;

const jobFields = {
  /** 0–100 through the documented stages 0, 20, 40, 60, 80, 90, 100; absent or unusable reads undefined. */
  progress: lenientPercent,
  message: lenientText,
  /** Unix seconds (docs: `1648656000`). */
  created_at: lenientNumber,
  logs: lenientLines,
};

function camelJob<S>(j: { status: S; progress: number | undefined; message: string | undefined; created_at: number | undefined; logs: string[] }) {
  return {
    status: j.status,
    ...(j.progress !== undefined ? { progress: j.progress } : {}),
    message: j.message ?? '',
    /** Unix seconds. */
    createdAt: j.created_at,
    logs: j.logs,
  };
}

/**
 * GET /status/{job_id}: `{ status, progress, message, created_at, logs }` (docs), the status required;
 * a failed job may carry `error` (assumed: the docs show no failure body).
 */
export const Text2videoJobStatusResponse = z
  .object({ status: Text2videoJobStatus, ...jobFields, error: lenientText })
  .transform((j) => ({ ...camelJob(j), ...(j.error ? { error: j.error } : {}) }));
export type Text2videoStatus = z.infer<typeof Text2videoJobStatusResponse>;

/** One job of GET /jobs, with its id; `outputFile` once completed (docs: `output/video_<job_id>.mp4`). */
export type Text2videoJob = Omit<Text2videoStatus, 'status' | 'error'> & {
  jobId: string;
  status: Text2videoJobStatus | undefined;
  outputFile?: string;
};

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
        z
          .object({ job_id: idString, status: lenientStatus(TEXT2VIDEO_STATUSES), ...jobFields, output_file: lenientText })
          .transform(
            (j): Text2videoJob => ({ jobId: j.job_id, ...camelJob(j), ...(j.output_file !== undefined ? { outputFile: j.output_file } : {}) }),
          ),
        { error: 'expected { <job_id>: job, … }' },
      ),
    }),
  )
  .transform((l) => l.jobs);
export type Text2videoJobList = z.infer<typeof Text2videoJobList>;
