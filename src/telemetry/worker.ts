import fs from 'node:fs';
import type { WorkerOptions } from '@temporalio/worker';
import { bundleTracesWorkflows, tracingSettings } from './settings';

export interface WorkerTracing {
  on: boolean;
  /** The options of one Worker.create, with tracing added when it is on. */
  apply(options: WorkerOptions): WorkerOptions;
  /** Exports the spans still buffered (when the worker stops). */
  flush(): Promise<void>;
}

/**
 * Tracing for a worker process, from the OTEL_* variables of `env`. The workflow interceptors run inside
 * the workflow bundle: a worker that bundles at start includes them, a prebuilt bundle
 * (REELAY_WORKFLOW_BUNDLE, the tests' bundle) must have been built with them
 * (`bundleWorkflowCode({ ...workflowBundleOptions(env) })`, src/codec) or the worker refuses it, rather
 * than run with traces that stop at the client. A bundle built with them still runs with tracing off.
 */
export async function workerTracing(env: NodeJS.ProcessEnv, workflowBundle: WorkerOptions['workflowBundle']): Promise<WorkerTracing> {
  const settings = tracingSettings(env);
  if (!settings) {
    // A bundle built with the interceptors exports through the `exporter` sink: drop its spans rather than
    // have the worker log an unregistered sink at every workflow task (a bundle without them never calls it).
    const drop: WorkerOptions['sinks'] = { exporter: { export: { fn: () => undefined } } };
    return { on: false, apply: (options) => ({ ...options, sinks: { ...options.sinks, ...drop } }), flush: async () => undefined };
  }
  const code = workflowBundle ? ('code' in workflowBundle ? workflowBundle.code : fs.readFileSync(workflowBundle.codePath, 'utf8')) : undefined;
  if (code !== undefined && !bundleTracesWorkflows(code)) {
    throw new Error(
      'tracing is on (OTEL_* variables) but the prebuilt workflow bundle was built without the OpenTelemetry workflow interceptors: ' +
        'build it with bundleWorkflowCode({ ...workflowBundleOptions(env) }) from src/codec under the same OTEL_* settings, ' +
        'let the worker bundle the workflows itself (unset REELAY_WORKFLOW_BUNDLE), or turn tracing off (OTEL_TRACES_EXPORTER=none)',
    );
  }
  const { installTracing, withTracing, flushTracing } = await import('./tracing');
  const tracing = installTracing(settings, 'reelay-worker');
  return { on: true, apply: (options) => withTracing(options, tracing), flush: flushTracing };
}
