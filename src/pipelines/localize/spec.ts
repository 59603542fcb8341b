import type { CostEstimator, EdgeSpec, PipelineEntry, StartCli } from '../spec';
import { DUB_SOURCE_FLAGS, dublabCredits } from '../dublab/spec';
import type { LocalizePipelineParsed } from './input';

const cli: StartCli = {
  usage: [
    'start localize --source PATH|URL --source-lang L --target-lang L[,L…] --duration SECONDS [--no-subtitles] [options]',
    "start localize --input rerun.json   (a re-run input from a failed run's details, or one with a generate step)",
  ],
  flags: {
    ...DUB_SOURCE_FLAGS,
    'target-lang': { kind: 'list', field: 'targetLanguages', commaSeparated: true, value: 'LANG[,LANG…]', description: 'languages to dub and lip-sync into' },
    'shot-id': { kind: 'string', field: 'shotId', value: 'N', description: 'reuse a LipDub shot of this source (a re-run)' },
    'no-subtitles': { kind: 'false', field: 'subtitles', description: "don't deliver DubLab's subtitles" },
    'no-maintain-expression': { kind: 'false', field: 'maintainExpression', description: "don't keep the actor's facial expression" },
  },
};

const edge: EdgeSpec<LocalizePipelineParsed> = {
  files: (i, nested) => [
    { field: 'source', ref: i.source, set: (v) => (i.source = v) },
    ...Object.entries(i.dubbedAudio ?? {}).map(([lang, ref]) => ({ field: `dubbedAudio.${lang}`, ref, set: (v: string) => (i.dubbedAudio![lang] = v) })),
    ...(i.generate ? nested(i.generate.pipeline, i.generate.input, 'generate.input') : []),
  ],
  summary: (i, t) => `Localize ${i.source ? t.refName(i.source) : `a ${i.generate!.pipeline} video`} ${i.sourceLanguage} → ${i.targetLanguages.join(', ')}`,
  keyHint: (i, t) => (i.source ? t.refName(i.source) : i.generate!.pipeline),
};

/** DubLab's credits for the languages not reused from a previous run, plus the generate step's own cost. */
const estimate: CostEstimator = (input, est, estimateRun) => {
  const seconds = typeof input.durationSeconds === 'number' ? input.durationSeconds : 0;
  const targets = Array.isArray(input.targetLanguages) ? input.targetLanguages.length : 0;
  const reused = input.dubbedAudio && typeof input.dubbedAudio === 'object' ? Object.keys(input.dubbedAudio).length : 0;
  est.dublabCredits += dublabCredits(seconds, Math.max(0, targets - reused));
  const step = input.generate as { pipeline?: unknown; input?: Record<string, unknown> } | undefined;
  if (step) estimateRun(step.pipeline, step.input ?? {});
};

export const localizeSpec = {
  workflowType: 'localizePipeline',
  idPrefix: 'localize',
  provider: 'localize',
  title: 'localize',
  startable: true,
  batchItem: true,
  cost: 'estimated',
  estimate,
  pacedTaskQueue: false,
  cli,
  edge,
} as const satisfies PipelineEntry;
