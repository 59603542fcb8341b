import type { PollingConfig } from '../../contract/common';
import type { CostEstimator, EdgeSpec, PipelineEntry, StartCli, StartFlag } from '../spec';
import type { DublabPipelineParsed } from './input';

/** DubLab dubs take minutes (no documented duration); poll every 10 s growing to 1 min, give up after 6 h. */
export const DUBLAB_POLLING_DEFAULTS = {
  initialIntervalSeconds: 10,
  maxIntervalSeconds: 60,
  backoffCoefficient: 1.5,
  deadlineMinutes: 6 * 60,
  hints: true,
  timeScale: 1,
} as const satisfies PollingConfig;

/** DubLab bills one credit per second of output, per language (docs/provider-assumptions.md). */
export function dublabCredits(durationSeconds: number, languages: number): number {
  return durationSeconds * languages;
}

/** The flags that name a source to dub; localize takes them too. */
export const DUB_SOURCE_FLAGS = {
  source: { kind: 'string', field: 'source', value: 'PATH|URL', description: 'the source video' },
  'source-lang': { kind: 'string', field: 'sourceLanguage', value: 'LANG', description: 'language spoken in the source' },
  duration: { kind: 'number', field: 'durationSeconds', value: 'SECONDS', description: 'duration of the source' },
} as const satisfies Record<string, StartFlag>;

const cli: StartCli = {
  usage: ['start dublab --source PATH|URL --source-lang L --target-lang L[,L…] --duration SECONDS [options]'],
  examples: [
    'start dublab --source ./talk.mp4 --source-lang en --target-lang es,de,ja --duration 42 \\',
    '    --output-type translated_mp4 --output-type translated_subtitle --wait --json',
  ],
  flags: {
    ...DUB_SOURCE_FLAGS,
    'target-lang': { kind: 'list', field: 'targetLanguages', commaSeparated: true, value: 'LANG[,LANG…]', description: 'languages to dub into' },
    'output-type': { kind: 'list', field: 'outputTypes', commaSeparated: true, value: 'TYPE', description: 'output to download (translated_mp4, translated_mp3, translated_subtitle, …)' },
    'check-credits': { kind: 'true', field: 'checkCredits', description: 'refuse to start when the credit balance is short' },
    name: { kind: 'string', field: 'name', value: 'NAME', description: 'display name at DubLab' },
  },
};

const edge: EdgeSpec<DublabPipelineParsed> = {
  files: (i) => [{ field: 'source', ref: i.source, set: (v) => (i.source = v) }],
  summary: (i, t) => `DubLab: ${t.refName(i.source)} ${i.sourceLanguage} → ${i.targetLanguages.join(', ')}`,
  keyHint: (i, t) => t.refName(i.source),
};

const estimate: CostEstimator = (input, est) => {
  const seconds = typeof input.durationSeconds === 'number' ? input.durationSeconds : 0;
  est.dublabCredits += dublabCredits(seconds, Array.isArray(input.targetLanguages) ? input.targetLanguages.length : 0);
};

export const dublabSpec = {
  workflowType: 'dublabPipeline',
  idPrefix: 'dublab',
  provider: 'dublab',
  title: 'DubLab',
  startable: true,
  batchItem: true,
  cost: 'estimated',
  estimate,
  pacedTaskQueue: false,
  cli,
  edge,
} as const satisfies PipelineEntry;
