import { UsageError, bool, list, num, pairs, str, type CommandSpec, type Parsed } from '../args';
import { note, print, printJson, withClient } from '../context';
import { printOutcome, outcomeJson } from './shared';
import { PIPELINES, STARTABLE_PIPELINES, isStartablePipeline, type StartablePipelineId } from '../../pipelines/registry';
import { WORKFLOW_KEY_PATTERN } from '../../contract/common';
import { readUtf8File, textFileProblem } from '../../client/text';

/** The pipelines `reelay start` knows: the registry's startable ones, in its order. */
export const START_PIPELINES = STARTABLE_PIPELINES;
export type StartPipeline = StartablePipelineId;

/** How each pipeline is started from flags; the help lists them in the registry's order. */
const PIPELINE_USAGE: Record<StartPipeline, readonly string[]> = {
  lipdub: ['start lipdub --video PATH|URL --audio LANG=PATH|URL [--audio …] [options]', 'start lipdub --shot-id N --audio-id LANG=ID [options]'],
  dublab: ['start dublab --source PATH|URL --source-lang L --target-lang L[,L…] --duration SECONDS [options]'],
  text2video: ['start text2video --text "…"|--text-file PATH [--max-resubmits N] [options]'],
  vividflow: ['start vividflow --prompt "…" --image PATH|--image-url URL [--model wan2.1|veo3.1] [model parameters] [options]'],
  aistudio: ['start aistudio --prompt "…"|--initial-image PATH [--model M] [--mock-mode] [--reference-image PATH …] [options]'],
  localize: [
    'start localize --source PATH|URL --source-lang L --target-lang L[,L…] --duration SECONDS [--no-subtitles] [options]',
    "start localize --input rerun.json   (a re-run input from a failed run's details, or one with a generate step)",
  ],
};

const titles = START_PIPELINES.map((p) => PIPELINES[p].title);

