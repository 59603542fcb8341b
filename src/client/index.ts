import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection, WorkflowExecutionAlreadyStartedError, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowNotFoundError, type WorkflowHandle, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { z } from 'zod';
import { dataConverterForKeys, encryptingCodec } from '../codec';
import { DEFAULT_TASK_QUEUE, isLoadedConfig, loadClientConfig, taskQueue as defaultTaskQueue, temporalUiUrl, workflowUiLink, type ReelayClientConfig } from '../config';
import { connectionOptions } from '../temporal-config';
import { clientTracingInterceptors } from '../telemetry/client';
import { WorkflowKey, describeZodError, isS3Ref, isUrlRef } from '../contract/common';
import { DublabPipelineInput, DublabPipelineResult } from '../pipelines/dublab/input';
import { LipdubPipelineInput, LipdubPipelineResult } from '../pipelines/lipdub/input';
import { AistudioPipelineInput, AistudioPipelineResult } from '../pipelines/aistudio/input';
import { LocalizePipelineInput, LocalizePipelineResult } from '../pipelines/localize/input';
import { Text2videoPipelineInput, Text2videoPipelineResult } from '../pipelines/text2video/input';
import { VividflowPipelineInput, VividflowPipelineResult } from '../pipelines/vividflow/input';
import { REELAY_PROVIDER } from '../contract/search-attributes';
import { PipelineProgressSchema } from '../contract/progress-schema';
import { BatchPipelineInput, BatchPipelineResult, BatchProgress, BatchResultRecord, ManifestEntry } from '../pipelines/batch/input';
import {
  PIPELINES as REGISTRY,
  STARTABLE_PIPELINES,
  pipelineWorkflowId,
  type PipelineWorkflowType,
  isStartablePipeline,
  type StartablePipelineId,
} from '../pipelines/registry';
import type { EdgeSpec, FileField, TextHelpers } from '../pipelines/spec';
import type * as Workflows from '../workflows';

import { storedInputProblems, type StoredInputOptions } from './stored-inputs';
import { differingFields } from './same-input';
import { startInput } from './history';
import { temporalPriority } from '../contract/slot-order';
import type { SlotClaim } from '../contract/limiter';
export * from '../contract/common';
export * from '../pipelines/lipdub/input';
export * from '../pipelines/dublab/input';
export * from '../pipelines/text2video/input';
export * from '../pipelines/vividflow/input';
export * from '../pipelines/aistudio/input';
export * from '../pipelines/localize/input';
export { progressQuery, type PipelineProgress } from '../contract/progress';
export { storedInputProblems, type StoredInputOptions } from './stored-inputs';
export * from './batch';
/** The file fields of a pipeline input (local paths, s3:// and http(s) references), named by their path in it. */
export function inputFileFields(pipeline: string, input: unknown): Array<{ field: string; ref: string | undefined }> {
  return fileFields(pipeline, input).map((f) => ({ field: f.field, ref: f.ref }));
}
export { outputLinks, storedOutputs, MAX_LINK_SECONDS, type OutputLink, type OutputLinkOptions, type StoredOutput } from './outputs';

/** The schemas the edge validates with, per startable pipeline (the compiler refuses one left out). */
const SCHEMAS = {
  lipdub: { schema: LipdubPipelineInput, resultSchema: LipdubPipelineResult },
  dublab: { schema: DublabPipelineInput, resultSchema: DublabPipelineResult },
  text2video: { schema: Text2videoPipelineInput, resultSchema: Text2videoPipelineResult },
  vividflow: { schema: VividflowPipelineInput, resultSchema: VividflowPipelineResult },
  aistudio: { schema: AistudioPipelineInput, resultSchema: AistudioPipelineResult },
  localize: { schema: LocalizePipelineInput, resultSchema: LocalizePipelineResult },
} as const satisfies Record<StartablePipelineId, { schema: z.ZodType; resultSchema: z.ZodType }>;

type Schemas = typeof SCHEMAS;
type Registry = typeof REGISTRY;
/** A startable pipeline's spec (src/pipelines/<id>/spec.ts) and its schemas, in one. */
export type PipelineSpec<P extends StartablePipelineId> = Registry[P] & Schemas[P];

