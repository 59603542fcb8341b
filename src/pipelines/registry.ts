/**
 * Every Reelay pipeline, once. The worker's workflow list, the client's starters, `reelay start` and
 * `reelay list`, the batch's child types, the cost guard and the paced task queues are all derived from
 * (or checked against) this table; test/pipelines/registry.test.ts proves each registered pipeline
 * reaches every one of them.
 *
 * Pure data: workflows import it (batch and localize name their children from it), so it must stay free
 * of zod schemas (a run evaluates every module it reaches), clients and Node APIs. The input schemas
 * and the edge's summaries live in src/client, keyed by these ids.
 */

/** How the batch's cost guard treats a pipeline's runs (src/batch/cost.ts has the arithmetic). */
export type PipelineCost =
  /** Billed where the provider tells a price; the cost guard estimates it and checks the balance. */
  | 'estimated'
  /** Billed by the provider but with no documented price or balance to check against (LipDub). */
  | 'unpriced'
  /** Nothing billed (self-hosted text2video). */
  | 'free'
  /** Not run by a batch. */
  | 'not-a-batch-item';

export interface PipelineEntry {
  /** The workflow type of the public contract (DESIGN.md); never changes, or recorded histories stop replaying. */
  workflowType: string;
  /** Workflow ids are `<idPrefix>-<key>`. */
  idPrefix: string;
  /** The ReelayProvider search attribute value. */
  provider: string;
  /** How people name it in prose and help. */
  title: string;
  /** `reelay start <id>` and the client's `startPipeline` take it (batch has its own starter). */
  startable: boolean;
  /** A batch manifest line may name it. */
  batchItem: boolean;
  cost: PipelineCost;
  /**
   * The provider's activities run on a task queue of their own (`<queue>-<provider>`) where the server
   * paces them across every worker.
   */
  pacedTaskQueue: boolean;
}

export const PIPELINES = {
  lipdub: {
    workflowType: 'lipdubPipeline',
    idPrefix: 'lipdub',
    provider: 'lipdub',
    title: 'LipDub',
    startable: true,
    batchItem: true,
    cost: 'unpriced',
    pacedTaskQueue: false,
  },
  dublab: {
    workflowType: 'dublabPipeline',
    idPrefix: 'dublab',
    provider: 'dublab',
    title: 'DubLab',
    startable: true,
    batchItem: true,
    cost: 'estimated',
    pacedTaskQueue: false,
  },
  text2video: {
    workflowType: 'text2videoPipeline',
    idPrefix: 'text2video',
    provider: 'text2video',
    title: 'text2video',
    startable: true,
    batchItem: true,
    cost: 'free',
    pacedTaskQueue: false,
  },
  vividflow: {
    workflowType: 'vividflowPipeline',
    idPrefix: 'vividflow',
    provider: 'vividflow',
    title: 'Vivid Flow',
    startable: true,
    batchItem: true,
    cost: 'estimated',
    pacedTaskQueue: true,
  },
  aistudio: {
    workflowType: 'aistudioPipeline',
    idPrefix: 'aistudio',
    provider: 'aistudio',
    title: 'AI Studio',
    startable: true,
    batchItem: true,
    cost: 'estimated',
    pacedTaskQueue: false,
  },
  localize: {
    workflowType: 'localizePipeline',
    idPrefix: 'localize',
    provider: 'localize',
    title: 'localize',
    startable: true,
    batchItem: true,
    cost: 'estimated',
    pacedTaskQueue: false,
  },
  batch: {
    workflowType: 'batchPipeline',
    idPrefix: 'batch',
    provider: 'batch',
    title: 'batch',
    startable: false,
    batchItem: false,
    cost: 'not-a-batch-item',
    pacedTaskQueue: false,
  },
} as const satisfies Record<string, PipelineEntry>;

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
/** Providers whose activities run on a paced task queue of their own. */
export const PACED_PROVIDERS: readonly string[] = PIPELINE_IDS.filter((id) => PIPELINES[id].pacedTaskQueue).map((id) => PIPELINES[id].provider);

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

