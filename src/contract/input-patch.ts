/**
 * What parsing changed in an input, and the parsed input back from the raw one and that change. Pure: the
 * validateInput activity (src/activities/input.ts) returns only the change, so an input's values (a
 * signed URL a caller gave, a prompt) are kept once in history, in the run's input, not again in the
 * activity's result (docs/security.md). The workflow applies the change to its own input.
 */

/** A change: a value to put in place (`set`), or changes inside an object's keys or an array's items. */
export type InputPatch = { set: unknown } | { keys: Record<string, InputPatch> } | { items: Record<string, InputPatch> };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What turns `raw` into `parsed`, or undefined when they are the same (JSON values). */
export function inputPatch(raw: unknown, parsed: unknown): InputPatch | undefined {
  if (JSON.stringify(raw) === JSON.stringify(parsed)) return undefined;
  if (isObject(raw) && isObject(parsed) && Object.keys(raw).every((k) => k in parsed)) {
    const keys: Record<string, InputPatch> = {};
    for (const k of Object.keys(parsed)) {
      const p = inputPatch(raw[k], parsed[k]);
      if (p) keys[k] = p;
    }
    return { keys };
  }
  if (Array.isArray(raw) && Array.isArray(parsed) && raw.length === parsed.length) {
    const items: Record<string, InputPatch> = {};
    parsed.forEach((v, i) => {
      const p = inputPatch(raw[i], v);
      if (p) items[String(i)] = p;
    });
    return { items };
  }
  return { set: parsed };
}

/** `raw` with `patch` applied (a new value; `raw` is left as it is). */
export function applyInputPatch(raw: unknown, patch: InputPatch | undefined): unknown {
  if (!patch) return raw;
  if ('set' in patch) return patch.set;
  if ('keys' in patch) {
    const out: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
    for (const [k, p] of Object.entries(patch.keys)) out[k] = applyInputPatch(out[k], p);
    return out;
  }
  const out = [...(raw as unknown[])];
  for (const [i, p] of Object.entries(patch.items)) out[Number(i)] = applyInputPatch(out[Number(i)], p);
  return out;
}
