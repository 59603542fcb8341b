/**
 * LipDub API shapes (shared/providers/lipdub.md). Where the docs are silent, see
 * docs/provider-assumptions.md § LipDub; each schema below that encodes one says so.
 * Responses are parsed leniently (DESIGN.md principle 8, src/pipelines/lipdub/fields.ts): a field is
 * required only when the docs show it on that endpoint and the pipeline cannot go on without it; extra
 * fields pass (and are dropped); documented variants all parse; a status the docs do not list passes
 * through as text (the workflow keeps waiting and says so in its progress log).
 */
import { z } from 'zod';
import { aliasField, httpUrl, idString, isRecord, numericId, tolerantEnum } from '../../providers/schemas';
import { LIPDUB_GENERATE_STATUSES, LIPDUB_SHOT_STATUSES, LIPDUB_TRAINING_STATUSES, LIPDUB_UPLOAD_STATUSES } from './statuses';

export { LIPDUB_GENERATE_STATUSES, LIPDUB_SHOT_STATUSES, LIPDUB_TRAINING_STATUSES, LIPDUB_UPLOAD_STATUSES } from './statuses';

// ── Status values (documented sets; read tolerantly: an undocumented value passes as text) ─────────

export const LipdubUploadStatus = tolerantEnum(LIPDUB_UPLOAD_STATUSES);
export type LipdubUploadStatus = z.infer<typeof LipdubUploadStatus>;

export const LipdubShotProcessingStatus = tolerantEnum(LIPDUB_SHOT_STATUSES);
export type LipdubShotProcessingStatus = z.infer<typeof LipdubShotProcessingStatus>;

export const LipdubAiTrainingStatus = tolerantEnum(LIPDUB_TRAINING_STATUSES);
export type LipdubAiTrainingStatus = z.infer<typeof LipdubAiTrainingStatus>;

export const LipdubGenerateStatus = tolerantEnum(LIPDUB_GENERATE_STATUSES);
export type LipdubGenerateStatus = z.infer<typeof LipdubGenerateStatus>;

/** Every LipDub response wraps its payload in `data`. */
export function lipdubEnvelope<T extends z.ZodType>(data: T) {
  return z.object({ data });
}

/**
 * Text nothing in Reelay decides on (labels, names): absent or null reads undefined, a number reads as
 * its digits, so an answer is never refused over it.
 */
const looseText = z
  .union([z.string(), z.number()])
  .nullish()
  .transform((v) => (v === null || v === undefined ? undefined : String(v)));

/**
 * A failure reason, when a generation status carries one. The docs show none; the first string of
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

/**
 * POST /video. Only what the upload needs is read: `video_id` and `upload_url`. The project, scene and
 * actor ids and the `success_url` / `failure_url` paths pass unread (the client calls the id-based
 * endpoints instead, assumptions doc).
 */
export const LipdubInitVideo = z.object({
  video_id: idString,
  upload_url: httpUrl,
});
export type LipdubInitVideo = z.infer<typeof LipdubInitVideo>;

/**
 * POST /video/success/{video_id}. The docs show a `shot_id`, but their own flow (step 3, "Wait for Shot
 * Ready") reads it from GET /video/status: an answer without one (absent, null, or no `data`) is normal,
 * and the pipeline waits for the shot id on video status. `asset_type` passes unread.
 */
export const LipdubVideoSuccess = z
  .object({
    data: z
      .object({ shot_id: numericId.nullish().transform((v) => v ?? undefined) })
      .nullish(),
  })
  .transform((v): { shot_id: number | undefined } => ({ shot_id: v.data?.shot_id }));
export type LipdubVideoSuccess = z.infer<typeof LipdubVideoSuccess>;

/**
 * GET /video/status/{video_id}: where the docs' flow takes the shot id from. `shot_id` is null or absent
 * until LipDub made the shot (assumptions doc); `upload_status` absent or null reads undefined (the shot
 * id alone decides); a shot or training status that is absent or null reads `not_started`.
 */
export const LipdubVideoStatus = z.object({
  shot_id: numericId.nullish().transform((v) => v ?? null),
  upload_status: LipdubUploadStatus.nullish().transform((v) => v ?? undefined),
  shot_status: LipdubShotProcessingStatus.nullish().transform((v) => v ?? 'not_started'),
  ai_training_status: LipdubAiTrainingStatus.nullish().transform((v) => v ?? 'not_started'),
});
export type LipdubVideoStatus = z.infer<typeof LipdubVideoStatus>;

// ── Audio ──────────────────────────────────────────────────────────────────────────────────────

