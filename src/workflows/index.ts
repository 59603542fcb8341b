// Every workflow the worker registers. Only deterministic code is reachable from here.
//
// Each run evaluates its own copy of every module it reaches (the worker's reusable V8 context keeps
// module state per run). So each pipeline's module is required only when a run of that pipeline starts
// or replays, and no workflow module imports a module that builds zod schemas, except as types: inputs
// are validated by the validateInput activity in the worker's shared context
// (./shared/input.ts), and only a replay of a run from before that patch loads its pipeline's schema
// (docs/performance.md, Light runs; test/workflows/light-runs.test.ts measures it). Id builders,
// signals and queries are imported from the registry and the neutral modules (`../pipelines/registry`,
// `../pipelines/batch/signals`, `../contract/progress`), not from here.
//
// The worker finds a workflow by its export name, and the bundler needs each `require` spelled out, so
// the list is written here; the type check at the bottom refuses a registered pipeline left out of it.
import type * as Aistudio from '../pipelines/aistudio/workflow';
import type * as Batch from '../pipelines/batch/workflow';
import type * as Dublab from '../pipelines/dublab/workflow';
import type * as Lipdub from '../pipelines/lipdub/workflow';
import type * as Localize from '../pipelines/localize/workflow';
import type * as Text2video from '../pipelines/text2video/workflow';
import type * as Vividflow from '../pipelines/vividflow/workflow';
import type { PipelineWorkflowType } from '../pipelines/registry';
import { setWorkflowOptions, workflowInfo } from '@temporalio/workflow';
import { withNotify } from './shared/notify';
import { countPipelineRun } from './shared/metrics';
import { continuable, type CarriedState } from './shared/continuation';
import { answerProgressFromStart } from './shared/progress';

/**
 * A workflow whose module is required when a run first calls it, with its completion webhook
 * (`notify` in its input: src/workflows/shared/notify.ts) around it; its runs are counted (shared/metrics.ts)
 * and it continues as new before its history outgrows its budget, carrying its state in a second argument
 * (shared/continuation.ts).
 */
function lazy<I, R>(load: () => (input: I) => Promise<R>): (input: I, carried?: CarriedState) => Promise<R> {
  return withNotify((input: I, carried?: CarriedState) =>
    countPipelineRun(() => {
      answerProgressFromStart(carried?.progress);
      return continuable(input, carried, () => load()(input));
    }),
  );
}

/** The batch continues as new by itself, with its own state (src/pipelines/batch/workflow.ts). */
function lazyBatch<I, R>(load: () => (input: I) => Promise<R>): (input: I) => Promise<R> {
  return withNotify((input: I) => countPipelineRun(() => load()(input)));
}

export const lipdubPipeline = lazy(() => (require('../pipelines/lipdub/workflow') as typeof Lipdub).lipdubPipeline);
export const dublabPipeline = lazy(() => (require('../pipelines/dublab/workflow') as typeof Dublab).dublabPipeline);
export const text2videoPipeline = lazy(() => (require('../pipelines/text2video/workflow') as typeof Text2video).text2videoPipeline);
export const vividflowPipeline = lazy(() => (require('../pipelines/vividflow/workflow') as typeof Vividflow).vividflowPipeline);
export const aistudioPipeline = lazy(() => (require('../pipelines/aistudio/workflow') as typeof Aistudio).aistudioPipeline);
export const localizePipeline = lazy(() => (require('../pipelines/localize/workflow') as typeof Localize).localizePipeline);
export const batchPipeline = lazyBatch(() => (require('../pipelines/batch/workflow') as typeof Batch).batchPipeline);

// No schemas behind these.
import { providerLimiterWorkflow } from './limiter';
import { webhookDelivery } from './webhook';
export { providerLimiterWorkflow, webhookDelivery };

// Worker Versioning (when the worker joins a Worker Deployment, docs/deploying.md): a pipeline stays on
// the version it started on (the worker's default, PINNED), so a deploy never replays it through changed
// code. The batch and the limiter continue-as-new and run for days, and a webhook delivery retries for up
// to a day: each of their runs moves to the current version instead of holding an old one up.
// Said only to a versioned worker: an unversioned one fails a task that names a behavior.
const autoUpgrade = () => (workflowInfo().currentDeploymentVersion?.deploymentName ? { versioningBehavior: 'AUTO_UPGRADE' as const } : {});
setWorkflowOptions(autoUpgrade, batchPipeline);
setWorkflowOptions(autoUpgrade, providerLimiterWorkflow);
setWorkflowOptions(autoUpgrade, webhookDelivery);
export { progressQuery } from '../contract/progress';
export type { PipelineProgress } from '../contract/progress';

/** Fails to compile when a registered pipeline's workflow type is not exported above. */
type ExportedWorkflow<T extends keyof typeof import('./index')> = T;
export type RegisteredWorkflowTypes = ExportedWorkflow<PipelineWorkflowType>;
