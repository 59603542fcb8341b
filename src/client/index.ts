import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection, WorkflowIdReusePolicy, type WorkflowHandle } from '@temporalio/client';
import type { z } from 'zod';
import { dataConverterForKeys, encryptingCodec } from '../codec';
import { isLoadedConfig, loadClientConfig, taskQueue as defaultTaskQueue, temporalUiUrl, workflowUiLink, type ReelayClientConfig } from '../config';
import { connectionOptions } from '../temporal-config';
import { WorkflowKey, describeZodError, isS3Ref, isUrlRef } from '../workflows/inputs/common';
import { DublabPipelineInput, DublabPipelineResult } from '../workflows/inputs/dublab';
import { LipdubPipelineInput, LipdubPipelineResult } from '../workflows/inputs/lipdub';
import { AistudioPipelineInput, AistudioPipelineResult } from '../workflows/inputs/aistudio';
import { LocalizePipelineInput, LocalizePipelineResult } from '../workflows/inputs/localize';
import { Text2videoPipelineInput, Text2videoPipelineResult } from '../workflows/inputs/text2video';
import { VividflowPipelineInput, VividflowPipelineResult } from '../workflows/inputs/vividflow';
import { REELAY_PROVIDER } from '../workflows/shared/search-attributes';
import {
  PIPELINES as REGISTRY,
  STARTABLE_PIPELINES,
  pipelineWorkflowId,
  type PipelineWorkflowType,
  type StartablePipelineId,
} from '../pipelines/registry';
import type * as Workflows from '../workflows';

export * from '../workflows/inputs/common';
export * from '../workflows/inputs/lipdub';
export * from '../workflows/inputs/dublab';
export * from '../workflows/inputs/text2video';
export * from '../workflows/inputs/vividflow';
export * from '../workflows/inputs/aistudio';
export * from '../workflows/inputs/localize';
export { progressQuery, type PipelineProgress } from '../workflows/shared/progress';

/** What the edge needs of a pipeline beside its registry entry: the schemas it validates with, and how it names a run. */
interface EdgeSpec<S extends z.ZodType> {
  schema: S;
  resultSchema: z.ZodType;
  /** Local file fields, resolved to absolute paths and checked for existence at the edge. */
  files(input: z.output<S>): Array<{ field: string; ref: string | undefined; set(abs: string): void }>;
  summary(input: z.output<S>): string;
  keyHint(input: z.output<S>): string;
}

const EDGE = {
  lipdub: {
    schema: LipdubPipelineInput,
    resultSchema: LipdubPipelineResult,
    files: (i) => [
      { field: 'video', ref: i.video, set: (v: string) => (i.video = v) },
      ...i.audios.map((a, n) => ({ field: `audios.${n}.source`, ref: a.source, set: (v: string) => (a.source = v) })),
    ],
    summary: (i) =>
      `LipDub: ${i.video ? refName(i.video) : `shot ${i.shotId}`} → ${i.audios.map((a) => a.language).join(', ')}`,
    keyHint: (i) => (i.video ? refName(i.video) : `shot-${i.shotId}`),
  } satisfies EdgeSpec<typeof LipdubPipelineInput>,
  dublab: {
    schema: DublabPipelineInput,
    resultSchema: DublabPipelineResult,
    files: (i) => [{ field: 'source', ref: i.source, set: (v: string) => (i.source = v) }],
    summary: (i) => `DubLab: ${refName(i.source)} ${i.sourceLanguage} → ${i.targetLanguages.join(', ')}`,
    keyHint: (i) => refName(i.source),
  } satisfies EdgeSpec<typeof DublabPipelineInput>,
  text2video: {
    schema: Text2videoPipelineInput,
    resultSchema: Text2videoPipelineResult,
    files: () => [],
    summary: (i) => `text2video: ${oneLine(i.text, 70)}`,
    keyHint: (i) => i.text.slice(0, 30),
  } satisfies EdgeSpec<typeof Text2videoPipelineInput>,
  vividflow: {
    schema: VividflowPipelineInput,
    resultSchema: VividflowPipelineResult,
    files: (i) => [{ field: 'imagePath', ref: i.imagePath, set: (v: string) => (i.imagePath = v) }],
    summary: (i) => `Vivid Flow ${i.model ?? 'wan2.1'}: ${oneLine(i.prompt, 60)}`,
    keyHint: (i) => i.prompt.slice(0, 30),
  } satisfies EdgeSpec<typeof VividflowPipelineInput>,
  aistudio: {
    schema: AistudioPipelineInput,
    resultSchema: AistudioPipelineResult,
    files: (i) => [
      { field: 'initialImage', ref: i.initialImage, set: (v: string) => (i.initialImage = v) },
      { field: 'endFrame', ref: i.endFrame, set: (v: string) => (i.endFrame = v) },
      ...(i.referenceImages ?? []).map((ref, n) => ({ field: `referenceImages.${n}`, ref, set: (v: string) => (i.referenceImages![n] = v) })),
    ],
    summary: (i) => `AI Studio ${i.model}: ${i.prompt ? oneLine(i.prompt, 60) : 'from an image'}`,
    keyHint: (i) => (i.prompt ?? 'image').slice(0, 30),
  } satisfies EdgeSpec<typeof AistudioPipelineInput>,
  localize: {
    schema: LocalizePipelineInput,
    resultSchema: LocalizePipelineResult,
    files: (i) => [
      { field: 'source', ref: i.source, set: (v: string) => (i.source = v) },
      ...Object.entries(i.dubbedAudio ?? {}).map(([lang, ref]) => ({ field: `dubbedAudio.${lang}`, ref, set: (v: string) => (i.dubbedAudio![lang] = v) })),
      ...generateStepFiles(i.generate),
    ],
    summary: (i) => `Localize ${i.source ? refName(i.source) : `a ${i.generate!.pipeline} video`} ${i.sourceLanguage} → ${i.targetLanguages.join(', ')}`,
    keyHint: (i) => (i.source ? refName(i.source) : i.generate!.pipeline),
  } satisfies EdgeSpec<typeof LocalizePipelineInput>,
} as const satisfies Record<StartablePipelineId, unknown>;

