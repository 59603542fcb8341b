import { z } from 'zod';
import { LocationError, parseS3Uri } from '../storage/location';
import { languageTagProblem } from './languages';
import { CALLER_MAX_BYTES, PRIORITY_HIGHEST, PRIORITY_LOWEST } from './slot-order';

/**
 * Pure input schemas shared by the workflows (which validate again on start), the client and the CLI
 * (which validate before starting). No I/O here: whether a local file exists is checked at the edge
 * (validatePipelineInput in src/client/index.ts) and again by the activity that reads it.
 */

/**
 * A file reference: a local path (absolute, or relative to the worker's working directory), an object in
 * the workers' store (`s3://bucket/key`, src/storage/location.ts) or an http(s) URL with a host. A URL
 * must not carry a user name or password: inputs are kept in workflow history.
 */
export const FileRef = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(4096, 'must be at most 4096 characters')
  .refine((s) => !s.includes('\0'), 'must not contain a NUL byte')
  .superRefine((s, ctx) => {
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) return;
    if (/^s3:\/\//i.test(s)) {
      try {
        parseS3Uri(s, { requireKey: true });
      } catch (err) {
        if (!(err instanceof LocationError)) throw err;
        ctx.addIssue({ code: 'custom', message: `is not a valid s3:// object URI: it ${err.message}` });
      }
      return;
    }
    if (!/^https?:\/\//i.test(s)) {
      ctx.addIssue({ code: 'custom', message: 'must be a local path or an http(s) URL (or an s3://bucket/key object)' });
      return;
    }
    let url: URL;
    try {
      url = new URL(s);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'is not a valid URL' });
      return;
    }
    if (!url.hostname) ctx.addIssue({ code: 'custom', message: 'is not a valid URL: it has no host' });
    if (url.username || url.password) ctx.addIssue({ code: 'custom', message: 'must not carry a user name or password (inputs are kept in workflow history)' });
  });
export type FileRef = z.infer<typeof FileRef>;

export { isUrlRef, refLabel } from './file-refs';

export { isS3Ref } from '../storage/location';

/**
 * A file name that stays inside the output directory: no separators, no `..`, no leading dot, no control
 * or invisible formatting characters (a right-to-left override can disguise `gpj.exe` as `exe.jpg`).
 */
export const SafeFileName = z
  .string()
  .min(1, 'must not be empty')
  .max(200, 'must be at most 200 characters')
  .refine((s) => !/[/\\]/.test(s), 'must be a file name, without "/" or "\\"')
  .refine((s) => s !== '.' && s !== '..', 'must not be "." or ".."')
  .refine((s) => !s.startsWith('.'), 'must not start with "."')
  .refine((s) => !/[\p{Cc}\p{Cf}]/u.test(s), 'must not contain control or invisible formatting characters');

/** A relative directory under the worker's output root, made of SafeFileName segments. */
export const SafeSubdir = z
  .string()
  .min(1, 'must not be empty')
  .max(400)
  .refine((s) => !s.startsWith('/') && !s.startsWith('\\') && !/^[a-z]:/i.test(s), 'must be relative to the output directory')
  .refine(
    (s) => s.split('/').every((seg) => SafeFileName.safeParse(seg).success),
    'must be "/"-separated names without "..", "." or leading dots',
  );

