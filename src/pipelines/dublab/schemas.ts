/**
 * DubLab API shapes (shared/providers/dublab.md). The docs sketch most bodies only; the shapes
 * below follow docs/provider-assumptions.md § DubLab, and each one the docs leave open says so.
 * Responses are parsed leniently: extra fields pass (and are dropped), documented variants all parse.
 */
import { z } from 'zod';
import { aliasField, httpUrl, idString, isDocumented, isRecord, type Undocumented } from '../../providers/schemas';

export const DUBLAB_STATUS = { UPLOADING: 1, IN_QUEUE: 2, PROCESSING: 3, FAILED: 4, COMPLETED: 5 } as const;

/** The public status surface (docs, "Status Codes"): 1 Uploading, 2 In Queue, 3 Processing, 4 Failed, 5 Completed. */
export const DUBLAB_STATUS_IDS = [1, 2, 3, 4, 5] as const;
export type DublabDocumentedStatus = (typeof DUBLAB_STATUS_IDS)[number];

/**
 * `externalStatusId`, read tolerantly (DESIGN.md principle 8): a documented id keeps its literal type, its
 * digits ("5") read as the number; any other number or non-empty text passes through as it came (a status
 * the docs do not list: the pipeline keeps waiting and says so). Missing or null is refused.
 */
export const DublabExternalStatusId = z
  .union([z.number(), z.string().min(1)], { error: `expected a status id (one of ${DUBLAB_STATUS_IDS.join('|')}, or another undocumented value)` })
  .transform((v): DublabDocumentedStatus | Undocumented | number => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v));
export type DublabExternalStatusId = z.infer<typeof DublabExternalStatusId>;

/** Whether a status id is one of the five the docs list. */
export function isDocumentedDublabStatus(v: unknown): v is DublabDocumentedStatus {
  return isDocumented(DUBLAB_STATUS_IDS, v);
}

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

/** Optional text a provider may also send as a number (shown as its digits); null or absent reads undefined. */
const looseText = z
  .union([z.string(), z.number()])
  .nullish()
  .transform((v) => (v === null || v === undefined ? undefined : String(v)));

// ── Account ────────────────────────────────────────────────────────────────────────────────────

/**
 * GET /me: "Your profile and credit balance" (docs) names no field. Reelay reads only the balance, as
 * `credits` (assumed; one credit is one second of measured output, also assumed); without it the credit
 * check is skipped and says so. Digits read as the number.
 */
export const DublabMe = z.object({
  credits: z
    .union([z.number(), z.string().regex(/^\d+(\.\d+)?$/, 'expected a number of credits').transform(Number)])
    .nullish()
    .transform((v) => v ?? undefined),
});
export type DublabMe = z.infer<typeof DublabMe>;

// ── Dubs ───────────────────────────────────────────────────────────────────────────────────────

/**
 * One entry of GET /dubs, the endpoint the docs say to poll ("Check GET /dubs until externalStatusId = 5").
 * The docs show `projectId` ("includes projectId"), `externalStatusId` and, on failed dubs,
 * `externalErrorMessage`. The dub's own id is not shown there: it is read as `id` or `fileId` (the docs'
 * name for a dub everywhere else); an entry with neither cannot be ours and is kept without an id.
 * Only `externalStatusId` is required.
 */
export const DublabDub = z.preprocess(
  aliasField('id', ['fileId']),
  z.object({
    id: idString.nullish().transform((v) => v ?? undefined),
    projectId: idString.nullish().transform((v) => v ?? undefined),
    externalStatusId: DublabExternalStatusId,
    externalErrorMessage: looseText.transform((v) => v ?? null),
  }),
);
export type DublabDub = z.infer<typeof DublabDub>;

/** GET /dubs answers `{ dubs: [...] }` (assumed key); `{ data: [...] }` and a bare array are accepted too. */
export const DublabDubList = z.preprocess(
  (v) => (Array.isArray(v) ? v : isRecord(v) ? (v.dubs ?? v.data ?? v) : v),
  z.array(DublabDub, { error: 'expected a list of dubs as { dubs: [...] }, { data: [...] } or [...]' }),
);
export type DublabDubList = z.infer<typeof DublabDubList>;

