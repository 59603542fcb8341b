import { ContinueAsNew, TemporalFailure, isCancellation, metricMeter, workflowInfo } from '@temporalio/workflow';
import { METRIC } from '../../contract/metrics';

/**
 * Metrics recorded by workflow code, through the SDK's workflow metric meter: the SDK hands them to the
 * worker's meter through a sink and drops them while a run replays, so a restarted worker or an evicted
 * run never counts twice. The meter tags every value with the run's namespace, task queue and workflow
 * type. Metric objects are made at the call (a workflow module's top level runs outside a workflow context).
 */

/** The provider a pipeline's workflow type is for (`lipdubPipeline` → `lipdub`). */
function providerOfRun(): string {
  return workflowInfo().workflowType.replace(/Pipeline$/, '');
}

/**
 * Run a pipeline's workflow function, counting it started (not a continued run) and finished by outcome.
 * Only failures that fail the run count: any other error fails the workflow task, which is retried.
 */
export async function countPipelineRun<T>(run: () => Promise<T>): Promise<T> {
  if (workflowInfo().continuedFromExecutionRunId === undefined) {
    metricMeter.createCounter(METRIC.pipelinesStarted, undefined, 'Pipeline runs started, by workflow type').add(1);
  }
  const finished = (outcome: 'completed' | 'failed' | 'cancelled') =>
    metricMeter.createCounter(METRIC.pipelinesFinished, undefined, 'Pipeline runs finished, by workflow type and outcome').add(1, { outcome });
  let result: T;
  try {
    result = await run();
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err;
    if (isCancellation(err)) finished('cancelled');
    else if (err instanceof TemporalFailure) finished('failed');
    throw err;
  }
  finished('completed');
  return result;
}

/** One status call of a pipeline waiting for its provider job. */
export function countStatusPoll(): void {
  metricMeter.createCounter(METRIC.statusPolls, undefined, 'Status calls made while waiting for provider jobs').add(1, { provider: providerOfRun() });
}

/** How long a provider job took, from the first status call to the one that saw it end. */
export function recordProviderJobDuration(ms: number): void {
  metricMeter
    .createHistogram(METRIC.providerJobDuration, 'float', 's', 'Provider job duration, from its first status call to its end')
    .record(Math.max(0, ms) / 1000, { provider: providerOfRun() });
}

/** How long a pipeline waited from asking for a provider job slot to getting it. */
export function recordSlotWait(provider: string, ms: number): void {
  metricMeter.createHistogram(METRIC.slotWaitDuration, 'float', 's', 'Time from asking for a provider job slot to getting it').record(Math.max(0, ms) / 1000, { provider });
}

/** The limiter queued a request behind every slot taken: the pipeline has to wait. */
export function countSlotWait(provider: string): void {
  metricMeter.createCounter(METRIC.slotWaits, undefined, 'Requests for a provider job slot that found every slot taken').add(1, { provider });
}

/** The job slots a provider's limiter has handed out (jobs in flight across every worker). */
export function recordJobsInFlight(provider: string, holders: number): void {
  metricMeter.createGauge(METRIC.jobsInFlight, 'int', undefined, 'Provider jobs holding a job slot, as the provider\'s limiter sees them').set(holders, { provider });
}