/** Every pipeline a client can start, from the registry. */
export const PIPELINE_SPECS = Object.fromEntries(STARTABLE_PIPELINES.map((id) => [id, { ...REGISTRY[id], ...SCHEMAS[id] }])) as {
  readonly [P in StartablePipelineId]: PipelineSpec<P>;
};

/** A pipeline's input and result as JSON Schema (draft 2020-12), for callers that do not run TypeScript. */
export interface PipelineJsonSchema {
  workflowType: string;
  /** What a start may send (defaults optional, as the workflow fills them in). */
  input: Record<string, unknown>;
  /** What the workflow returns. */
  result: Record<string, unknown>;
}

/**
 * One schema file. Inputs are closed (a field the workflow does not know is refused, as zod refuses it);
 * results and query answers are open: Reelay may add fields to what it returns, and readers ignore the
 * ones they do not know (a localize result's dubbedAudio, for one, carries DubLab's output `type`).
 */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output', title: string, description: string): Record<string, unknown> {
  const { $schema, ...rest } = z.toJSONSchema(schema, { io, target: 'draft-2020-12' }) as Record<string, unknown>;
  const open = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(open);
    if (!v || typeof v !== 'object') return v;
    return Object.fromEntries(Object.entries(v).filter(([k, x]) => !(k === 'additionalProperties' && x === false)).map(([k, x]) => [k, open(x)]));
  };
  const body = io === 'output' ? (open(rest) as Record<string, unknown>) : rest;
  const note = io === 'output' ? ' Objects may carry fields this schema does not list; ignore them.' : '';
  return { $schema, title, description: `${description}${note}`, ...body };
}

/** Every startable pipeline's JSON Schemas, generated from the same zod schemas the edge and the workflows use. */
export function pipelineJsonSchemas(): { [P in StartablePipelineId]: PipelineJsonSchema } {
  const entries = STARTABLE_PIPELINES.map((id): [StartablePipelineId, PipelineJsonSchema] => {
    const spec = PIPELINE_SPECS[id];
    const on = `workflow type ${spec.workflowType}, task queue "${DEFAULT_TASK_QUEUE}" (or the workers' REELAY_TASK_QUEUE)`;
    return [
      id,
      {
        workflowType: spec.workflowType,
        input: jsonSchema(spec.schema, 'input', `${spec.workflowType} input`, `The one argument of ${on}. Fields with a default may be left out.`),
        result: jsonSchema(spec.resultSchema, 'output', `${spec.workflowType} result`, `What ${on} returns when it completes.`),
      },
    ];
  });
  return Object.fromEntries(entries) as { [P in StartablePipelineId]: PipelineJsonSchema };
}

/**
 * The rest of the contract: the batch workflow (started by `startBatch` / `reelay batch start`, which
 * write its normalized manifest first; its schema is published for readers of its input and result), one
 * line of that normalized manifest, and the two queries.
 */
function otherJsonSchemas(): Record<string, Record<string, unknown>> {
  const batch = `workflow type batchPipeline, task queue "${DEFAULT_TASK_QUEUE}"`;
  return {
    'batchPipeline.input.json': jsonSchema(
      BatchPipelineInput,
      'input',
      'batchPipeline input',
      `The one argument of ${batch}. manifestPath names a normalized JSONL manifest (one batchManifestLine per line, absolute paths or s3:// objects) readable by the workers; startBatch and \`reelay batch start\` write it from a caller's manifest.`,
    ),
    'batchPipeline.result.json': jsonSchema(BatchPipelineResult, 'output', 'batchPipeline result', `What ${batch} returns when it ends.`),
    'batchManifestLine.json': jsonSchema(ManifestEntry, 'input', 'batch manifest line', "One line of a batch's normalized manifest: the pipeline id (lipdub, dublab, …), its input (that pipeline's input schema) and an optional key."),
    'batchResultRecord.json': jsonSchema(BatchResultRecord, 'output', 'batch result record', "One line of a batch's results.jsonl; a line may appear more than once, the last record wins."),
    'progress.query.json': jsonSchema(PipelineProgressSchema, 'output', 'progress query result', 'What the `progress` query (no arguments) answers on every pipeline workflow.'),
    'batchProgress.query.json': jsonSchema(BatchProgress, 'output', 'batchProgress query result', 'What the `batchProgress` query (no arguments) answers on batchPipeline.'),
  };
}