/**
 * `{ url, downloadUrl }`, both presigned (docs). Either may be missing or null: the client downloads
 * `downloadUrl`, else `url`; an entry with neither is not offered.
 */
export const DublabOutputLink = z.object({
  url: httpUrl.nullish().transform((v) => v ?? undefined),
  downloadUrl: httpUrl.nullish().transform((v) => v ?? undefined),
});
export type DublabOutputLink = z.infer<typeof DublabOutputLink>;

/**
 * "outputs is a map of { <type>: { url, downloadUrl } } … The map is empty until the dub completes"
 * (docs). Types outside DUBLAB_OUTPUT_TYPES are kept (a new output kind must not fail the call).
 */
export const DublabOutputs = z
  .record(z.string(), DublabOutputLink, { error: 'expected the outputs map { <type>: { url, downloadUrl } }' })
  .transform((v): Partial<Record<DublabOutputType, DublabOutputLink>> & Record<string, DublabOutputLink> => v);
export type DublabOutputs = z.infer<typeof DublabOutputs>;

/**
 * GET /dubs/{fileId}/outputs: the docs give it the `outputs` map only. No status is read here: whether a
 * dub is done comes from GET /dubs, the endpoint the docs say to poll.
 */
export const DublabDubOutputs = z.object({ outputs: DublabOutputs });
export type DublabDubOutputs = z.infer<typeof DublabDubOutputs>;

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

/**
 * "Create one file (one language) and get an upload URL" (docs): the file's id and the URL, named as
 * init-dub-group names them. `projectId` is not shown for init-dub: read when present.
 */
export const DublabInitDub = z.object({
  fileId: idString,
  projectId: idString.nullish().transform((v) => v ?? undefined),
  uploadUrl: httpUrl,
});
export type DublabInitDub = z.infer<typeof DublabInitDub>;

/** POST /init-dub-group (docs): one upload, one file per language in a shared project. */
export const DublabInitDubGroupRequest = z.object({ ...dubSource, dest_langs: z.array(z.string().min(1)).min(1) });
export type DublabInitDubGroupRequest = z.input<typeof DublabInitDubGroupRequest>;

/**
 * The docs' flow reads `.files[].fileId` only. A file's language, when sent, is read as `dest_lang`,
 * `targetLang` or `lang` (assumed); the client gives a file without one the requested languages left
 * over, in request order (DublabClient.initDubGroup).
 */
const DublabGroupFile = z.preprocess(
  aliasField('dest_lang', ['targetLang', 'lang']),
  z
    .object({
      fileId: idString,
      dest_lang: z
        .unknown()
        .optional()
        .transform((v) => (typeof v === 'string' && v !== '' ? v : undefined)),
    })
    .transform((f) => ({ fileId: f.fileId, destLang: f.dest_lang })),
);

/** POST /init-dub-group as the docs' flow reads it: `.uploadUrl`, `.projectId`, `.files[].fileId`. */
export const DublabInitDubGroupResponse = z.object({
  projectId: idString,
  uploadUrl: httpUrl,
  files: z.array(DublabGroupFile).min(1),
});
/** The group with every file's language settled (by the client). */
export interface DublabInitDubGroup {
  projectId: string;
  uploadUrl: string;
  files: Array<{ fileId: string; destLang: string }>;
}

export const DublabStartDubRequest = z.object({ fileId: z.string().min(1) });
export type DublabStartDubRequest = z.input<typeof DublabStartDubRequest>;

/**
 * POST /start-dub: the docs show no answer body. Any JSON object is read; a `fileId` in it is kept
 * (assumed), else the client fills the one it started.
 */
export const DublabStartDubResponse = z.looseObject({
  fileId: idString.nullish().transform((v) => v ?? undefined),
});
export type DublabStartDub = Omit<z.infer<typeof DublabStartDubResponse>, 'fileId'> & { fileId: string };
