/** Schema pieces shared by the provider clients. */
import { z } from 'zod';
import type { Undocumented } from './documented';

/**
 * An id that some responses send as a number and others as a string; Reelay carries it as a string.
 * Ids go back into URL paths, so "." and ".." (which would change the route) are refused here, where the
 * provider's answer is read, rather than when the next call is built.
 */
export const idString = z
  .union([z.string().min(1), z.number().int().nonnegative()], { error: 'expected an id (a non-empty string or a whole number)' })
  .transform((v) => String(v))
  .refine((v) => v !== '.' && v !== '..', 'expected an id, got "." or ".." (it would change the URL path)');

/** A numeric id (LipDub shots, projects); a digit string is accepted and converted. */
export const numericId = z.union(
  [
    z.number().int().nonnegative(),
    z
      .string()
      .regex(/^\d+$/, 'expected a numeric id')
      .transform((v) => Number(v)),
  ],
  { error: 'expected a numeric id (a whole number or its digits)' },
);

/**
 * A URL the provider hands out for Reelay to fetch or upload to (signed upload and download URLs, a
 * redirect's Location): http(s) only — a `file:` or `javascript:` URL is a broken answer, not a place to go.
 */
export const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });

/** An acknowledgement (`{}`, `{ data: … }`, or 204 with no body, read as `{}`): any JSON object. */
export const Acknowledgement = z.looseObject({});

/** `gs://bucket/path` or an https URL (Vivid Flow's image_url: "GCS URL or HTTPS URL"). */
export function isGcsOrHttpsUrl(u: string): boolean {
  if (/^gs:\/\/[^/\s]+\/\S+$/.test(u)) return true;
  try {
    return new URL(u).protocol === 'https:';
  } catch {
    return false;
  }
}

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

/**
 * A value the docs give as a closed set, read tolerantly (DESIGN.md principle 8): a documented value
 * keeps its literal type, any other non-empty string passes through as it came. A status the docs do
 * not list is a provider's new state, not a broken answer: the pipeline keeps waiting (until its
 * deadline) and says so in its progress log. `isDocumented` tells the two apart.
 */
export function tolerantEnum<const T extends readonly [string, ...string[]]>(values: T) {
  return z.union([z.enum(values), z.string().min(1, `expected one of ${values.join('|')} (or another non-empty status)`)]) as unknown as z.ZodType<
    T[number] | Undocumented,
    unknown
  >;
}

export { isDocumented, type Undocumented } from './documented';
