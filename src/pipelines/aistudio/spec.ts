import type { PollingConfig } from '../../contract/common';
import type { ExpectedDuration } from '../../contract/poll-schedule';
import type { CostEstimator, EdgeSpec, PipelineEntry, StartCli } from '../spec';
import type { AistudioPipelineParsed } from './input';

/**
 * Veo jobs take 3–10 min (docs); the waits follow the job's progress rate, 10 s to 2 min apart (plain
 * backoff 10 s × 1.5 to 2 min before the first reading); give up after 3 h.
 */
export const AISTUDIO_POLLING_DEFAULTS = {
  initialIntervalSeconds: 10,
  maxIntervalSeconds: 120,
  backoffCoefficient: 1.5,
  deadlineMinutes: 180,
  hints: true,
  timeScale: 1,
} as const satisfies PollingConfig;

/** Waiting for one of the user's 3 concurrent slots: 15 s → 2 min between tries. */
export const AISTUDIO_SLOT_WAIT_DEFAULTS = { initialSeconds: 15, maxSeconds: 120 } as const;

/** aistudio.md, "Performance Considerations": "Generation Time: 3-10 minutes per video". */
export const AISTUDIO_JOB_DURATION = { minMs: 3 * 60_000, maxMs: 10 * 60_000, source: 'AI Studio docs: 3–10 min per video' } as const satisfies ExpectedDuration;

/** Tokens taken at creation (docs), mock mode included. */
export const AISTUDIO_JOB_COST_TOKENS = 50;

const cli: StartCli = {
  usage: ['start aistudio --prompt "…"|--initial-image PATH [--model M] [--mock-mode] [--reference-image PATH …] [options]'],
  examples: [
    'start aistudio --prompt "A paper boat on a rainy street" --duration 8 --aspect-ratio 9:16 \\',
    '    --reference-image ./boat.png --generate-audio --watch',
  ],
  flags: {
    prompt: { kind: 'string', field: 'prompt', value: 'TEXT', description: 'what the video should show' },
    model: { kind: 'string', field: 'model', value: 'MODEL', description: 'model name (default veo-3.1-fast-generate-preview)' },
    resolution: { kind: 'string', field: 'resolution', value: '720p|1080p', description: 'output resolution (default 720p)' },
    'aspect-ratio': { kind: 'string', field: 'aspectRatio', value: '16:9|9:16', description: 'aspect ratio (default 16:9)' },
    duration: { kind: 'number', field: 'durationSeconds', value: 'SECONDS', description: '4 or 8' },
    'mock-mode': { kind: 'true', field: 'mockMode', description: `the provider's test mode (no Veo call, still ${AISTUDIO_JOB_COST_TOKENS} tokens)` },
    'generate-audio': { kind: 'true', field: 'generateAudio', description: 'generate audio with the video' },
    'initial-image': { kind: 'string', field: 'initialImage', value: 'PATH', description: 'local image for the first frame' },
    'end-frame': { kind: 'string', field: 'endFrame', value: 'PATH', description: 'local image for the last frame' },
    'reference-image': { kind: 'list', field: 'referenceImages', value: 'PATH', description: 'local reference image (at most 3)' },
    'output-name': { kind: 'string', field: 'outputName', value: 'FILE', description: 'name of the delivered file (default video.mp4)' },
  },
};

const edge: EdgeSpec<AistudioPipelineParsed> = {
  files: (i) => [
    { field: 'initialImage', ref: i.initialImage, set: (v) => (i.initialImage = v) },
    { field: 'endFrame', ref: i.endFrame, set: (v) => (i.endFrame = v) },
    ...(i.referenceImages ?? []).map((ref, n) => ({ field: `referenceImages.${n}`, ref, set: (v: string) => (i.referenceImages![n] = v) })),
  ],
  summary: (i, t) => `AI Studio ${i.model}: ${i.prompt ? t.oneLine(i.prompt, 60) : 'from an image'}`,
  keyHint: (i) => (i.prompt ?? 'image').slice(0, 30),
};

const estimate: CostEstimator = (_input, est) => {
  est.aistudioTokens += AISTUDIO_JOB_COST_TOKENS;
};

export const aistudioSpec = {
  workflowType: 'aistudioPipeline',
  idPrefix: 'aistudio',
  provider: 'aistudio',
  title: 'AI Studio',
  startable: true,
  batchItem: true,
  cost: 'estimated',
  estimate,
  pacedTaskQueue: false,
  /** Per user (docs): 3 jobs PENDING or RUNNING at once; a fourth create is refused with a 429. */
  limits: { maxConcurrentJobs: 3 },
  cli,
  edge,
} as const satisfies PipelineEntry;