type Edge = typeof EDGE;
type Registry = typeof REGISTRY;
/** A startable pipeline's registry entry and the edge's schemas, summary and file fields, in one. */
export type PipelineSpec<P extends StartablePipelineId> = Registry[P] & Edge[P];

/** Every pipeline a client can start, from the registry (the compiler refuses one without schemas here). */
export const PIPELINE_SPECS = Object.fromEntries(STARTABLE_PIPELINES.map((id) => [id, { ...REGISTRY[id], ...EDGE[id] }])) as {
  readonly [P in StartablePipelineId]: PipelineSpec<P>;
};

/** The workflow function a pipeline runs, for typed starts and handles (a type only: nothing of the workflows is loaded). */
export type PipelineWorkflow<P extends StartablePipelineId> = (typeof Workflows)[PipelineWorkflowType<P>];
/** What a pipeline's workflow returns. */
export type PipelineResult<P extends StartablePipelineId> = Awaited<ReturnType<PipelineWorkflow<P>>>;

/** Any startable pipeline's edge spec, for code that handles them alike. */
function edgeSpec(pipeline: StartablePipelineId): EdgeSpec<z.ZodType> & Registry[StartablePipelineId] {
  return PIPELINE_SPECS[pipeline] as EdgeSpec<z.ZodType> & Registry[StartablePipelineId];
}

/** Local files inside a localize run's generate step, checked like the generation pipeline's own. */
function generateStepFiles(step: { pipeline: string; input: unknown } | undefined) {
  if (!step) return [];
  const spec = (STARTABLE_PIPELINES as readonly string[]).includes(step.pipeline) ? edgeSpec(step.pipeline as StartablePipelineId) : undefined;
  return spec ? spec.files(step.input).map((f) => ({ ...f, field: `generate.input.${f.field}` })) : [];
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
export function validatePipelineInput<P extends PipelineName>(pipeline: P, raw: unknown, cwd = process.cwd()): z.input<Edge[P]['schema']> {
  const spec = edgeSpec(pipeline);
  const parsed = spec.schema.safeParse(raw);
  if (!parsed.success) throw new InputError(describeZodError(parsed.error).split('; '));
  // Keep the caller's input (defaults are applied by the workflow), only with absolute file paths.
  const input = structuredClone(raw) as Record<string, unknown>;
  const problems: string[] = [];
  for (const f of spec.files(input)) {
    // s3:// objects are checked by the worker, which holds the store's credentials.
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
  return input as z.input<Edge[P]['schema']>;
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
  const connection = await Connection.connect(connectionOptions(config.temporal));
  return new Client({ connection, namespace: config.temporal.namespace, dataConverter: dataConverterForKeys(config.payloadKeys) });
}

export { ConfigError, loadClientConfig, type ReelayClientConfig } from '../config';

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
}

export interface Started<P extends PipelineName = PipelineName> {
  workflowId: string;
  runId: string;
  uiUrl: string;
  /** Typed by the pipeline: `await started.handle.result()` is its result. */
  handle: WorkflowHandle<PipelineWorkflow<P>>;
}

/** Validate and start a pipeline. Starting the same key twice while one runs is refused by Temporal. */
export async function startPipeline<P extends PipelineName>(client: Client, pipeline: P, raw: unknown, opts: StartOptions = {}): Promise<Started<P>> {
  const input = validatePipelineInput(pipeline, raw, opts.cwd);
  if (opts.key !== undefined) validateKey(opts.key);
  const spec = edgeSpec(pipeline);
  const parsed = spec.schema.parse(input);
  const encrypted = encryptingCodec(client.options.loadedDataConverter) !== undefined;
  const key = opts.key ?? (encrypted ? randomUUID().replace(/-/g, '').slice(0, 16) : `${slug(spec.keyHint(parsed))}-${randomUUID().slice(0, 8)}`);
  const workflowId = pipelineWorkflowId(pipeline, key);
  const handle = await client.workflow.start<PipelineWorkflow<P>>(REGISTRY[pipeline].workflowType, {
    workflowId,
    taskQueue: opts.taskQueue ?? defaultTaskQueue(),
    // The schema checked it above; the compiler cannot follow a generic P from schema to workflow.
    args: [input] as Parameters<PipelineWorkflow<P>>,
    staticSummary: spec.summary(parsed),
    typedSearchAttributes: [{ key: REELAY_PROVIDER, value: spec.provider }],
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
  });
  return { workflowId, runId: handle.firstExecutionRunId, uiUrl: workflowUiLink({ uiUrl: temporalUiUrl(), namespace: client.options.namespace }, workflowId), handle };
}
