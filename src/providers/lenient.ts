/**
 * Readers for optional fields (DESIGN.md principle 8): a field the pipeline can go on without is read
 * when it is usable and is `undefined` (its documented fallback applies) when it is absent, null or of
 * a form Reelay cannot use. Required fields keep strict schemas, so their absence is still a
 * ProviderResponseInvalid naming the field.
 */
import { z } from 'zod';
import { isDocumented, type Undocumented } from './schemas';

/** A number, or the digits of one (`"60"`); anything else reads `undefined`. */
export const lenientNumber = z.unknown().optional().transform((v): number | undefined => {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v)) return Number(v);
  return undefined;
});

/** A percentage 0–100 (numbers outside are clamped, digits accepted); anything else reads `undefined`. */
export const lenientPercent = lenientNumber.transform((v) => (v === undefined ? undefined : Math.max(0, Math.min(100, v))));

/** Text; a number or boolean reads as its text (`12` → `"12"`); anything else reads `undefined`. */
export const lenientText = z.unknown().optional().transform((v): string | undefined => {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
});

/** An http(s) URL Reelay does not fetch; anything else reads `undefined`. */
export const lenientUrl = z.unknown().optional().transform((v): string | undefined => {
  if (typeof v !== 'string') return undefined;
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:' ? v : undefined;
  } catch {
    return undefined;
  }
});

/** A list of text lines (`logs`): entries that are not text are dropped; not a list reads `[]`. */
export const lenientLines = z.unknown().optional().transform((v): string[] =>
  Array.isArray(v) ? v.flatMap((l) => (typeof l === 'string' ? [l] : typeof l === 'number' ? [String(l)] : [])) : [],
);

/**
 * An optional status: a documented value keeps its literal type, another non-empty text passes as it
 * came, and anything else (absent, null, not text) reads `undefined`.
 */
export function lenientStatus<const T extends readonly [string, ...string[]]>(values: T) {
  return z.unknown().optional().transform((v): T[number] | Undocumented | undefined => {
    if (isDocumented(values, v)) return v;
    return typeof v === 'string' && v !== '' ? v : undefined;
  });
}
