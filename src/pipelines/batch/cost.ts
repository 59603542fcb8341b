import { AISTUDIO_JOB_COST_TOKENS } from '../aistudio/schemas';
import { PIPELINES, isPipelineId, type EstimatedPipelineId } from '../registry';

/** What a batch will spend where a provider says what things cost. Pure: the manifest's entries in, numbers out. */
export interface CostEstimate {
  /** DubLab bills one credit per second of output, per language (docs/provider-assumptions.md). */
  dublabCredits: number;
  /** AI Studio takes 50 tokens per job at creation (docs). */
  aistudioTokens: number;
  /** Vivid Flow takes one credit per accepted generate (`credits_remaining` in /usage). */
  vividflowCredits: number;
}

type Entry = { pipeline: string; input: Record<string, unknown> };
type Estimator = (input: Record<string, unknown>, est: CostEstimate) => void;

function localizeLanguagesToDub(input: Record<string, unknown>): number {
  const targets = Array.isArray(input.targetLanguages) ? input.targetLanguages.length : 0;
  const reused = input.dubbedAudio && typeof input.dubbedAudio === 'object' ? Object.keys(input.dubbedAudio).length : 0;
  return Math.max(0, targets - reused);
}

const seconds = (input: Record<string, unknown>) => (typeof input.durationSeconds === 'number' ? input.durationSeconds : 0);

/**
 * What one run of each priced pipeline spends. Keyed by the registry's `cost: 'estimated'` pipelines: one
 * marked priced there without a rule here does not compile; the others say there why they are not counted.
 */
export const COST_ESTIMATORS: { readonly [P in EstimatedPipelineId]: Estimator } = {
  dublab: (input, est) => {
    est.dublabCredits += seconds(input) * (Array.isArray(input.targetLanguages) ? input.targetLanguages.length : 0);
  },
  vividflow: (_input, est) => {
    est.vividflowCredits += 1;
  },
  aistudio: (_input, est) => {
    est.aistudioTokens += AISTUDIO_JOB_COST_TOKENS;
  },
  localize: (input, est) => {
    est.dublabCredits += seconds(input) * localizeLanguagesToDub(input);
    const step = input.generate as { pipeline?: unknown; input?: Record<string, unknown> } | undefined;
    if (step) estimateRun(step.pipeline, step.input ?? {}, est);
  },
};

const isPriced = (pipeline: unknown): pipeline is EstimatedPipelineId => isPipelineId(pipeline) && PIPELINES[pipeline].cost === 'estimated';

function estimateRun(pipeline: unknown, input: Record<string, unknown>, est: CostEstimate): void {
  if (isPriced(pipeline)) COST_ESTIMATORS[pipeline](input, est);
}

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