export const spec: CommandSpec = {
  name: 'start',
  summary: `Validate an input and start a ${titles.slice(0, -1).join(', ')} or ${titles[titles.length - 1]} pipeline.`,
  usage: [...START_PIPELINES.flatMap((p) => PIPELINE_USAGE[p]), 'start <pipeline> --input input.json [flags that override its fields]'],
  options: {
    input: { type: 'string', value: 'FILE', description: 'Read the input from a JSON file; flags override its fields' },
    // lipdub
    video: { type: 'string', value: 'PATH|URL', description: 'lipdub: video to lip-sync' },
    'shot-id': { type: 'string', value: 'N', description: 'lipdub: reuse a shot LipDub already processed (instead of --video)' },
    audio: { type: 'string', multiple: true, value: 'LANG=PATH|URL', description: 'lipdub: an audio and its language, e.g. es-MX=./es.mp3' },
    'audio-id': { type: 'string', multiple: true, value: 'LANG=ID', description: 'lipdub: reuse an audio already uploaded to LipDub' },
    'no-maintain-expression': { type: 'boolean', description: "lipdub: don't keep the actor's facial expression (all audios)" },
    'project-name': { type: 'string', value: 'NAME', description: 'lipdub: project name at LipDub' },
    'scene-name': { type: 'string', value: 'NAME', description: 'lipdub: scene name at LipDub' },
    'actor-name': { type: 'string', value: 'NAME', description: 'lipdub: actor name at LipDub' },
    // dublab
    source: { type: 'string', value: 'PATH|URL', description: 'dublab, localize: the source video' },
    'source-lang': { type: 'string', value: 'LANG', description: 'dublab, localize: language spoken in the source' },
    'target-lang': { type: 'string', multiple: true, value: 'LANG[,LANG…]', description: 'dublab, localize: languages to dub (and lip-sync) into' },
    duration: {
      type: 'string',
      value: 'SECONDS',
      description: 'dublab: duration of the source; vividflow (veo3.1): video length 4, 6 or 8; aistudio: 4 or 8',
    },
    'output-type': { type: 'string', multiple: true, value: 'TYPE', description: 'dublab: output to download (translated_mp4, translated_mp3, translated_subtitle, …)' },
    'check-credits': { type: 'boolean', description: 'dublab: refuse to start when the credit balance is short' },
    'no-subtitles': { type: 'boolean', description: "localize: don't deliver DubLab's subtitles" },
    name: { type: 'string', value: 'NAME', description: 'dublab: display name at DubLab' },
    // text2video
    text: { type: 'string', value: 'TEXT', description: 'text2video: the story or text to turn into a video' },
    'text-file': { type: 'string', value: 'PATH', description: 'text2video: read the text from this file (instead of --text)' },
    'max-resubmits': { type: 'string', value: 'N', description: 'text2video: resubmit a job the server forgot at most N times (0–10, default 3)' },
    // vividflow and aistudio
    prompt: { type: 'string', value: 'TEXT', description: 'vividflow, aistudio: what the video should show' },
    model: {
      type: 'string',
      value: 'MODEL',
      description: 'vividflow: wan2.1 (default) or veo3.1; aistudio: model name (default veo-3.1-fast-generate-preview)',
    },
    resolution: { type: 'string', value: '720p|1080p', description: 'vividflow (veo3.1), aistudio: output resolution (default 720p)' },
    // vividflow
    image: { type: 'string', value: 'PATH', description: 'vividflow: local image to animate (uploaded)' },
    'image-url': { type: 'string', value: 'URL', description: 'vividflow: image by gs://bucket/path or https:// URL (instead of --image)' },
    'negative-prompt': { type: 'string', value: 'TEXT', description: 'vividflow (wan2.1): what to avoid' },
    cfg: { type: 'string', value: 'N', description: 'vividflow (wan2.1): motion guidance scale 1–20 (default 7.5)' },
    width: { type: 'string', value: 'PX', description: 'vividflow (wan2.1): output width (default 1280)' },
    height: { type: 'string', value: 'PX', description: 'vividflow (wan2.1): output height (default 720)' },
    length: { type: 'string', value: 'FRAMES', description: 'vividflow (wan2.1): number of frames (default 81)' },
    steps: { type: 'string', value: 'N', description: 'vividflow (wan2.1): diffusion steps (default 30)' },
    seed: { type: 'string', value: 'N', description: 'vividflow (wan2.1): random seed (default 42)' },
    'camera-motion': { type: 'string', value: 'TEXT', description: 'vividflow (veo3.1): camera movement, e.g. "Pan (right)"' },
    'subject-animation': { type: 'string', value: 'TEXT', description: 'vividflow (veo3.1): subject motion' },
    'environmental-animation': { type: 'string', value: 'TEXT', description: 'vividflow (veo3.1): environmental effects' },
    'enhance-prompt': { type: 'boolean', description: 'vividflow (veo3.1): let the provider enhance the prompt' },
    // aistudio
    'aspect-ratio': { type: 'string', value: '16:9|9:16', description: 'aistudio: aspect ratio (default 16:9)' },
    'mock-mode': { type: 'boolean', description: "aistudio: the provider's test mode (no Veo call, still 50 tokens)" },
    'generate-audio': { type: 'boolean', description: 'aistudio: generate audio with the video' },
    'initial-image': { type: 'string', value: 'PATH', description: 'aistudio: local image for the first frame' },
    'end-frame': { type: 'string', value: 'PATH', description: 'aistudio: local image for the last frame' },
    'reference-image': { type: 'string', multiple: true, value: 'PATH', description: 'aistudio: local reference image (at most 3)' },
    // text2video, vividflow and aistudio
    'output-name': { type: 'string', value: 'FILE', description: 'text2video, vividflow, aistudio: name of the delivered file (default video.mp4)' },
    // all
    key: { type: 'string', value: 'KEY', description: 'Workflow id suffix (id = <pipeline>-<key>); default: from the source name, text or prompt + random' },
    'output-subdir': { type: 'string', value: 'DIR', description: "Subdirectory of the worker's output dir (default: the workflow id)" },
    'poll-initial': { type: 'string', value: 'SECONDS', description: 'First wait between status checks' },
    'poll-max': { type: 'string', value: 'SECONDS', description: 'Longest wait between status checks' },
    'deadline-minutes': { type: 'string', value: 'MIN', description: 'Fail the pipeline after this long' },
    'task-queue': { type: 'string', value: 'QUEUE', description: 'Task queue (default: REELAY_TASK_QUEUE or "reelay")' },
    wait: { type: 'boolean', description: 'Wait for the result, print it, and exit 0 only if it completed' },
    watch: { type: 'boolean', description: 'Show live progress until the pipeline closes (implies --wait)' },
    json: { type: 'boolean', description: 'Print JSON on stdout (progress, if watched, goes to stderr)' },
  },
  positionals: { min: 1, max: 1, names: `the pipeline (${START_PIPELINES.join(', ')})` },
  details: [
    'The input is validated before anything starts; a bad input exits 2 naming the field.',
    'Local paths are resolved against the current directory and must be readable by the worker.',
    'Each provider-specific flag applies only to the pipelines its description names.',
    '',
    'Examples:',
    '  reelay start lipdub --video ./talk.mp4 --audio es-MX=./es.mp3 --audio fr-FR=./fr.mp3 --watch',
    '  reelay start dublab --source ./talk.mp4 --source-lang en --target-lang es,de,ja --duration 42 \\',
    '      --output-type translated_mp4 --output-type translated_subtitle --wait --json',
    '  reelay start text2video --text-file ./story.txt --watch',
    '  reelay start vividflow --prompt "The cat turns its head" --image ./cat.png --cfg 9 --steps 40 --watch',
    '  reelay start vividflow --prompt "Waves roll in" --image-url gs://bucket/beach.jpg --model veo3.1 \\',
    '      --duration 8 --resolution 1080p --camera-motion "Pan (right)" --wait',
    '  reelay start aistudio --prompt "A paper boat on a rainy street" --duration 8 --aspect-ratio 9:16 \\',
    '      --reference-image ./boat.png --generate-audio --watch',
  ],
};

