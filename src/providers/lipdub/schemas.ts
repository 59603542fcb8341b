/**
 * LipDub API shapes (shared/providers/lipdub.md). Where the docs are silent, see
 * docs/provider-assumptions.md § LipDub; each schema below that encodes one says so.
 * Responses are parsed leniently: extra fields pass (and are dropped), documented variants all parse.
 */
import { z } from 'zod';
import { aliasField, httpUrl, idString, isRecord, numericId, optionalText } from '../schemas';

// ── Status literals (closed unions: an unknown value is a ResponseValidationError) ────────────────

export const LipdubUploadStatus = z.enum(['uploading', 'completed', 'failed']);
export type LipdubUploadStatus = z.infer<typeof LipdubUploadStatus>;

export const LipdubShotProcessingStatus = z.enum(['running', 'finished', 'failed', 'not_started']);
export type LipdubShotProcessingStatus = z.infer<typeof LipdubShotProcessingStatus>;

export const LipdubAiTrainingStatus = z.enum(['not_started', 'processing', 'finished', 'failed']);
export type LipdubAiTrainingStatus = z.infer<typeof LipdubAiTrainingStatus>;

export const LipdubGenerateStatus = z.enum(['not_started', 'pending', 'running', 'finished', 'failed']);
export type LipdubGenerateStatus = z.infer<typeof LipdubGenerateStatus>;

/** Every LipDub response wraps its payload in `data`. */
export function lipdubEnvelope<T extends z.ZodType>(data: T) {
  return z.object({ data });
}

/**
 * A failure reason, when a status response carries one. The docs show none; the first string of
 * `failure_reason`, `error_message`, `error`, `message` is kept so a failed job can say why.
 */
const withFailureReason = (v: unknown): unknown => {
  if (!isRecord(v)) return v;
  for (const k of ['failure_reason', 'error_message', 'error', 'message']) {
    const r = v[k];
    if (typeof r === 'string' && r.trim() !== '') return { ...v, failure_reason: r.trim() };
  }
  const { failure_reason: _ignored, ...rest } = v;
  return rest;
};
const failureReason = z.string().optional();

// ── Video ──────────────────────────────────────────────────────────────────────────────────────

/** POST /video. The three names are free text; they come back in GET /shots (assumptions doc). */
export const LipdubInitVideoRequest = z.object({
  file_name: z.string().min(1),
  content_type: z.string().regex(/^video\/[\w.+-]+$/, 'expected a video/* content type'),
  project_name: z.string().min(1),
  scene_name: z.string().min(1),
  actor_name: z.string().min(1),
});
export type LipdubInitVideoRequest = z.input<typeof LipdubInitVideoRequest>;

export const LipdubInitVideo = z.object({
  video_id: idString,
  upload_url: httpUrl,
  project_id: numericId.optional(),
  scene_id: numericId.optional(),
  actor_id: numericId.optional(),
  /** Paths starting with /v1; the client calls the id-based endpoints instead (assumptions doc). */
  success_url: optionalText,
  failure_url: optionalText,
});
export type LipdubInitVideo = z.infer<typeof LipdubInitVideo>;

export const LipdubVideoSuccess = z.object({
  shot_id: numericId,
  asset_type: optionalText,
});
export type LipdubVideoSuccess = z.infer<typeof LipdubVideoSuccess>;

/**
 * GET /video/status/{video_id}. `shot_id` is null or absent until the upload succeeded
 * (assumptions doc); a shot or training status that is absent or null before then reads `not_started`.
 */
export const LipdubVideoStatus = z.preprocess(
  withFailureReason,
  z.object({
    shot_id: numericId.nullish().transform((v) => v ?? null),
    upload_status: LipdubUploadStatus,
    shot_status: LipdubShotProcessingStatus.nullish().transform((v) => v ?? 'not_started'),
    ai_training_status: LipdubAiTrainingStatus.nullish().transform((v) => v ?? 'not_started'),
    failure_reason: failureReason,
  }),
);
export type LipdubVideoStatus = z.infer<typeof LipdubVideoStatus>;

// ── Audio ──────────────────────────────────────────────────────────────────────────────────────

export const LipdubInitAudioRequest = z.object({
  file_name: z.string().min(1),
  content_type: z.string().regex(/^audio\/[\w.+-]+$/, 'expected an audio/* content type'),
  size_bytes: z.number().int().positive(),
});
export type LipdubInitAudioRequest = z.input<typeof LipdubInitAudioRequest>;

