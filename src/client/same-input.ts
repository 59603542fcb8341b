/**
 * Where two inputs differ, as field paths (`input.targetLanguages.1`, `input.polling.maxIntervalSeconds`):
 * what a start with a key already taken by another input is refused with. Only paths, never values: an
 * input may hold a signed URL, and the message goes to logs.
 */
export function differingFields(a: unknown, b: unknown, at = 'input'): string[] {
  if (Object.is(a, b)) return [];
  const bothArrays = Array.isArray(a) && Array.isArray(b);
  const bothObjects = isPlainObject(a) && isPlainObject(b);
  if (bothArrays) {
    if (a.length !== b.length) return [at];
    return a.flatMap((x, i) => differingFields(x, b[i], `${at}.${i}`));
  }
  if (bothObjects) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => differingFields(a[k], b[k], `${at}.${k}`));
  }
  return [at];
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
