import { PIPELINES, isPipelineId, type EstimatedPipelineId } from '../registry';
import type { CostEstimate } from '../spec';

export type { CostEstimate } from '../spec';

type Entry = { pipeline: string; input: Record<string, unknown> };

const isPriced = (pipeline: unknown): pipeline is EstimatedPipelineId => isPipelineId(pipeline) && PIPELINES[pipeline].cost === 'estimated';

/** Adds what one run costs, by its pipeline's rule (its spec's `estimate`); unpriced and free pipelines add nothing. */
function estimateRun(pipeline: unknown, input: Record<string, unknown>, est: CostEstimate): void {
  if (isPriced(pipeline)) PIPELINES[pipeline].estimate(input, est, (p, i) => estimateRun(p, i, est));
}

/** What a batch will spend where a provider says what things cost. Pure: the manifest's entries in, numbers out. */
export function estimateCost(entries: Iterable<Entry>): CostEstimate {
  const est: CostEstimate = { dublabCredits: 0, aistudioTokens: 0, vividflowCredits: 0 };
  for (const { pipeline, input } of entries) estimateRun(pipeline, input, est);
  return est;
}

export interface BalanceLine {
  provider: 'dublab' | 'aistudio' | 'vividflow';
  needed: number;
  unit: string;
  /** null where the provider has no balance endpoint (AI Studio): the first job's 402 will tell. */
  available: number | null;
  short: boolean;
}

export function describeBalance(lines: BalanceLine[]): string {
  return lines
    .map((l) => `${l.provider}: about ${l.needed} ${l.unit} needed, ${l.available === null ? 'balance unknown (no endpoint)' : `${l.available} available`}${l.short ? ' — SHORT' : ''}`)
    .join('; ');
}
