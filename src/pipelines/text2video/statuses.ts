/**
 * text2video's documented status values (docs § Get Job Status), without zod: the workflow reads them (a run evaluates every
 * module it reaches, src/workflows/index.ts), and ./schemas builds its tolerant readers from them.
 */
export const TEXT2VIDEO_STATUSES = ['queued', 'processing', 'completed', 'failed'] as const;
