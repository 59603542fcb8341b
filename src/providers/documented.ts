/**
 * Documented value sets, without zod: workflows tell a documented status from a provider's new one with
 * these, and a workflow run evaluates every module it reaches (src/workflows/index.ts), so nothing here
 * may build a schema. The tolerant readers that use them are in ./schemas and ./lenient.
 */

/** A value outside the documented set of a tolerant enum (its raw text). */
export type Undocumented = string & { readonly __undocumented?: never };

/** Whether a tolerant enum value is one of the documented ones. */
export function isDocumented<const T extends readonly (string | number)[]>(values: T, v: unknown): v is T[number] {
  return (values as readonly unknown[]).includes(v);
}
