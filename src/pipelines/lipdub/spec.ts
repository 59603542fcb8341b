import type { PollingConfig } from '../../contract/common';
import type { ExpectedDuration } from '../../contract/poll-schedule';
import type { EdgeSpec, PipelineEntry, StartCli } from '../spec';
import type { LipdubPipelineParsed } from './input';

/**
 * LipDub shots take 5–30 minutes (docs, "Common Issues"): the shot's first status call after the upload
 * comes at 5 min (in steps of at most 2 min), then every 8 % of the time waited; generations (no documented
 * duration) back off from 10 s to 2 min. A pipeline that has not finished in 6 h needs a person's look.
 */
export const LIPDUB_POLLING_DEFAULTS = {
  initialIntervalSeconds: 10,
  maxIntervalSeconds: 120,
  backoffCoefficient: 1.5,
  deadlineMinutes: 6 * 60,
  hints: true,
  timeScale: 1,
} as const satisfies PollingConfig;

/**
 * lipdub.md, "Common Issues": "Normal processing time: 5-30 minutes depending on video length"; AI
 * training follows, undocumented, so 5 min is a safe minimum of the whole wait. (Generations have no
 * documented duration: their waits run on backoff.)
 */
export const LIPDUB_SHOT_DURATION = { minMs: 5 * 60_000, maxMs: 30 * 60_000, source: 'LipDub docs: shots take 5–30 min' } as const satisfies ExpectedDuration;

const cli: StartCli = {
  usage: ['start lipdub --video PATH|URL --audio LANG=PATH|URL [--audio …] [options]', 'start lipdub --shot-id N --audio-id LANG=ID [options]'],
  examples: ['start lipdub --video ./talk.mp4 --audio es-MX=./es.mp3 --audio fr-FR=./fr.mp3 --watch'],
  flags: {
    video: { kind: 'string', field: 'video', replaces: 'shotId', value: 'PATH|URL', description: 'video to lip-sync' },
    'shot-id': { kind: 'string', field: 'shotId', replaces: 'video', value: 'N', description: 'reuse a shot LipDub already processed (instead of --video)' },
    audio: { kind: 'custom', type: 'string', multiple: true, value: 'LANG=PATH|URL', description: 'an audio and its language, e.g. es-MX=./es.mp3' },
    'audio-id': { kind: 'custom', type: 'string', multiple: true, value: 'LANG=ID', description: 'reuse an audio already uploaded to LipDub' },
    'no-maintain-expression': { kind: 'custom', type: 'boolean', description: "don't keep the actor's facial expression (all audios)" },
    'project-name': { kind: 'string', field: 'projectName', value: 'NAME', description: 'project name at LipDub' },
    'scene-name': { kind: 'string', field: 'sceneName', value: 'NAME', description: 'scene name at LipDub' },
    'actor-name': { kind: 'string', field: 'actorName', value: 'NAME', description: 'actor name at LipDub' },
  },
  apply(input, read) {
    const audios = read.pairs('audio', 'PATH|URL');
    const audioIds = read.pairs('audio-id', 'ID');
    if (audios || audioIds) {
      input.audios = [
        ...(audios ?? []).map(({ key, value }) => ({ source: value, language: key })),
        ...(audioIds ?? []).map(({ key, value }) => ({ audioId: value, language: key })),
      ];
    }
    if (read.bool('no-maintain-expression') && Array.isArray(input.audios)) {
      input.audios = input.audios.map((a: unknown) => (a && typeof a === 'object' ? { ...a, maintainExpression: false } : a));
    }
  },
};

const edge: EdgeSpec<LipdubPipelineParsed> = {
  files: (i) => [
    { field: 'video', ref: i.video, set: (v) => (i.video = v) },
    ...i.audios.map((a, n) => ({ field: `audios.${n}.source`, ref: a.source, set: (v: string) => (a.source = v) })),
  ],
  summary: (i, t) => `LipDub: ${i.video ? t.refName(i.video) : `shot ${i.shotId}`} → ${i.audios.map((a) => a.language).join(', ')}`,
  keyHint: (i, t) => (i.video ? t.refName(i.video) : `shot-${i.shotId}`),
};

export const lipdubSpec = {
  workflowType: 'lipdubPipeline',
  idPrefix: 'lipdub',
  provider: 'lipdub',
  title: 'LipDub',
  startable: true,
  batchItem: true,
  cost: 'unpriced',
  pacedTaskQueue: false,
  cli,
  edge,
} as const satisfies PipelineEntry;
