import fs from 'node:fs';
import { UsageError, bool, list, num, pairs, str, type CommandSpec, type Parsed } from '../args';
import { note, print, printJson, withClient } from '../context';
import { printOutcome, outcomeJson } from './shared';

export const spec: CommandSpec = {
  name: 'start',
  summary: 'Validate an input and start a LipDub or DubLab pipeline.',
  usage: [
    'start lipdub --video PATH|URL --audio LANG=PATH|URL [--audio …] [options]',
    'start lipdub --shot-id N --audio-id LANG=ID [options]',
    'start dublab --source PATH|URL --source-lang L --target-lang L[,L…] --duration SECONDS [options]',
    'start lipdub|dublab --input input.json [flags that override its fields]',
  ],
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
    source: { type: 'string', value: 'PATH|URL', description: 'dublab: video to dub' },
    'source-lang': { type: 'string', value: 'LANG', description: 'dublab: language spoken in the source' },
    'target-lang': { type: 'string', multiple: true, value: 'LANG[,LANG…]', description: 'dublab: languages to dub into' },
    duration: { type: 'string', value: 'SECONDS', description: 'dublab: duration of the source' },
    'output-type': { type: 'string', multiple: true, value: 'TYPE', description: 'dublab: output to download (translated_mp4, translated_mp3, translated_subtitle, …)' },
    'check-credits': { type: 'boolean', description: 'dublab: refuse to start when the credit balance is short' },
    name: { type: 'string', value: 'NAME', description: 'dublab: display name at DubLab' },
    // both
    key: { type: 'string', value: 'KEY', description: 'Workflow id suffix (id = <pipeline>-<key>); default: source name + random' },
    'output-subdir': { type: 'string', value: 'DIR', description: "Subdirectory of the worker's output dir (default: the workflow id)" },
    'poll-initial': { type: 'string', value: 'SECONDS', description: 'First wait between status checks' },
    'poll-max': { type: 'string', value: 'SECONDS', description: 'Longest wait between status checks' },
    'deadline-minutes': { type: 'string', value: 'MIN', description: 'Fail the pipeline after this long' },
    'task-queue': { type: 'string', value: 'QUEUE', description: 'Task queue (default: REELAY_TASK_QUEUE or "reelay")' },
    wait: { type: 'boolean', description: 'Wait for the result, print it, and exit 0 only if it completed' },
    watch: { type: 'boolean', description: 'Show live progress until the pipeline closes (implies --wait)' },
    json: { type: 'boolean', description: 'Print JSON on stdout (progress, if watched, goes to stderr)' },
  },
  positionals: { min: 1, max: 1, names: 'the pipeline (lipdub or dublab)' },
  details: [
    'The input is validated before anything starts; a bad input exits 2 naming the field.',
    'Local paths are resolved against the current directory and must be readable by the worker.',
    '',
    'Examples:',
    '  reelay start lipdub --video ./talk.mp4 --audio es-MX=./es.mp3 --audio fr-FR=./fr.mp3 --watch',
    '  reelay start dublab --source ./talk.mp4 --source-lang en --target-lang es,de,ja --duration 42 \\',
    '      --output-type translated_mp4 --output-type translated_subtitle --wait --json',
  ],
};

const LIPDUB_ONLY = ['video', 'shot-id', 'audio', 'audio-id', 'no-maintain-expression', 'project-name', 'scene-name', 'actor-name'];
const DUBLAB_ONLY = ['source', 'source-lang', 'target-lang', 'duration', 'output-type', 'check-credits', 'name'];

function readInputFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--input: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
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

/** Flags over the input file's fields. Exported for tests of the mapping. */
export function buildInput(pipeline: 'lipdub' | 'dublab', values: Parsed['values']): Record<string, unknown> {
  const other = pipeline === 'lipdub' ? DUBLAB_ONLY : LIPDUB_ONLY;
  const misplaced = other.find((f) => values[f] !== undefined);
  if (misplaced) throw new UsageError(`--${misplaced} is not an option of ${pipeline} pipelines`);

  const inputFile = str(values, 'input');
  const input: Record<string, unknown> = inputFile ? readInputFile(inputFile) : {};
  const set = (field: string, value: unknown) => {
    if (value !== undefined) input[field] = value;
  };

  if (pipeline === 'lipdub') {
    const video = str(values, 'video');
    const shotId = str(values, 'shot-id');
    // Choosing the source by flag replaces the file's choice; giving both flags is left to the schema to refuse.
    if (video !== undefined && shotId === undefined) delete input.shotId;
    if (shotId !== undefined && video === undefined) delete input.video;
    set('video', video);
    set('shotId', shotId);
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
  } else {
    set('source', str(values, 'source'));
    set('sourceLanguage', str(values, 'source-lang'));
    set('targetLanguages', list(values, 'target-lang', { commaSeparated: true }));
    set('durationSeconds', num(values, 'duration'));
    set('outputTypes', list(values, 'output-type', { commaSeparated: true }));
    if (bool(values, 'check-credits')) input.checkCredits = true;
    set('name', str(values, 'name'));
  }

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
  if (pipeline !== 'lipdub' && pipeline !== 'dublab') throw new UsageError(`unknown pipeline "${pipeline}": expected lipdub or dublab`);
  const json = bool(values, 'json');
  const watch = bool(values, 'watch');
  const wait = watch || bool(values, 'wait');
  const raw = buildInput(pipeline, values);

  const { validatePipelineInput, startPipeline } = await import('../../client');
  const { taskQueue } = await import('../../config');
  // Before any connection: a bad input never reaches Temporal or a provider.
  validatePipelineInput(pipeline, raw);

  return withClient(async (client) => {
    const { WorkflowExecutionAlreadyStartedError } = await import('@temporalio/client');
    const key = str(values, 'key');
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
