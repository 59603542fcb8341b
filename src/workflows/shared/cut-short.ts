/**
 * Create and transfer calls that a cancel cut short (src/workflows/activity-proxies.ts): the call was in
 * flight when the run was cancelled and then failed instead of acknowledging the cancel, so what it did
 * at the provider is unknown. The run's `leftAtProvider` carries one line for each, after the jobs its
 * cancellation handler found. State of this run only (the workflow sandbox keeps module state per run).
 */
const notes: string[] = [];

/** The line `leftAtProvider` gets: it starts with `call "`, so readers can tell it from a listed job. */
export function noteCutShort(summary: string, reason: string): void {
  notes.push(`call "${summary}" was cut short by the cancel (${reason}): anything it made at the provider is not listed here; look for jobs marked with this run's id`);
}

export function cutShortNotes(): readonly string[] {
  return notes;
}
