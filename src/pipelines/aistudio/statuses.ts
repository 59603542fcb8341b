/**
 * AI Studio's documented status values (docs § GET /api/v1/video-jobs/{jobId}), without zod: the workflow reads them (a run evaluates every
 * module it reaches, src/workflows/index.ts), and ./schemas builds its tolerant readers from them.
 */
export const AISTUDIO_STATUSES = ['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
