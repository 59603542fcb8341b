import type { PipelineEntry } from '../spec';

/** A batch is started from a manifest (`reelay batch run`, src/pipelines/batch/start.ts), not by `reelay start`. */
export const batchSpec = {
  workflowType: 'batchPipeline',
  idPrefix: 'batch',
  provider: 'batch',
  title: 'batch',
  startable: false,
  batchItem: false,
  cost: 'not-a-batch-item',
  pacedTaskQueue: false,
} as const satisfies PipelineEntry;