/** The files of `schemas/` (`npm run schemas`): input and result per startable pipeline, the batch's, and the query results. */
export function renderJsonSchemaFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const { workflowType, input, result } of Object.values(pipelineJsonSchemas())) {
    files[`${workflowType}.input.json`] = `${JSON.stringify(input, null, 2)}\n`;
    files[`${workflowType}.result.json`] = `${JSON.stringify(result, null, 2)}\n`;
  }
  for (const [name, schema] of Object.entries(otherJsonSchemas())) files[name] = `${JSON.stringify(schema, null, 2)}\n`;
  return files;
}

/** The workflow function a pipeline runs, for typed starts and handles (a type only: nothing of the workflows is loaded). */
export type PipelineWorkflow<P extends StartablePipelineId> = (typeof Workflows)[PipelineWorkflowType<P>];
/** What a pipeline's workflow returns. */
export type PipelineResult<P extends StartablePipelineId> = Awaited<ReturnType<PipelineWorkflow<P>>>;

/** Any startable pipeline's spec, for code that handles them alike. */
function anySpec(pipeline: StartablePipelineId): { schema: z.ZodType; edge: EdgeSpec<unknown>; provider: string } {
  const spec = PIPELINE_SPECS[pipeline];
  return { schema: spec.schema, edge: spec.edge as EdgeSpec<unknown>, provider: spec.provider };
}

const TEXT: TextHelpers = { refName, oneLine };

/** A pipeline input's local file fields; `prefix` names a nested run's fields by their path in the outer input. */
function fileFields(pipeline: string, input: unknown, prefix = ''): FileField[] {
  if (!isStartablePipeline(pipeline)) return [];
  return anySpec(pipeline)
    .edge.files(input, (p, i, at) => fileFields(p, i, `${at}.`))
    .map((f) => ({ ...f, field: `${prefix}${f.field}` }));
}

/**
 * A file reference's name for summaries and workflow ids: the file name of a local path, or of a URL's
 * path. Never the query: a signed URL's signature lives there, and ids and summaries are plaintext.
 */
export function refName(ref: string): string {
  if (!isUrlRef(ref)) return path.basename(ref);
  try {
    return path.posix.basename(decodeURIComponent(new URL(ref).pathname)) || new URL(ref).hostname;
  } catch {
    return 'url';
  }
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** The pipelines `startPipeline` takes (the batch has `startBatch`). */
export type PipelineName = StartablePipelineId;
export const PIPELINE_NAMES: readonly PipelineName[] = STARTABLE_PIPELINES;

export class InputError extends Error {
  override name = 'InputError';
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
  }
}

/**
 * Validate an input exactly as the workflow will, plus what only the edge can check: that local files
 * exist and are readable. Local paths become absolute, so the worker reads the file the caller meant.
 */
