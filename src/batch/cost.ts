import { AISTUDIO_JOB_COST_TOKENS } from '../providers/aistudio/schemas';

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

function localizeLanguagesToDub(input: Record<string, unknown>): number {
  const targets = Array.isArray(input.targetLanguages) ? input.targetLanguages.length : 0;
  const reused = input.dubbedAudio && typeof input.dubbedAudio === 'object' ? Object.keys(input.dubbedAudio).length : 0;
  return Math.max(0, targets - reused);
}

export function estimateCost(entries: Iterable<Entry>): CostEstimate {
  const est: CostEstimate = { dublabCredits: 0, aistudioTokens: 0, vividflowCredits: 0 };
  const generation = (pipeline: unknown) => {
    if (pipeline === 'aistudio') est.aistudioTokens += AISTUDIO_JOB_COST_TOKENS;
    if (pipeline === 'vividflow') est.vividflowCredits += 1;
  };
  for (const { pipeline, input } of entries) {
    const seconds = typeof input.durationSeconds === 'number' ? input.durationSeconds : 0;
    if (pipeline === 'dublab') est.dublabCredits += seconds * (Array.isArray(input.targetLanguages) ? input.targetLanguages.length : 0);
    if (pipeline === 'localize') {
      est.dublabCredits += seconds * localizeLanguagesToDub(input);
      const step = input.generate as { pipeline?: unknown } | undefined;
      if (step) generation(step.pipeline);
    }
    generation(pipeline);
  }
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
