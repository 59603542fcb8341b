import type { PollingConfig } from '../../contract/common';
import type { ExpectedDuration } from '../../contract/poll-schedule';
import type { CostEstimator, EdgeSpec, PipelineEntry, StartCli } from '../spec';
import type { VividflowPipelineParsed } from './input';

/**
 * Jobs take ~2–5 min (the generate answer's estimated_wait_time): the first status call comes at the
 * estimate's lower end, then 10 s to 2 min apart as the job runs on; give up after 3 h.
 */
export const VIVIDFLOW_POLLING_DEFAULTS = {
  initialIntervalSeconds: 10,
  maxIntervalSeconds: 120,
  backoffCoefficient: 1.5,
  deadlineMinutes: 180,
  hints: true,
  timeScale: 1,
} as const satisfies PollingConfig;

/** vividflow.md, POST /generate: `estimated_wait_time: "~2-5 minutes"`; used when a job's own answer gives none. */
export const VIVIDFLOW_JOB_DURATION = { minMs: 2 * 60_000, maxMs: 5 * 60_000, source: 'Vivid Flow docs: ~2–5 min' } as const satisfies ExpectedDuration;

const cli: StartCli = {
  usage: ['start vividflow --prompt "…" --image PATH|--image-url URL [--model wan2.1|veo3.1] [model parameters] [options]'],
  examples: [
    'start vividflow --prompt "The cat turns its head" --image ./cat.png --cfg 9 --steps 40 --watch',
    'start vividflow --prompt "Waves roll in" --image-url gs://bucket/beach.jpg --model veo3.1 \\',
    '    --duration 8 --resolution 1080p --camera-motion "Pan (right)" --wait',
  ],
  flags: {
    prompt: { kind: 'string', field: 'prompt', value: 'TEXT', description: 'what the video should show' },
    model: { kind: 'string', field: 'model', value: 'MODEL', description: 'wan2.1 (default) or veo3.1' },
    image: { kind: 'string', field: 'imagePath', replaces: 'imageUrl', value: 'PATH', description: 'local image to animate (uploaded)' },
    'image-url': { kind: 'string', field: 'imageUrl', replaces: 'imagePath', value: 'URL', description: 'image by gs://bucket/path or https:// URL (instead of --image)' },
    // Wan 2.1
    'negative-prompt': { kind: 'string', field: 'negativePrompt', value: 'TEXT', description: '(wan2.1) what to avoid' },
    cfg: { kind: 'number', field: 'cfg', value: 'N', description: '(wan2.1) motion guidance scale 1–20 (default 7.5)' },
    width: { kind: 'number', field: 'width', value: 'PX', description: '(wan2.1) output width (default 1280)' },
    height: { kind: 'number', field: 'height', value: 'PX', description: '(wan2.1) output height (default 720)' },
    length: { kind: 'number', field: 'length', value: 'FRAMES', description: '(wan2.1) number of frames (default 81)' },
    steps: { kind: 'number', field: 'steps', value: 'N', description: '(wan2.1) diffusion steps (default 30)' },
    seed: { kind: 'number', field: 'seed', value: 'N', description: '(wan2.1) random seed (default 42)' },
    // Veo 3.1
    duration: { kind: 'number', field: 'durationSeconds', value: 'SECONDS', description: '(veo3.1) video length 4, 6 or 8' },
    resolution: { kind: 'string', field: 'resolution', value: '720p|1080p', description: '(veo3.1) output resolution (default 720p)' },
    'camera-motion': { kind: 'string', field: 'cameraMotion', value: 'TEXT', description: '(veo3.1) camera movement, e.g. "Pan (right)"' },
    'subject-animation': { kind: 'string', field: 'subjectAnimation', value: 'TEXT', description: '(veo3.1) subject motion' },
    'environmental-animation': { kind: 'string', field: 'environmentalAnimation', value: 'TEXT', description: '(veo3.1) environmental effects' },
    'enhance-prompt': { kind: 'true', field: 'enhancePrompt', description: '(veo3.1) let the provider enhance the prompt' },
    'output-name': { kind: 'string', field: 'outputName', value: 'FILE', description: 'name of the delivered file (default video.mp4)' },
  },
};

const edge: EdgeSpec<VividflowPipelineParsed> = {
  files: (i) => [{ field: 'imagePath', ref: i.imagePath, set: (v) => (i.imagePath = v) }],
  summary: (i, t) => `Vivid Flow ${i.model ?? 'wan2.1'}: ${t.oneLine(i.prompt, 60)}`,
  keyHint: (i) => i.prompt.slice(0, 30),
};

/** Vivid Flow takes one credit per accepted generate (`credits_remaining` in /usage). */
const estimate: CostEstimator = (_input, est) => {
  est.vividflowCredits += 1;
};

export const vividflowSpec = {
  workflowType: 'vividflowPipeline',
  idPrefix: 'vividflow',
  provider: 'vividflow',
  title: 'Vivid Flow',
  startable: true,
  batchItem: true,
  cost: 'estimated',
  estimate,
  pacedTaskQueue: true,
  /** Per API key (docs): 500 requests per hour and 2000 per day. */
  limits: { requestsPerHour: 500, requestsPerDay: 2000 },
  cli,
  edge,
} as const satisfies PipelineEntry;
