/**
 * LipDub's documented status values (shared/providers/lipdub.md; read tolerantly: an undocumented value passes as text), without zod: the workflow reads them (a run evaluates every
 * module it reaches, src/workflows/index.ts), and ./schemas builds its tolerant readers from them.
 */
export const LIPDUB_UPLOAD_STATUSES = ['uploading', 'completed', 'failed'] as const;
export const LIPDUB_SHOT_STATUSES = ['running', 'finished', 'failed', 'not_started'] as const;
export const LIPDUB_TRAINING_STATUSES = ['not_started', 'processing', 'finished', 'failed'] as const;
export const LIPDUB_GENERATE_STATUSES = ['not_started', 'pending', 'running', 'finished', 'failed'] as const;