/** Flags that only some pipelines take; every other flag applies to all. */
const PIPELINE_FLAGS: Record<StartPipeline, readonly string[]> = {
  lipdub: ['video', 'shot-id', 'audio', 'audio-id', 'no-maintain-expression', 'project-name', 'scene-name', 'actor-name'],
  dublab: ['source', 'source-lang', 'target-lang', 'duration', 'output-type', 'check-credits', 'name'],
  text2video: ['text', 'text-file', 'max-resubmits', 'output-name'],
  vividflow: [
    'prompt', 'model', 'resolution', 'image', 'image-url', 'negative-prompt', 'cfg', 'width', 'height', 'length', 'steps', 'seed',
    'duration', 'camera-motion', 'subject-animation', 'environmental-animation', 'enhance-prompt', 'output-name',
  ],
  aistudio: [
    'prompt', 'model', 'resolution', 'aspect-ratio', 'duration', 'mock-mode', 'generate-audio', 'initial-image', 'end-frame',
    'reference-image', 'output-name',
  ],
  localize: ['source', 'source-lang', 'target-lang', 'duration', 'shot-id', 'no-subtitles', 'no-maintain-expression'],
};
const SPECIFIC_FLAGS = new Set(Object.values(PIPELINE_FLAGS).flat());

export function isStartPipeline(name: string | undefined): name is StartPipeline {
  return isStartablePipeline(name);
}

function readInputFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readUtf8File(file);
  } catch (err) {
    throw new UsageError(`--input: ${textFileProblem(file, err)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--input: ${file} is not valid JSON (${(err as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new UsageError(`--input: ${file} must contain a JSON object`);
  return value as Record<string, unknown>;
}

function readTextFile(file: string): string {
  try {
    return readUtf8File(file);
  } catch (err) {
    throw new UsageError(`--text-file: ${textFileProblem(file, err)}`);
  }
}

/** Flags over the input file's fields. Exported for tests of the mapping. */
export function buildInput(pipeline: StartPipeline, values: Parsed['values']): Record<string, unknown> {
  const own = new Set(PIPELINE_FLAGS[pipeline]);
  const misplaced = [...SPECIFIC_FLAGS].find((f) => !own.has(f) && values[f] !== undefined);
  if (misplaced) throw new UsageError(`--${misplaced} is not an option of ${pipeline} pipelines`);

  const inputFile = str(values, 'input');
  const input: Record<string, unknown> = inputFile ? readInputFile(inputFile) : {};
  const set = (field: string, value: unknown) => {
    if (value !== undefined) input[field] = value;
  };
  /** Choosing one of two exclusive fields by flag replaces the file's choice; giving both flags is left to the schema to refuse. */
  const choose = (flagA: string, fieldA: string, flagB: string, fieldB: string) => {
    const a = str(values, flagA);
    const b = str(values, flagB);
    if (a !== undefined && b === undefined) delete input[fieldB];
    if (b !== undefined && a === undefined) delete input[fieldA];
    set(fieldA, a);
    set(fieldB, b);
  };
  const flagTrue = (flag: string, field: string) => {
    if (bool(values, flag)) input[field] = true;
  };

  switch (pipeline) {
    case 'lipdub': {
      choose('video', 'video', 'shot-id', 'shotId');
      const audios = pairs(values, 'audio', 'PATH|URL');
      const audioIds = pairs(values, 'audio-id', 'ID');
      if (audios || audioIds) {
        input.audios = [
          ...(audios ?? []).map(({ key, value }) => ({ source: value, language: key })),
          ...(audioIds ?? []).map(({ key, value }) => ({ audioId: value, language: key })),
        ];
      }
      if (bool(values, 'no-maintain-expression') && Array.isArray(input.audios)) {
        input.audios = input.audios.map((a: unknown) => (a && typeof a === 'object' ? { ...a, maintainExpression: false } : a));
      }
      set('projectName', str(values, 'project-name'));
      set('sceneName', str(values, 'scene-name'));
      set('actorName', str(values, 'actor-name'));
      break;
    }
    case 'dublab':
      set('source', str(values, 'source'));
      set('sourceLanguage', str(values, 'source-lang'));
      set('targetLanguages', list(values, 'target-lang', { commaSeparated: true }));
      set('durationSeconds', num(values, 'duration'));
      set('outputTypes', list(values, 'output-type', { commaSeparated: true }));
      flagTrue('check-credits', 'checkCredits');
      set('name', str(values, 'name'));
      break;
    case 'localize':
      set('source', str(values, 'source'));
      set('sourceLanguage', str(values, 'source-lang'));
      set('targetLanguages', list(values, 'target-lang', { commaSeparated: true }));
      set('durationSeconds', num(values, 'duration'));
      set('shotId', str(values, 'shot-id'));
      if (bool(values, 'no-subtitles')) input.subtitles = false;
      if (bool(values, 'no-maintain-expression')) input.maintainExpression = false;
      break;
    case 'text2video': {
      const text = str(values, 'text');
      const textFile = str(values, 'text-file');
      if (text !== undefined && textFile !== undefined) throw new UsageError('--text and --text-file: give one of them, not both');
      set('text', textFile !== undefined ? readTextFile(textFile) : text);
      set('maxResubmits', num(values, 'max-resubmits'));
      break;
    }
    case 'vividflow':
      set('prompt', str(values, 'prompt'));
      choose('image', 'imagePath', 'image-url', 'imageUrl');
      set('model', str(values, 'model'));
      // Wan 2.1
      set('negativePrompt', str(values, 'negative-prompt'));
      set('cfg', num(values, 'cfg'));
      set('width', num(values, 'width'));
      set('height', num(values, 'height'));
      set('length', num(values, 'length'));
      set('steps', num(values, 'steps'));
      set('seed', num(values, 'seed'));
      // Veo 3.1
      set('durationSeconds', num(values, 'duration'));
      set('resolution', str(values, 'resolution'));
      set('cameraMotion', str(values, 'camera-motion'));
      set('subjectAnimation', str(values, 'subject-animation'));
      set('environmentalAnimation', str(values, 'environmental-animation'));
      flagTrue('enhance-prompt', 'enhancePrompt');
      break;
    case 'aistudio':
      set('prompt', str(values, 'prompt'));
      set('model', str(values, 'model'));
      set('resolution', str(values, 'resolution'));
      set('aspectRatio', str(values, 'aspect-ratio'));
      set('durationSeconds', num(values, 'duration'));
      flagTrue('mock-mode', 'mockMode');
      flagTrue('generate-audio', 'generateAudio');
      set('initialImage', str(values, 'initial-image'));
      set('endFrame', str(values, 'end-frame'));
      set('referenceImages', list(values, 'reference-image'));
      break;
  }

  set('outputName', str(values, 'output-name'));
  set('outputSubdir', str(values, 'output-subdir'));
  const polling = {
    initialIntervalSeconds: num(values, 'poll-initial'),
    maxIntervalSeconds: num(values, 'poll-max'),
    deadlineMinutes: num(values, 'deadline-minutes'),
  };
  if (Object.values(polling).some((v) => v !== undefined)) {
    const base = input.polling && typeof input.polling === 'object' ? (input.polling as Record<string, unknown>) : {};
    input.polling = { ...base, ...Object.fromEntries(Object.entries(polling).filter(([, v]) => v !== undefined)) };
  }
  return input;
}

export async function run({ values, positionals }: Parsed): Promise<number> {
  const pipeline = positionals[0];
  if (!isStartPipeline(pipeline)) throw new UsageError(`unknown pipeline "${pipeline}": expected one of ${START_PIPELINES.join(', ')}`);
  const json = bool(values, 'json');
  const watch = bool(values, 'watch');
  const wait = watch || bool(values, 'wait');
  const key = str(values, 'key');
  if (key !== undefined && !WORKFLOW_KEY_PATTERN.test(key)) {
    throw new UsageError('--key: must be 1–100 letters, digits, ".", "_" or "-", starting with a letter or digit');
  }
  const raw = buildInput(pipeline, values);

  const { validatePipelineInput, startPipeline } = await import('../../client');
  const { taskQueue } = await import('../../config');
  // Before any connection: a bad input never reaches Temporal or a provider.
  validatePipelineInput(pipeline, raw);

  return withClient(async (client) => {
    const { WorkflowExecutionAlreadyStartedError } = await import('@temporalio/client');
    let started;
    try {
      started = await startPipeline(client, pipeline, raw, { key, taskQueue: str(values, 'task-queue') ?? taskQueue() });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        throw new UsageError(`--key: a workflow with id ${err.workflowId} already exists (running or completed); choose another key`);
      }
      throw err;
    }
    const ids = { workflowId: started.workflowId, runId: started.runId, uiUrl: started.uiUrl };
    if (!wait) {
      if (json) printJson(ids);
      else {
        print(`Started ${started.workflowId} (run ${started.runId})`);
        print(`  Temporal UI: ${started.uiUrl}`);
        print(`  Follow it:   reelay watch ${started.workflowId}`);
      }
      return 0;
    }
    if (!json) {
      print(`Started ${started.workflowId}`);
      print(`  Temporal UI: ${started.uiUrl}`);
    }
    const { awaitOutcome, watchWorkflows } = await import('../pipelines');
    const t0 = Date.now();
    if (!watch && !json) note('Waiting for the result…');
    const outcome = watch
      ? (await watchWorkflows(client, [{ handle: started.handle }], { stream: json ? process.stderr : process.stdout, logLines: 3 }))[0]!
      : await awaitOutcome(started.handle);
    if (json) printJson({ ...ids, ...outcomeJson(outcome) });
    else printOutcome(started.workflowId, outcome, Date.now() - t0);
    return outcome.status === 'COMPLETED' ? 0 : 1;
  });
}