export const LanguageTag = z.string().superRefine((tag, ctx) => {
  const problem = languageTagProblem(tag);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** Languages to dub into: at least one, at most 50, none twice. */
export const TargetLanguages = z
  .array(LanguageTag)
  .min(1, 'needs at least one target language')
  .max(50, 'at most 50 target languages')
  .refine((l) => new Set(l).size === l.length, 'must not repeat a language');

/** Duration of a source video in seconds, as DubLab's init-dub asks for it. */
export const DurationSeconds = z.number().positive().max(24 * 3600);

export const ContentType = z
  .string()
  .regex(/^[a-z]+\/[a-z0-9.+-]+$/i, 'must be a MIME type like "video/mp4"');

/** The content type of a video upload (LipDub refuses anything but video/*). */
export const VideoContentType = ContentType.refine((t) => /^video\//i.test(t), 'must be a video/* type like "video/mp4"');
/** The content type of an audio upload (LipDub refuses anything but audio/*). */
export const AudioContentType = ContentType.refine((t) => /^audio\//i.test(t), 'must be an audio/* type like "audio/mpeg"');
/** The content type of a video or audio upload (DubLab dubs either). */
export const MediaContentType = ContentType.refine((t) => /^(video|audio)\//i.test(t), 'must be a video/* or audio/* type');

/** An id a provider gave out earlier (a LipDub audio id): it goes into a URL path, so never "." or "..". */
export const ProviderIdRef = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(200, 'must be at most 200 characters')
  .refine((s) => s !== '.' && s !== '..', 'must not be "." or ".."')
  .refine((s) => !/[\p{Cc}]/u.test(s), 'must not contain control characters');

const PRIORITY_RANGE = `must be a whole number from ${PRIORITY_HIGHEST} (highest) to ${PRIORITY_LOWEST} (lowest)`;

/**
 * How urgently a pipeline wants its provider's job slots, and its tasks on the Temporal server where that
 * server honours task priority: 1 is the highest, 5 the lowest, 3 when absent (Temporal's own range).
 */
export const PriorityInput = z.number({ error: PRIORITY_RANGE }).int(PRIORITY_RANGE).min(PRIORITY_HIGHEST, PRIORITY_RANGE).max(PRIORITY_LOWEST, PRIORITY_RANGE);

/**
 * Who the pipeline runs for (a tenant, a team, a service): within a priority, free job slots go round-robin
 * across callers, and the Temporal server gets it as the fairness key. At most 64 bytes, as Temporal allows.
 */
export const CallerInput = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .refine((s) => new TextEncoder().encode(s).length <= CALLER_MAX_BYTES, `must be at most ${CALLER_MAX_BYTES} bytes (UTF-8)`)
  .refine((s) => !/[\p{Cc}]/u.test(s), 'must not contain control characters');

/** The workflow id suffix a caller chooses (`<pipeline>-<key>`, `batch-<key>`). */
export const WORKFLOW_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
export const WorkflowKey = z
  .string()
  .regex(WORKFLOW_KEY_PATTERN, 'must be 1–100 letters, digits, ".", "_" or "-", starting with a letter or digit');

/**
 * How a pipeline waits for a provider: a status call, then a durable timer. Where the provider tells when
 * the job can end (a documented duration, its own estimate, progress) the waits follow that
 * (src/workflows/shared/poll-schedule.ts, docs/polling.md); otherwise they grow by `backoffCoefficient`
 * from `initialIntervalSeconds`. Never shorter than `initialIntervalSeconds` (with hints) nor longer
 * than `maxIntervalSeconds`; the whole pipeline fails after `deadlineMinutes`.
 */
export const PollingInput = z
  .object({
    initialIntervalSeconds: z.number().min(0.05).max(3600).optional(),
    maxIntervalSeconds: z.number().min(0.05).max(6 * 3600).optional(),
    backoffCoefficient: z.number().min(1).max(10).optional(),
    deadlineMinutes: z.number().min(0.1).max(60 * 24 * 30).optional(),
    /** `false`: plain backoff, ignoring what the provider tells (the behaviour before hints). */
    hints: z.boolean().optional(),
    /**
     * How many times faster than the real provider the one polled runs: a sandbox with compressed timings
     * sets it so documented durations and provider estimates shrink alike. 1 against real providers.
     */
    timeScale: z.number().min(0.001).max(100_000).optional(),
  })
  .strict()
  .refine(
    (p) => p.initialIntervalSeconds === undefined || p.maxIntervalSeconds === undefined || p.initialIntervalSeconds <= p.maxIntervalSeconds,
    { message: 'initialIntervalSeconds must not exceed maxIntervalSeconds', path: ['maxIntervalSeconds'] },
  );
export type PollingInput = z.infer<typeof PollingInput>;

/**
 * A billable create whose answer was lost, and which the provider's list cannot settle, fails the
 * pipeline with OutcomeUnknown (DESIGN.md principle 2). `true` creates it again instead, at the risk of
 * a second job. text2video defaults to `true`: its server is self-hosted, so a second job costs compute.
 */
export const RetryUnknownOutcome = z.boolean().optional();
export type PollingConfig = Required<PollingInput>;

/** A result file as delivered to the output directory. */
export const DeliveredFile = z.object({
  path: z.string(),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  contentType: z.string().optional(),
  /** Where the provider served it, without the signed query (that is a credential). */
  providerUrl: z.string(),
  /** When outputs go to an object store: the object (`path` is the same s3:// URI) and its ETag; never a signed URL. */
  uri: z.string().regex(/^s3:\/\//).optional(),
  etag: z.string().optional(),
});
export type DeliveredFile = z.infer<typeof DeliveredFile>;

/** One message naming the field and the reason for every problem in a zod error. */
export function describeZodError(error: z.ZodError, prefix = 'input'): string {
  return error.issues
    .flatMap((issue) => {
      const at = (path: readonly PropertyKey[]) => (path.length ? `${prefix}.${path.map(String).join('.')}` : prefix);
      // An unknown field is named itself, not its parent object.
      if (issue.code === 'unrecognized_keys') return issue.keys.map((k) => `${at([...issue.path, k])}: unknown field`);
      return [`${at(issue.path)}: ${issue.message}`];
    })
    .join('; ');
}
