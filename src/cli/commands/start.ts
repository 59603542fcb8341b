import { CliError, UsageError, bool, list, num, pairs, str, type CommandSpec, type OptionSpec, type Parsed } from '../args';
import { note, print, printJson, withClient } from '../context';
import { printOutcome, outcomeJson } from './shared';
import { PIPELINES, STARTABLE_PIPELINES, isStartablePipeline, type StartablePipelineId } from '../../pipelines/registry';
import type { StartCli, StartFlag } from '../../pipelines/spec';
import { WORKFLOW_KEY_PATTERN } from '../../contract/common';
import { readUtf8File, textFileProblem } from '../../client/text';

/** The pipelines `reelay start` knows: the registry's startable ones, in its order. */
export const START_PIPELINES = STARTABLE_PIPELINES;
export type StartPipeline = StartablePipelineId;

type Flags = Readonly<Record<string, StartFlag>>;
const cliOf = (p: StartPipeline): StartCli => PIPELINES[p].cli;

/**
 * Every pipeline's flags as one option table: a flag several pipelines take (`--source`, `--duration`)
 * appears once, its description naming each pipeline's meaning. Pipelines must agree on a shared flag's
 * type, or the CLI refuses to load.
 */
function pipelineOptions(): Record<string, OptionSpec> {
  const byFlag = new Map<string, { option: OptionSpec; uses: Array<{ pipeline: string; description: string }> }>();
  for (const p of START_PIPELINES) {
    for (const [name, flag] of Object.entries(cliOf(p).flags as Flags)) {
      const option = optionOf(flag);
      const seen = byFlag.get(name);
      if (seen && (seen.option.type !== option.type || !!seen.option.multiple !== !!option.multiple)) {
        throw new Error(`reelay start: --${name} is a ${option.type} flag for ${p} but not for ${seen.uses.map((u) => u.pipeline).join(', ')}`);
      }
      const entry = seen ?? { option, uses: [] };
      entry.uses.push({ pipeline: p, description: flag.description });
      byFlag.set(name, entry);
    }
  }
  return Object.fromEntries(
    [...byFlag].map(([name, { option, uses }]) => {
      // Pipelines that say the same thing share one clause: "dublab, localize: the source video".
      const clauses = new Map<string, string[]>();
      for (const u of uses) clauses.set(u.description, [...(clauses.get(u.description) ?? []), u.pipeline]);
      const description = [...clauses].map(([text, ps]) => `${ps.join(', ')}: ${text}`).join('; ');
      return [name, { ...option, description }];
    }),
  );
}

function optionOf(flag: StartFlag): OptionSpec {
  const value = flag.value !== undefined ? { value: flag.value } : {};
  switch (flag.kind) {
    case 'true':
    case 'false':
      return { type: 'boolean', description: flag.description };
    case 'list':
      return { type: 'string', multiple: true, ...value, description: flag.description };
    case 'custom':
      return { type: flag.type, ...(flag.multiple ? { multiple: true } : {}), ...value, description: flag.description };
    default:
      return { type: 'string', ...value, description: flag.description };
  }
}

const titles = START_PIPELINES.map((p) => PIPELINES[p].title);

export const spec: CommandSpec = {
  name: 'start',
  summary: `Validate an input and start a ${titles.slice(0, -1).join(', ')} or ${titles[titles.length - 1]} pipeline.`,
  usage: [...START_PIPELINES.flatMap((p) => cliOf(p).usage), 'start <pipeline> --input input.json [flags that override its fields]'],
  options: {
    input: { type: 'string', value: 'FILE', description: 'Read the input from a JSON file; flags override its fields' },
    ...pipelineOptions(),
    // all
    key: { type: 'string', value: 'KEY', description: 'Workflow id suffix (id = <pipeline>-<key>); default: from the source name, text or prompt + random. Starting again with a key taken by a running or completed run of the same input prints that run and exits 0; another input is refused (exit 2)' },
    'output-subdir': { type: 'string', value: 'DIR', description: "Subdirectory of the worker's output dir (default: the workflow id)" },
    'poll-initial': { type: 'string', value: 'SECONDS', description: 'First wait between status checks' },
    'poll-max': { type: 'string', value: 'SECONDS', description: 'Longest wait between status checks' },
    'deadline-minutes': { type: 'string', value: 'MIN', description: 'Fail the pipeline after this long' },
    priority: { type: 'string', value: 'N', description: 'Priority for provider job slots and Temporal tasks: 1 (highest) to 5 (lowest); default 3' },
    caller: { type: 'string', value: 'NAME', description: 'Who the run is for (tenant, team, service): job slots go round-robin across callers within a priority' },
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
    // An example line starts with `start`; the lines that continue it are indented.
    ...START_PIPELINES.flatMap((p) => (cliOf(p).examples ?? []).map((line) => (line.startsWith('start ') ? `  reelay ${line}` : `  ${line}`))),
  ],
};

