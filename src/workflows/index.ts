// Every workflow the worker registers. Only deterministic code is reachable from here.
//
// Each run evaluates its own copy of every module it reaches (the worker's reusable V8 context keeps
// module state per run), and a pipeline's module reaches zod and its input schemas, which zod builds at
// a cost: 2.3 MB and ~60 ms of CPU per run when every run built every pipeline's schemas (a waiting
// text2video run held LipDub's, DubLab's, … too). So each pipeline's module is required only when a run
// of that pipeline starts or replays: a run holds its own schemas alone. Id builders, signals and
// queries are imported from the pipeline's module (`./batch`, `./shared/progress`), not from here.
import type * as Aistudio from './aistudio';
import type * as Batch from './batch';
import type * as Dublab from './dublab';
import type * as Lipdub from './lipdub';
import type * as Localize from './localize';
import type * as Text2video from './text2video';
import type * as Vividflow from './vividflow';

export function lipdubPipeline(input: Parameters<typeof Lipdub.lipdubPipeline>[0]): ReturnType<typeof Lipdub.lipdubPipeline> {
  return (require('./lipdub') as typeof Lipdub).lipdubPipeline(input);
}

export function dublabPipeline(input: Parameters<typeof Dublab.dublabPipeline>[0]): ReturnType<typeof Dublab.dublabPipeline> {
  return (require('./dublab') as typeof Dublab).dublabPipeline(input);
}

export function text2videoPipeline(input: Parameters<typeof Text2video.text2videoPipeline>[0]): ReturnType<typeof Text2video.text2videoPipeline> {
  return (require('./text2video') as typeof Text2video).text2videoPipeline(input);
}

export function vividflowPipeline(input: Parameters<typeof Vividflow.vividflowPipeline>[0]): ReturnType<typeof Vividflow.vividflowPipeline> {
  return (require('./vividflow') as typeof Vividflow).vividflowPipeline(input);
}

export function aistudioPipeline(input: Parameters<typeof Aistudio.aistudioPipeline>[0]): ReturnType<typeof Aistudio.aistudioPipeline> {
  return (require('./aistudio') as typeof Aistudio).aistudioPipeline(input);
}

export function localizePipeline(input: Parameters<typeof Localize.localizePipeline>[0]): ReturnType<typeof Localize.localizePipeline> {
  return (require('./localize') as typeof Localize).localizePipeline(input);
}

export function batchPipeline(input: Parameters<typeof Batch.batchPipeline>[0]): ReturnType<typeof Batch.batchPipeline> {
  return (require('./batch') as typeof Batch).batchPipeline(input);
}

// No schemas behind this one.
export { providerLimiterWorkflow } from './limiter';
export { progressQuery } from './shared/progress';
export type { PipelineProgress } from './shared/progress';
