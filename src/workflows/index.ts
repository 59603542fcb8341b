// Every workflow the worker registers. Only deterministic code is reachable from here.
export { lipdubPipeline, lipdubWorkflowId } from './lipdub';
export { dublabPipeline, dublabWorkflowId } from './dublab';
export { progressQuery } from './shared/progress';
export type { PipelineProgress } from './shared/progress';
