import { createBatchActivities } from './batch';
import { createDublabActivities } from './dublab';
import { createGenerationActivities } from './generation';
import { createLimiterActivities } from './limiter';
import { createLipdubActivities } from './lipdub';
import { type ActivityDeps, withFailureTranslation } from './shared';

export type { ActivityDeps } from './shared';

/** Every activity the worker registers, with provider faults translated to Temporal failures in one place. */
export function createActivities(deps: ActivityDeps) {
  return withFailureTranslation({
    ...createLipdubActivities(deps),
    ...createDublabActivities(deps),
    ...createGenerationActivities(deps),
    ...createLimiterActivities(deps),
    ...createBatchActivities(deps),
  });
}

export type Activities = ReturnType<typeof createActivities>;
