// Every workflow the worker registers. Only deterministic code is reachable from here.
export { lipdubPipeline, lipdubWorkflowId } from './lipdub';
export { dublabPipeline, dublabWorkflowId } from './dublab';
export { text2videoPipeline, text2videoWorkflowId } from './text2video';
export { vividflowPipeline, vividflowWorkflowId } from './vividflow';
export { aistudioPipeline, aistudioWorkflowId } from './aistudio';
export { localizePipeline, localizeWorkflowId } from './localize';
export { providerLimiterWorkflow } from './limiter';
export { progressQuery } from './shared/progress';
export type { PipelineProgress } from './shared/progress';
export { batchPipeline, batchWorkflowId, batchProgressQuery, pauseSignal, resumeSignal, cancelBatchSignal } from './batch';
