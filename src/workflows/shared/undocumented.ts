/** Pure helpers for provider answers the docs do not foresee (DESIGN.md principle 8). */

/** The progress log line for a status value the provider docs do not list: the pipeline keeps waiting. */
export function undocumentedStatusLine(provider: string, what: string, status: string): string {
  return `${provider} reported status ${JSON.stringify(status)} for ${what}, which the docs do not list; still waiting`;
}

/**
 * The first of `texts` that says something (not absent, not blank): the provider's reason for a failed
 * job, from the most specific field to the least; `fallback` when none does.
 */
export function providerReason(texts: ReadonlyArray<string | undefined | null>, fallback: string): string {
  for (const t of texts) if (t !== undefined && t !== null && t.trim() !== '') return t;
  return fallback;
}
