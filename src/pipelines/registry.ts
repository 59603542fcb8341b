/**
 * Every Reelay pipeline, once: one line per pipeline, naming its spec (src/pipelines/<id>/spec.ts). The
 * worker's workflow list, the client's starters, `reelay start` (its flags and help) and `reelay list`,
 * the batch's child types, the cost guard and the paced task queues are all derived from (or checked
 * against) this table; test/pipelines/registry.test.ts proves each registered pipeline reaches every one
 * of them.
 *
 * Pure data and pure functions: workflows import it (batch and localize name their children from it),
 * so neither it nor the specs may reach zod schemas (a run evaluates every module it reaches), clients
 * or Node APIs. The input schemas are the edge's (src/client), keyed by these ids.
 */
import { aistudioSpec } from './aistudio/spec';
import { batchSpec } from './batch/spec';
import { dublabSpec } from './dublab/spec';
import { lipdubSpec } from './lipdub/spec';
import { localizeSpec } from './localize/spec';
import type { CostEstimator, EdgeSpec, PipelineEntry, StartCli } from './spec';
import { text2videoSpec } from './text2video/spec';
import { vividflowSpec } from './vividflow/spec';

export type { PipelineCost, PipelineEntry } from './spec';

/** In the order help and listings show them. */
export const PIPELINES = {
  lipdub: lipdubSpec,
  dublab: dublabSpec,
  text2video: text2videoSpec,
  vividflow: vividflowSpec,
  aistudio: aistudioSpec,
  localize: localizeSpec,
  batch: batchSpec,
} as const satisfies Record<string, RegistryLine>;

/** A priced pipeline has its cost rule, a startable one its flags and edge: the compiler refuses one without. */
type RegistryLine = PipelineEntry &
  ({ cost: 'estimated'; estimate: CostEstimator } | { cost: 'unpriced' | 'free' | 'not-a-batch-item' }) &
  ({ startable: true; cli: StartCli; edge: EdgeSpec<never> } | { startable: false });

type Registry = typeof PIPELINES;
export type PipelineId = keyof Registry;
/** The pipelines `startPipeline` and `reelay start` take. */
export type StartablePipelineId = { [P in PipelineId]: Registry[P]['startable'] extends true ? P : never }[PipelineId];
/** The pipelines a batch manifest line may name. */
export type BatchItemPipelineId = { [P in PipelineId]: Registry[P]['batchItem'] extends true ? P : never }[PipelineId];
/** Batch-item pipelines the cost guard prices. */
export type EstimatedPipelineId = { [P in PipelineId]: Registry[P]['cost'] extends 'estimated' ? P : never }[PipelineId];
export type PipelineWorkflowType<P extends PipelineId = PipelineId> = Registry[P]['workflowType'];

const ids = <P extends PipelineId>(keep: (entry: PipelineEntry) => boolean): P[] =>
  (Object.keys(PIPELINES) as PipelineId[]).filter((id) => keep(PIPELINES[id])) as P[];

/** Every pipeline, in the order help and listings show them. */
export const PIPELINE_IDS: readonly PipelineId[] = ids(() => true);
export const STARTABLE_PIPELINES: readonly StartablePipelineId[] = ids((p) => p.startable);
export const BATCH_ITEM_PIPELINES: readonly BatchItemPipelineId[] = ids((p) => p.batchItem);
export const WORKFLOW_TYPES: readonly PipelineWorkflowType[] = PIPELINE_IDS.map((id) => PIPELINES[id].workflowType);
/** The providers whose activities run on a paced task queue of their own (`pacedTaskQueue: true`). */
export type PacedProviderId = { [P in PipelineId]: Registry[P]['pacedTaskQueue'] extends true ? Registry[P]['provider'] : never }[PipelineId];
/** Providers whose activities run on a paced task queue of their own: the worker starts one worker per entry. */
export const PACED_PROVIDERS: readonly PacedProviderId[] = PIPELINE_IDS.filter((id) => PIPELINES[id].pacedTaskQueue).map((id) => PIPELINES[id].provider as PacedProviderId);

/** A provider's documented limits, from the spec of the pipeline that drives it. */
export function providerLimits(provider: string): NonNullable<PipelineEntry['limits']> {
  const id = PIPELINE_IDS.find((p) => PIPELINES[p].provider === provider);
  const entry: PipelineEntry | undefined = id === undefined ? undefined : PIPELINES[id];
  return entry?.limits ?? {};
}

export function isPipelineId(name: unknown): name is PipelineId {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(PIPELINES, name);
}

export function isStartablePipeline(name: unknown): name is StartablePipelineId {
  return isPipelineId(name) && PIPELINES[name].startable;
}

export function isBatchItemPipeline(name: unknown): name is BatchItemPipelineId {
  return isPipelineId(name) && PIPELINES[name].batchItem;
}

/** The workflow id of a pipeline run: `<idPrefix>-<key>` (`lipdub-talk-1a2b3c4d`). */
export function pipelineWorkflowId(pipeline: PipelineId, key: string): string {
  return `${PIPELINES[pipeline].idPrefix}-${key}`;
}

