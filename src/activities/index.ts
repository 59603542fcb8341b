import { createAistudioActivities } from '../pipelines/aistudio/activities';
import { createBatchActivities } from '../pipelines/batch/activities';
import { createDublabActivities } from '../pipelines/dublab/activities';
import { createLipdubActivities } from '../pipelines/lipdub/activities';
import { createText2videoActivities } from '../pipelines/text2video/activities';
import { createVividflowActivities } from '../pipelines/vividflow/activities';
import { createInputActivities } from './input';
import { createLimiterActivities } from './limiter';
import { type ActivityDeps, withFailureTranslation, withProviderCallMetrics } from './shared';
import { createWaitActivities } from './wait';
import { createWebhookActivities } from './webhook';

export type { ActivityDeps } from './shared';

/**
 * Every activity the worker registers, with provider faults translated to Temporal failures in one place
 * and provider calls counted in the worker's metrics, and the wait that retries a status call until the
 * job changes.
 */
function createCallActivities(deps: ActivityDeps) {
  return withProviderCallMetrics(deps.metrics, withFailureTranslation({
    ...createLipdubActivities(deps),
    ...createDublabActivities(deps),
    ...createText2videoActivities(deps),
    ...createVividflowActivities(deps),
    ...createAistudioActivities(deps),
    ...createLimiterActivities(deps),
    ...createBatchActivities(deps),
    ...createWebhookActivities(deps),
    ...createInputActivities(),
  }));
}

/** The activities that make provider (and limiter, webhook) calls: everything but the wait. */
export type CallActivities = ReturnType<typeof createCallActivities>;

export function createActivities(deps: ActivityDeps) {
  const calls = createCallActivities(deps);
  // A wait is a status call retried by the server (src/activities/wait.ts); the call inside is counted as itself.
  return { ...calls, ...createWaitActivities(calls) };
}

export type Activities = ReturnType<typeof createActivities>;