export const LipdubInitAudioRequest = z.object({
  file_name: z.string().min(1),
  content_type: z.string().regex(/^audio\/[\w.+-]+$/, 'expected an audio/* content type'),
  size_bytes: z.number().int().positive(),
});
export type LipdubInitAudioRequest = z.input<typeof LipdubInitAudioRequest>;

/** POST /audio: `audio_id` and `upload_url`; the `success_url` / `failure_url` paths pass unread. */
export const LipdubInitAudio = z.object({
  audio_id: idString,
  upload_url: httpUrl,
});
export type LipdubInitAudio = z.infer<typeof LipdubInitAudio>;

/** GET /audio/status/{audio_id}. The id may be absent: the client fills in the one it asked for. */
export const LipdubAudioStatus = z.object({
  audio_id: idString.nullish().transform((v) => v ?? undefined),
  upload_status: LipdubUploadStatus,
});
export type LipdubAudioStatus = z.infer<typeof LipdubAudioStatus>;
/** What the client returns: the id is always there. */
export type LipdubAudioState = LipdubAudioStatus & { audio_id: string };

/**
 * GET /audio entries. Only `audio_id` is needed; an entry without `file_name` or `upload_status` is
 * simply not recognised as an earlier attempt's completed upload. `content_type`, `created_at` pass unread.
 */
export const LipdubAudio = z.object({
  audio_id: idString,
  upload_status: LipdubUploadStatus.nullish().transform((v) => v ?? undefined),
  file_name: looseText,
});
export type LipdubAudio = z.infer<typeof LipdubAudio>;

/** A list answer `{ data: [...], count }`; a count that is absent, null or not a number is the length of `data`. */
function lipdubList<T extends z.ZodType>(item: T) {
  return z
    .object({ data: z.array(item), count: z.unknown().optional() })
    .transform((v) => ({ data: v.data, count: typeof v.count === 'number' && Number.isInteger(v.count) && v.count >= 0 ? v.count : v.data.length }));
}

export const LipdubAudioList = lipdubList(LipdubAudio);
export type LipdubAudioList = z.infer<typeof LipdubAudioList>;

// ── Shots ──────────────────────────────────────────────────────────────────────────────────────

/**
 * GET /shots entries. `shot_label` is the video's `file_name`; the names are POST /video's free text
 * (assumptions doc). Only `shot_id` is needed; the names are labels (`shot_scene_name` carries Reelay's
 * marker), and the project and scene ids pass unread.
 */
export const LipdubShot = z.object({
  shot_id: numericId,
  shot_label: looseText,
  shot_project_name: looseText,
  shot_scene_name: looseText,
});
export type LipdubShot = z.infer<typeof LipdubShot>;

export const LipdubShotList = lipdubList(LipdubShot);
export type LipdubShotList = z.infer<typeof LipdubShotList>;

/** GET /shots/{shot_id}/status: the documented poll for shot processing and AI training. */
export const LipdubShotStatus = z.object({
  shot_status: LipdubShotProcessingStatus,
  ai_training_status: LipdubAiTrainingStatus,
});
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

/**
 * POST …/generate answers `status: "processing"`, outside the polling enum, so it stays text; absent or
 * null reads `unknown` (nothing decides on it: the generation's status comes from its poll endpoint).
 */
export const LipdubGenerate = z.preprocess(
  generateIdAliases,
  z
    .object({ generate_id: generateIdField, status: looseText })
    .transform((v) => ({ generateId: String(v.generate_id), status: v.status ?? 'unknown' })),
);
export type LipdubGenerate = z.infer<typeof LipdubGenerate>;

/** GET …/generate/{generate_id}. The id may be absent here; the client fills in the one it asked for. */
export const LipdubGeneration = z.preprocess(
  (v) => withFailureReason(generateIdAliases(v)),
  z
    .object({
      status: LipdubGenerateStatus,
      generate_id: generateIdField.nullish(),
      failure_reason: failureReason,
    })
    .transform((v) => ({
      generateId: v.generate_id === undefined || v.generate_id === null ? undefined : String(v.generate_id),
      status: v.status,
      ...(v.failure_reason ? { failureReason: v.failure_reason } : {}),
    })),
);
export type LipdubGeneration = z.infer<typeof LipdubGeneration>;
/** What the client returns: the id is always there (the one asked for, when the answer omits it). */
export type LipdubGenerationState = LipdubGeneration & { generateId: string };

export const LipdubGenerateDownload = z.object({ download_url: httpUrl });
export type LipdubGenerateDownload = z.infer<typeof LipdubGenerateDownload>;
