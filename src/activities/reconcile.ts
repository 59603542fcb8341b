/**
 * Pure matchers that decide, from a provider's job list, whether a create an earlier attempt may have
 * sent did land. Where a provider has no field to carry a marker (Vivid Flow, AI Studio, text2video),
 * a job is ours only when its content matches what we asked for and it was created after we sent the
 * call; two candidates, or a list that does not reach back far enough, leave it unsure.
 */
import type { Reconciliation } from './shared';

/**
 * Creation time in ms. ISO strings without a zone are UTC (Vivid Flow's `created_at` has none:
 * docs/provider-assumptions.md); numbers are Unix seconds (text2video).
 */
export function createdAtMs(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? value * 1000 : undefined;
  const zoned = /(?:Z|[+-]\d\d:?\d\d)$/i.test(value) ? value : `${value}Z`;
  const ms = Date.parse(zoned);
  return Number.isNaN(ms) ? undefined : ms;
}

export interface ListedJob {
  id: string;
  createdAt: string | number | undefined;
}

/**
 * One page of a newest-first list, filtered to the jobs that match our request. `pageFull` says the
 * provider may hold older jobs the page did not show.
 */
export function reconcileFromList<J extends ListedJob>(args: {
  jobs: J[];
  matches: (job: J) => boolean;
  sinceMs: number;
  pageFull: boolean;
  describe: string;
}): Reconciliation<J> {
  const recent = args.jobs.filter((j) => {
    const at = createdAtMs(j.createdAt);
    // A job without a creation time can't be ruled out by age.
    return at === undefined || at >= args.sinceMs;
  });
  const candidates = recent.filter(args.matches);
  if (candidates.length === 1) {
    const [job] = candidates;
    return { kind: 'found', value: job, detail: `${args.describe} ${job.id}` };
  }
  if (candidates.length > 1) {
    return {
      kind: 'unsure',
      why: `${candidates.length} ${args.describe}s match it (${candidates.map((j) => j.id).join(', ')}): another run asked for the same thing at the same time`,
    };
  }
  const oldest = args.jobs.at(-1);
  const oldestAt = oldest ? createdAtMs(oldest.createdAt) : undefined;
  if (args.pageFull && (oldestAt === undefined || oldestAt >= args.sinceMs)) {
    return { kind: 'unsure', why: `the provider's list holds more recent jobs than one page shows` };
  }
  return { kind: 'absent' };
}

/** text2video's job list carries no text, so only an empty window proves the submit did not land. */
export function text2videoWindow(jobs: ListedJob[], sinceMs: number): Reconciliation<never> {
  // created_at has whole seconds: widen by one.
  const recent = jobs.filter((j) => {
    const at = createdAtMs(j.createdAt);
    return at === undefined || at >= sinceMs - 1000;
  });
  if (recent.length === 0) return { kind: 'absent' };
  return {
    kind: 'unsure',
    why: `${recent.length} job(s) were created on the server since the submit (${recent.map((j) => j.id).join(', ')}), and its job list does not say which text each is for`,
  };
}