export const LipdubInitAudio = z.object({
  audio_id: idString,
  upload_url: httpUrl,
  success_url: optionalText,
  failure_url: optionalText,
});
export type LipdubInitAudio = z.infer<typeof LipdubInitAudio>;

export const LipdubAudioStatus = z.object({
  audio_id: idString,
  upload_status: LipdubUploadStatus,
});
export type LipdubAudioStatus = z.infer<typeof LipdubAudioStatus>;

export const LipdubAudio = z.object({
  audio_id: idString,
  upload_status: LipdubUploadStatus,
  file_name: optionalText,
  content_type: optionalText,
  created_at: optionalText,
});
export type LipdubAudio = z.infer<typeof LipdubAudio>;

/** A list answer `{ data: [...], count }`; a missing count is the length of `data`. */
function lipdubList<T extends z.ZodType>(item: T) {
  return z
    .object({ data: z.array(item), count: z.number().int().nonnegative().optional() })
    .transform((v) => ({ data: v.data, count: v.count ?? v.data.length }));
}

export const LipdubAudioList = lipdubList(LipdubAudio);
export type LipdubAudioList = z.infer<typeof LipdubAudioList>;

// ── Shots ──────────────────────────────────────────────────────────────────────────────────────

/** `shot_label` is the video's `file_name`; the names are POST /video's free text (assumptions doc). */
export const LipdubShot = z.object({
  shot_id: numericId,
  shot_label: optionalText,
  shot_project_id: numericId.nullish().transform((v) => v ?? undefined),
  shot_scene_id: numericId.nullish().transform((v) => v ?? undefined),
  shot_project_name: optionalText,
  shot_scene_name: optionalText,
});
export type LipdubShot = z.infer<typeof LipdubShot>;

export const LipdubShotList = lipdubList(LipdubShot);
export type LipdubShotList = z.infer<typeof LipdubShotList>;

export const LipdubShotStatus = z.preprocess(
  withFailureReason,
  z.object({
    shot_status: LipdubShotProcessingStatus,
    ai_training_status: LipdubAiTrainingStatus,
    failure_reason: failureReason,
  }),
);
export type LipdubShotStatus = z.infer<typeof LipdubShotStatus>;

// ── Generation ─────────────────────────────────────────────────────────────────────────────────

/** POST /shots/{shot_id}/generate. `output_filename` is where Reelay carries its idempotency marker. */
export const LipdubGenerateRequest = z.object({
  audio_id: z.string().min(1),
  output_filename: z.string().min(1),
  language: z.string().min(1),
  maintain_expression: z.boolean().optional(),
});
export type LipdubGenerateRequest = z.input<typeof LipdubGenerateRequest>;

/** The generation id arrives as `generate_id`, `generateId` or `id`, string or number (docs). */
const generateIdAliases = aliasField('generate_id', ['generateId', 'id']);
const generateIdField = z
  .union([z.string().min(1), z.number().int().nonnegative()], {
    error: 'expected a generation id as generate_id, generateId or id (string or number)',
  })
  .refine((v) => v !== '.' && v !== '..', 'expected a generation id, got "." or ".." (it would change the URL path)');

/** POST …/generate answers `status: "processing"`, outside the polling enum, so it stays a string. */
export const LipdubGenerate = z.preprocess(
  generateIdAliases,
  z
    .object({ generate_id: generateIdField, status: z.string().optional() })
    .transform((v) => ({ generateId: String(v.generate_id), status: v.status ?? 'unknown' })),
);
export type LipdubGenerate = z.infer<typeof LipdubGenerate>;

/** GET …/generate/{generate_id}. The id may be absent here; the client fills in the one it asked for. */
export const LipdubGeneration = z.preprocess(
  (v) => withFailureReason(generateIdAliases(v)),
  z
    .object({
      status: LipdubGenerateStatus,
      generate_id: generateIdField.optional(),
      failure_reason: failureReason,
    })
    .transform((v) => ({
      generateId: v.generate_id === undefined ? undefined : String(v.generate_id),
      status: v.status,
      ...(v.failure_reason ? { failureReason: v.failure_reason } : {}),
    })),
);
export type LipdubGeneration = z.infer<typeof LipdubGeneration>;
/** What the client returns: the id is always there (the one asked for, when the answer omits it). */
export type LipdubGenerationState = LipdubGeneration & { generateId: string };

export const LipdubGenerateDownload = z.object({ download_url: httpUrl });
export type LipdubGenerateDownload = z.infer<typeof LipdubGenerateDownload>;
