/**
 * A workflow interceptor for tests and the benchmark: the `reelayProbe.modules` query answers, for one
 * run, which bundled modules that run has evaluated (the SDK keeps a module cache per run,
 * src/workflows/index.ts) and whether zod's global state exists in the run's globals. It answers before
 * any handler of the workflow's, so it works on every workflow type. Bundled only with
 * `workflowInterceptorModules`, never by a Reelay worker.
 */
import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';

export const MODULES_QUERY = 'reelayProbe.modules';

export interface EvaluatedModules {
  /** The bundle's module ids the run evaluated (paths, as webpack names them in the SDK's bundle). */
  modules: string[];
  /** zod sets `globalThis.__zod_globalConfig` when it is evaluated. */
  zodGlobal: boolean;
}

export const interceptors: WorkflowInterceptorsFactory = () => ({
  inbound: [
    {
      async handleQuery(input, next) {
        if (input.queryName !== MODULES_QUERY) return next(input);
        const activator = (globalThis as { __TEMPORAL_ACTIVATOR__?: { moduleCache?: Map<unknown, unknown> } }).__TEMPORAL_ACTIVATOR__;
        const answer: EvaluatedModules = {
          modules: [...(activator?.moduleCache?.keys() ?? [])].map(String),
          zodGlobal: '__zod_globalConfig' in globalThis,
        };
        return answer;
      },
    },
  ],
});