export function validatePipelineInput<P extends PipelineName>(pipeline: P, raw: unknown, cwd = process.cwd()): z.input<Schemas[P]['schema']> {
  const spec = anySpec(pipeline);
  const parsed = spec.schema.safeParse(raw);
  if (!parsed.success) throw new InputError(describeZodError(parsed.error).split('; '));
  // Keep the caller's input (defaults are applied by the workflow), only with absolute file paths.
  const input = structuredClone(raw) as Record<string, unknown>;
  const problems: string[] = [];
  for (const f of fileFields(pipeline, input)) {
    // s3:// objects are asked about in startPipeline (storedInputProblems) and again by the worker.
    if (f.ref === undefined || isUrlRef(f.ref) || isS3Ref(f.ref)) continue;
    const abs = path.resolve(cwd, f.ref);
    try {
      const st = fs.statSync(abs);
      if (!st.isFile()) problems.push(`input.${f.field}: ${f.ref} is not a regular file`);
      else fs.accessSync(abs, fs.constants.R_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      problems.push(`input.${f.field}: ${f.ref} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`}`);
    }
    f.set(abs);
  }
  if (problems.length) throw new InputError(problems);
  return input as z.input<Schemas[P]['schema']>;
}

/** A caller's workflow id suffix: `<pipeline>-<key>` must stay a plain, readable id. */
export function validateKey(key: unknown): string {
  const parsed = WorkflowKey.safeParse(key);
  if (!parsed.success) throw new InputError(describeZodError(parsed.error, 'key').split('; '));
  return parsed.data;
}

/**
 * A client for the configured Temporal (envconfig profiles and TEMPORAL_* variables, see
 * src/temporal-config.ts), with the payload codec the configuration sets (REELAY_PAYLOAD_KEY …, see
 * src/codec): the same data converter as the workers'. Takes the environment, read here (a bad value
 * throws ConfigError before any connection attempt), or a configuration already loaded.
 */
export async function connectClient(from: NodeJS.ProcessEnv | ReelayClientConfig = process.env): Promise<Client> {
  const config = isLoadedConfig(from) ? from : loadClientConfig(from);
  // OTEL_* (off unless configured): a start then carries the trace context to the workflow.
  const interceptors = await clientTracingInterceptors(isLoadedConfig(from) ? process.env : from);
  const connection = await Connection.connect(connectionOptions(config.temporal));
  return new Client({ connection, namespace: config.temporal.namespace, dataConverter: dataConverterForKeys(config.payloadKeys), interceptors });
}

export { ConfigError, loadClientConfig, type ReelayClientConfig } from '../config';
/** Exports the spans still buffered (tracing on, OTEL_*) before a short-lived process exits. */
export { shutdownTracing } from '../telemetry/shutdown';

function slug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/\.[a-z0-9]+$/, '')
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'job'
  );
}

export interface StartOptions {
  /**
   * Workflow id suffix; the id is `<pipeline>-<key>`. Defaults to the source's name (or the prompt's first
   * words) plus a random part; only the random part when the client encrypts payloads, since workflow
   * ids are stored and listed in plaintext.
   */
  key?: string;
  taskQueue?: string;
  cwd?: string;
  /** Where `s3://` inputs are checked (storage settings, a store client); see src/client/stored-inputs.ts. */
  storedInputs?: StoredInputOptions;
}

export interface Started<P extends PipelineName = PipelineName> {
  workflowId: string;
  runId: string;
  uiUrl: string;
  /** Typed by the pipeline: `await started.handle.result()` is its result. */
  handle: WorkflowHandle<PipelineWorkflow<P>>;
  /**
   * Set when the key was taken by a run of the same pipeline with the same input, and this start returned
   * that run instead of starting another: `running` or `completed`. Absent when this call started it.
   */
  existing?: 'running' | 'completed';
}

/**
 * A start refused because its key is taken by a run with another input (or of another workflow type):
 * `fields` names where the inputs differ (`input.targetLanguages.1`), never their values.
 */
export class KeyInUseError extends Error {
  override name = 'KeyInUseError';
  constructor(
    readonly workflowId: string,
    readonly fields: string[],
    readonly existingStatus: string,
    message: string,
  ) {
    super(message);
  }
}

/** The statuses whose key a new start may not take (Temporal's ALLOW_DUPLICATE_FAILED_ONLY): the rest are rerun. */
const KEY_HOLDING = new Set(['RUNNING', 'COMPLETED', 'CONTINUED_AS_NEW']);

/**
 * Validate and start a pipeline. Idempotent by key: a start whose key is taken by a running or completed
 * run of the same pipeline with the same input (compared after defaults, so `{}` and `{ polling: {} }`
 * are the same) returns that run (`existing`); with a different input it is refused (KeyInUseError,
 * naming the fields). A key whose run failed, was cancelled, terminated or timed out starts a new run. A
 * completed run holds its key for the namespace's retention period; after that the key is free again.
 */
export async function startPipeline<P extends PipelineName>(client: Client, pipeline: P, raw: unknown, opts: StartOptions = {}): Promise<Started<P>> {
  const input = validatePipelineInput(pipeline, raw, opts.cwd);
  if (opts.key !== undefined) validateKey(opts.key);
  const missing = await storedInputProblems(fileFields(pipeline, input), opts.storedInputs);
  if (missing.length) throw new InputError(missing);
  const spec = anySpec(pipeline);
  const parsed = spec.schema.parse(input);
  const encrypted = encryptingCodec(client.options.loadedDataConverter) !== undefined;
  const key = opts.key ?? (encrypted ? randomUUID().replace(/-/g, '').slice(0, 16) : `${slug(spec.edge.keyHint(parsed, TEXT))}-${randomUUID().slice(0, 8)}`);
  const workflowId = pipelineWorkflowId(pipeline, key);
  const workflowType = REGISTRY[pipeline].workflowType;
  const uiUrl = workflowUiLink({ uiUrl: temporalUiUrl(), namespace: client.options.namespace }, workflowId);
  const typedHandle = (runId: string) => client.workflow.getHandle<PipelineWorkflow<P>>(workflowId, undefined, { firstExecutionRunId: runId });

  /** The run holding the key, if one may not be replaced: the same input returns it, another is refused. */
  const holder = async (): Promise<Started<P> | undefined> => {
    const held = await keyHolder(client, workflowId);
    if (!held) return undefined;
    const theirs = held.workflowType === workflowType ? spec.schema.safeParse(held.input) : undefined;
    const fields = theirs?.success ? differingFields(theirs.data, parsed) : [];
    const status = held.status === 'COMPLETED' ? 'completed' : 'running';
    const refuse = (why: string) => new KeyInUseError(workflowId, fields, held.status, `key ${JSON.stringify(key)} is taken: ${workflowId} (${status}) ${why}; use another key for another input`);
    if (held.workflowType !== workflowType) throw refuse(`is a ${held.workflowType} run`);
    if (!theirs?.success) throw refuse('was started with an input this version cannot read');
    if (fields.length) throw refuse(`was started with a different input (differs at ${fields.join(', ')})`);
    return { workflowId, runId: held.firstRunId, uiUrl, handle: typedHandle(held.firstRunId), existing: status };
  };

  if (opts.key !== undefined) {
    const existing = await holder();
    if (existing) return existing;
  }
  let handle: WorkflowHandleWithFirstExecutionRunId<PipelineWorkflow<P>>;
  try {
    handle = await client.workflow.start<PipelineWorkflow<P>>(workflowType, {
      workflowId,
      taskQueue: opts.taskQueue ?? defaultTaskQueue(),
      // The schema checked it above; the compiler cannot follow a generic P from schema to workflow.
      args: [input] as unknown as Parameters<PipelineWorkflow<P>>,
      staticSummary: spec.edge.summary(parsed, TEXT),
      // The input's priority and caller, as the server's task priority and fairness key.
      ...temporalPriority(parsed as SlotClaim),
      typedSearchAttributes: [{ key: REELAY_PROVIDER, value: spec.provider }],
      // A second start while one runs returns the running one (its input is compared below); a closed
      // run holds its key unless it failed (ALLOW_DUPLICATE_FAILED_ONLY), and then the start throws.
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
    });
  } catch (err) {
    // Completed between our look and our start (or started with another key policy by someone else).
    if (err instanceof WorkflowExecutionAlreadyStartedError && opts.key !== undefined) {
      const existing = await holder();
      if (existing) return existing;
    }
    throw err;
  }
  // Another caller may have started the key between our look and our start: USE_EXISTING then returned
  // their run, which must have our input (holder() refuses it otherwise). Indistinguishable from ours
  // when it does, so it is reported as started.
  if (opts.key !== undefined) await holder();
  return { workflowId, runId: handle.firstExecutionRunId, uiUrl, handle };
}

/** The run that holds a workflow id (running, completed or continued), with the input its chain started with. */
async function keyHolder(client: Client, workflowId: string): Promise<{ status: string; workflowType: string; firstRunId: string; input: unknown } | undefined> {
  let desc;
  try {
    desc = await client.workflow.getHandle(workflowId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
  if (!KEY_HOLDING.has(desc.status.name)) return undefined;
  const firstRunId = desc.raw.workflowExecutionInfo?.firstRunId || desc.runId;
  const input = await startInput(client, workflowId, firstRunId);
  return { status: desc.status.name, workflowType: desc.type, firstRunId, input };
}