/** Flags that only some pipelines take (their specs'); every other flag applies to all. */
const SPECIFIC_FLAGS = new Set(START_PIPELINES.flatMap((p) => Object.keys(cliOf(p).flags)));

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

function readTextFile(flag: string, file: string): string {
  try {
    return readUtf8File(file);
  } catch (err) {
    throw new UsageError(`--${flag}: ${textFileProblem(file, err)}`);
  }
}

/** Flags over the input file's fields. Exported for tests of the mapping. */
export function buildInput(pipeline: StartPipeline, values: Parsed['values']): Record<string, unknown> {
  const cli = cliOf(pipeline);
  const own: Flags = cli.flags;
  const misplaced = [...SPECIFIC_FLAGS].find((f) => !(f in own) && values[f] !== undefined);
  if (misplaced) throw new UsageError(`--${misplaced} is not an option of ${pipeline} pipelines`);

  const inputFile = str(values, 'input');
  const input: Record<string, unknown> = inputFile ? readInputFile(inputFile) : {};
  const set = (field: string, value: unknown) => {
    if (value !== undefined) input[field] = value;
  };
  const given = (flag: string) => values[flag] !== undefined;

  for (const [name, flag] of Object.entries(own)) {
    switch (flag.kind) {
      case 'string': {
        const value = str(values, name);
        // Choosing one of two exclusive fields by flag replaces the file's choice; giving both flags is left to the schema to refuse.
        const other = flag.replaces !== undefined ? Object.entries(own).find(([, f]) => 'field' in f && f.field === flag.replaces)?.[0] : undefined;
        if (value !== undefined && flag.replaces !== undefined && !(other !== undefined && given(other))) delete input[flag.replaces];
        set(flag.field, value);
        break;
      }
      case 'number':
        set(flag.field, num(values, name));
        break;
      case 'list':
        set(flag.field, list(values, name, { commaSeparated: flag.commaSeparated ?? false }));
        break;
      case 'true':
        if (bool(values, name)) input[flag.field] = true;
        break;
      case 'false':
        if (bool(values, name)) input[flag.field] = false;
        break;
      case 'custom':
        break;
    }
  }
  cli.apply?.(input, {
    str: (flag) => str(values, flag),
    num: (flag) => num(values, flag),
    bool: (flag) => bool(values, flag),
    pairs: (flag, valueName) => pairs(values, flag, valueName),
    readTextFile,
    usageError: (message) => new UsageError(message),
  });

  set('outputSubdir', str(values, 'output-subdir'));
  set('priority', num(values, 'priority'));
  set('caller', str(values, 'caller'));
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
    const { KeyInUseError } = await import('../../client');
    let started;
    try {
      started = await startPipeline(client, pipeline, raw, { key, taskQueue: str(values, 'task-queue') ?? taskQueue() });
    } catch (err) {
      if (err instanceof KeyInUseError) throw new CliError(`--key: ${err.message}`, 2);
      throw err;
    }
    const ids = { workflowId: started.workflowId, runId: started.runId, uiUrl: started.uiUrl, ...(started.existing ? { existing: started.existing } : {}) };
    // A start retried with the same key and input returns the run it started: say so, and succeed.
    const headline = started.existing ? `${started.workflowId} already ${started.existing} (run ${started.runId}); same key, same input: nothing new started` : `Started ${started.workflowId} (run ${started.runId})`;
    if (!wait) {
      if (json) printJson(ids);
      else {
        print(headline);
        print(`  Temporal UI: ${started.uiUrl}`);
        print(`  Follow it:   reelay watch ${started.workflowId}`);
      }
      return 0;
    }
    if (!json) {
      print(headline);
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
