/** Schema pieces shared by the provider clients. */
import { z } from 'zod';

/** An id that some responses send as a number and others as a string; Reelay carries it as a string. */
export const idString = z
  .union([z.string().min(1), z.number().int().nonnegative()])
  .transform((v) => String(v));

/** A numeric id (LipDub shots, projects); a digit string is accepted and converted. */
export const numericId = z.union([
  z.number().int().nonnegative(),
  z
    .string()
    .regex(/^\d+$/, 'expected a numeric id')
    .transform((v) => Number(v)),
]);

/** Optional free text that providers send as null, absent or a string. */
export const optionalText = z
  .string()
  .nullish()
  .transform((v) => v ?? undefined);

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Copies the first present alias into `target` so one schema field covers every documented name. */
export function aliasField(target: string, aliases: readonly string[]) {
  return (v: unknown): unknown => {
    if (!isRecord(v) || (v[target] !== undefined && v[target] !== null)) return v;
    for (const a of aliases) {
      if (v[a] !== undefined && v[a] !== null) return { ...v, [target]: v[a] };
    }
    return v;
  };
}
