/**
 * Signed URLs are credentials: their query string carries the signature. Anything that may end up
 * in an error message, a log line or Temporal history goes through these first.
 */

const REDACTED_QUERY = '?…';
export const REDACTED_SECRET = '[redacted]';

/** Origin + path; the query (and any fragment or user-info) is replaced by `?…`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    const hasQuery = u.search !== '' || url.includes('?');
    return `${u.protocol}//${u.host}${u.pathname}${hasQuery ? REDACTED_QUERY : ''}`;
  } catch {
    const q = url.search(/[?#]/);
    return q === -1 ? url : `${url.slice(0, q)}${REDACTED_QUERY}`;
  }
}

const ABSOLUTE_URL = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>\\`]+/gi;
const QUERY_STRING = /\?[^\s"'<>\\`?]*=[^\s"'<>\\`]*/g;

/** Redacts every URL query in free text, and every given secret (API keys) wherever it appears. */
export function redactText(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of secrets) {
    if (s.length >= 4) out = out.split(s).join(REDACTED_SECRET);
  }
  return out.replace(ABSOLUTE_URL, (m) => redactUrl(m)).replace(QUERY_STRING, REDACTED_QUERY);
}
