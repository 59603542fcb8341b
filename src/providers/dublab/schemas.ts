/**
 * DubLab API shapes (shared/providers/dublab.md). The docs sketch most bodies only; the shapes
 * below follow docs/provider-assumptions.md § DubLab, and each one the docs leave open says so.
 * Responses are parsed leniently: extra fields pass (and are dropped), documented variants all parse.
 */
import { z } from 'zod';
import { aliasField, httpUrl, idString, isRecord, optionalText } from '../schemas';

export const DUBLAB_STATUS = { UPLOADING: 1, IN_QUEUE: 2, PROCESSING: 3, FAILED: 4, COMPLETED: 5 } as const;

/** The public status surface is 1–5 (docs); anything else is a ResponseValidationError. */
export const DublabExternalStatusId = z.literal([1, 2, 3, 4, 5]);
export type DublabExternalStatusId = z.infer<typeof DublabExternalStatusId>;

export const DUBLAB_OUTPUT_TYPES = [
  'translated_mp4',
  'translated',
  'translated_mp3',
  'translated_subtitle',
  'original',
  'original_mp4',
  'original_mp3',
  'original_subtitle',
  'poster',
] as const;
export type DublabOutputType = (typeof DUBLAB_OUTPUT_TYPES)[number];

// ── Account ────────────────────────────────────────────────────────────────────────────────────

/** GET /me (assumed shape). One credit is one second of measured output (assumed). */
export const DublabMe = z.object({
  id: idString,
  email: z.string(),
  name: optionalText,
  credits: z.number(),
});
export type DublabMe = z.infer<typeof DublabMe>;

// ── Dubs ───────────────────────────────────────────────────────────────────────────────────────

/** One entry of GET /dubs (assumed shape); `id` is the fileId. */
export const DublabDub = z.object({
  id: idString,
  projectId: idString,
  name: z.string(),
  targetLang: z.string(),
  externalStatusId: DublabExternalStatusId,
  externalErrorMessage: z.string().nullish().transform((v) => v ?? null),
  sourceLang: optionalText,
  duration: z.number().nullish().transform((v) => v ?? undefined),
  measuredDuration: z.number().nullish().transform((v) => v ?? null),
  createdAt: optionalText,
});
export type DublabDub = z.infer<typeof DublabDub>;

/** GET /dubs answers `{ dubs: [...] }`; `{ data: [...] }` and a bare array are accepted too. */
export const DublabDubList = z.preprocess(
  (v) => (Array.isArray(v) ? v : isRecord(v) ? (v.dubs ?? v.data ?? v) : v),
  z.array(DublabDub, { error: 'expected a list of dubs as { dubs: [...] }, { data: [...] } or [...]' }),
);
export type DublabDubList = z.infer<typeof DublabDubList>;

/** `{ url, downloadUrl }`, both presigned and expiring after `expiresIn` seconds. */
export const DublabOutputLink = z.object({
  url: httpUrl,
  downloadUrl: httpUrl.optional(),
});
export type DublabOutputLink = z.infer<typeof DublabOutputLink>;

/**
 * `{ <type>: { url, downloadUrl } }`, empty until the dub completes; types outside
 * DUBLAB_OUTPUT_TYPES are kept (a new output kind must not fail the poll).
 */
export const DublabOutputs = z
  .record(z.string(), DublabOutputLink)
  .nullish()
  .transform((v): Partial<Record<DublabOutputType, DublabOutputLink>> & Record<string, DublabOutputLink> => v ?? {});
export type DublabOutputs = z.infer<typeof DublabOutputs>;

/** Seconds the presigned URLs live; 3600 by default (docs). */
const expiresIn = z
  .number()
  .positive()
  .nullish()
  .transform((v) => v ?? 3600);

/** GET /dubs/{fileId}/outputs (assumed shape). */
export const DublabDubOutputs = z.object({
  fileId: idString.optional(),
  externalStatusId: DublabExternalStatusId,
  expiresIn,
  outputs: DublabOutputs,
});
export type DublabDubOutputs = z.infer<typeof DublabDubOutputs>;

/** GET /projects/{projectId}/outputs (assumed shape): one entry per language of the project. */
export const DublabProjectFile = z.preprocess(
  aliasField('targetLang', ['dest_lang', 'lang']),
  z.object({
    fileId: idString,
    targetLang: z.string(),
    externalStatusId: DublabExternalStatusId,
    externalErrorMessage: z.string().nullish().transform((v) => v ?? null),
    outputs: DublabOutputs,
  }),
);
export type DublabProjectFile = z.infer<typeof DublabProjectFile>;

export const DublabProjectOutputs = z.object({
  projectId: idString,
  expiresIn,
  files: z.array(DublabProjectFile),
});
export type DublabProjectOutputs = z.infer<typeof DublabProjectOutputs>;

// ── Creating and starting dubs ─────────────────────────────────────────────────────────────────

const dubSource = {
  /** MIME type of the upload; the presigned PUT must send exactly this Content-Type. */
  fileType: z.string().regex(/^(video|audio)\/[\w.+-]+$/, 'expected a video/* or audio/* content type'),
  /** Free text; Reelay carries its idempotency marker here. */
  name: z.string().min(1),
  source_lang: z.string().min(1),
  /** Seconds; credits are checked against it at start-dub and charged on measured output. */
  duration: z.number().positive(),
};

/** POST /init-dub (assumed body; the docs only sketch it): one file, one language, its own project. */
export const DublabInitDubRequest = z.object({ ...dubSource, dest_lang: z.string().min(1) });
export type DublabInitDubRequest = z.input<typeof DublabInitDubRequest>;

export const DublabInitDub = z.object({
  fileId: idString,
  projectId: idString,
  uploadUrl: httpUrl,
});
export type DublabInitDub = z.infer<typeof DublabInitDub>;

/** POST /init-dub-group (docs): one upload, one file per language in a shared project. */
export const DublabInitDubGroupRequest = z.object({ ...dubSource, dest_langs: z.array(z.string().min(1)).min(1) });
export type DublabInitDubGroupRequest = z.input<typeof DublabInitDubGroupRequest>;

/** The per-file language arrives as `dest_lang`, `targetLang` or `lang` (assumptions doc). */
const DublabGroupFile = z.preprocess(
  aliasField('dest_lang', ['targetLang', 'lang']),
  z
    .object({
      fileId: idString,
      dest_lang: z.string({ error: 'expected the language as dest_lang, targetLang or lang' }).min(1),
    })
    .transform((f) => ({ fileId: f.fileId, destLang: f.dest_lang })),
);

export const DublabInitDubGroup = z.object({
  projectId: idString,
  uploadUrl: httpUrl,
  files: z.array(DublabGroupFile).min(1),
});
export type DublabInitDubGroup = z.infer<typeof DublabInitDubGroup>;

export const DublabStartDubRequest = z.object({ fileId: z.string().min(1) });
export type DublabStartDubRequest = z.input<typeof DublabStartDubRequest>;

/** POST /start-dub (assumed answer `{ fileId, externalStatusId: 2 }`); the client fills a missing fileId. */
export const DublabStartDubResponse = z.object({
  fileId: idString.optional(),
  externalStatusId: DublabExternalStatusId.optional(),
});
export type DublabStartDub = Omit<z.infer<typeof DublabStartDubResponse>, 'fileId'> & { fileId: string };
