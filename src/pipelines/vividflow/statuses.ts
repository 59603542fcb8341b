/**
 * Vivid Flow's documented status values (docs § Check Job Status), without zod: the workflow reads them (a run evaluates every
 * module it reaches, src/workflows/index.ts), and ./schemas builds its tolerant readers from them.
 */
export const VIVIDFLOW_STATUSES = ['queued', 'processing', 'completed', 'failed', 'cancelled'] as const;
