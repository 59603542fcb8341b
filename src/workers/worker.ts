import fs from 'node:fs';
import os from 'node:os';
import { NativeConnection, Runtime, Worker, type State, type WorkerOptions } from '@temporalio/worker';
import type { Dispatcher } from 'undici';
import { createActivities } from '../activities';
import { bundleEncodesFailures, dataConverterForKeys } from '../codec';
import { isLoadedConfig, loadClientConfig, loadConfig, type ReelayClientConfig, type ReelayConfig } from '../config';
import { checkOutputStore } from '../storage/worker-store';
import { connectionOptions } from '../temporal-config';
import { providerTaskQueue } from '../contract/task-queues';
import { PACED_PROVIDERS } from '../pipelines/registry';
import { createReelayMetrics } from '../ops/metrics';
import { sdkPrometheusAddress } from '../ops/runtime';
import { startOpsServer, type OpsServer } from '../ops/server';
import { workerReadinessChecks } from '../ops/readiness';
import { workerTracing } from '../telemetry/worker';
import { settleDeploymentRate } from './paced-rate';

export interface ReelayWorkerOptions {
  connection?: NativeConnection;
  namespace?: string;
  taskQueue?: string;
  outputRoot?: string;
  /** The configuration, loaded once at start (`loadConfig`); otherwise loaded here from `env`. */
  config?: ReelayConfig;
  /** Where the configuration is read from when `config` is not given (default process.env). */
  env?: NodeJS.ProcessEnv;
  dispatcher?: Dispatcher;
  /**
   * A prebuilt bundle (tests build it once; `REELAY_WORKFLOW_BUNDLE` names one for `reelay worker`);
   * otherwise the worker bundles the workflows at start (src/workflows, or dist/workflows in the package).
   * With payload encryption or tracing (OTEL_*) on, build it with `workflowBundleOptions(env)` (src/codec)
   * or the worker refuses it.
   */
  workflowBundle?: WorkerOptions['workflowBundle'];
  identity?: string;
  maxConcurrentActivityTaskExecutions?: number;
}

export const WORKFLOWS_PATH = require.resolve('../workflows');

/** A worker connection to the configured Temporal (envconfig profiles and TEMPORAL_* variables). */
export async function connectWorkerConnection(from: NodeJS.ProcessEnv | ReelayClientConfig = process.env): Promise<NativeConnection> {
  const config = isLoadedConfig(from) ? from : loadClientConfig(from);
  return NativeConnection.connect(connectionOptions(config.temporal));
}

/**
 * Failures raised in workflow code are converted inside the workflow bundle, by the failure converter
 * it was built with: a bundle built without the encrypting one would store failure messages in
 * plaintext while everything else is encrypted.
 */
function assertBundleEncodesFailures(bundle: NonNullable<WorkerOptions['workflowBundle']>): void {
  const code = 'code' in bundle ? bundle.code : fs.readFileSync(bundle.codePath, 'utf8');
  if (!bundleEncodesFailures(code)) {
    throw new Error(
      'payload encryption is on (REELAY_PAYLOAD_KEY) but the workflow bundle was built without the encrypting failure converter: ' +
        'build it with bundleWorkflowCode({ ...workflowBundleOptions(env) }) from src/codec, or let the worker bundle the workflows itself',
    );
  }
}

/** The workers of one Reelay process, run and stopped together. */
export interface ReelayWorker {
  run(): Promise<void>;
  shutdown(): void;
  getState(): State;
  /** `host:port` of /metrics, /healthz and /readyz (REELAY_METRICS_ADDR), while the worker runs. */
  metricsAddress?: string;
}

/**
 * A stateless worker for every Reelay workflow and activity, plus one activity worker per rate-limited
 * provider on that provider's task queue (`reelay-vividflow`), where the Temporal server paces that
 * provider's requests across every worker of the queue, at the rate set once for the deployment in the
 * queue's config (src/workers/paced-rate.ts). Those
 * activities are never eagerly dispatched (they are on another queue than their workflow), so the
 * server's rate limit cannot be bypassed (temporalio/temporal#6800). The configuration is read and
 * checked before anything connects (a bad value throws ConfigError); provider keys are checked by the
 * activities when first needed, so a worker without a DubLab key still runs LipDub pipelines.
 */
export async function createReelayWorker(opts: ReelayWorkerOptions = {}): Promise<ReelayWorker> {
  const config = opts.config ?? loadConfig(opts.env ?? process.env);
  const workflowBundle = opts.workflowBundle ?? (config.workflowBundlePath ? { codePath: config.workflowBundlePath } : undefined);
  // OTEL_* (off unless configured); refuses a prebuilt bundle without the workflow interceptors when on.
  const tracing = await workerTracing(opts.env ?? process.env, workflowBundle);
  // An s3:// output location must be reachable and writable before the worker takes any task.
  await checkOutputStore(config);
  const connection = opts.connection ?? (await connectWorkerConnection(config));
  const namespace = opts.namespace ?? config.temporal.namespace;
  const queue = opts.taskQueue ?? config.taskQueue;
  const dataConverter = dataConverterForKeys(config.payloadKeys);
  if (dataConverter.failureConverterPath && workflowBundle) assertBundleEncodesFailures(workflowBundle);
  const cached = config.maxCachedWorkflows;
  // Worker Versioning: pipelines stay on the version they started on (PINNED, the default here); the
  // batch, the limiter and webhook deliveries say AUTO_UPGRADE in src/workflows/index.ts.
  const versioning = config.deployment
    ? {
        workerDeploymentOptions: {
          version: { deploymentName: config.deployment.name, buildId: config.deployment.buildId },
          useWorkerVersioning: true as const,
          defaultVersioningBehavior: 'PINNED' as const,
        },
      }
    : {};
  const metrics = createReelayMetrics(Runtime.instance().metricMeter);
  const activities = createActivities({ outputRoot: opts.outputRoot ?? config.outputDir, dispatcher: opts.dispatcher, config, metrics });
  const main = await Worker.create(tracing.apply({
    connection,
    namespace,
    taskQueue: queue,
    dataConverter,
    ...(opts.identity ? { identity: opts.identity } : {}),
    ...(workflowBundle ? { workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities,
    // Transfers are I/O bound and stream in constant memory; status calls are tiny.
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivityTaskExecutions ?? 50,
    // A deploy's SIGTERM lets running transfers and status calls finish (up to REELAY_SHUTDOWN_GRACE).
    shutdownGraceTime: config.shutdownGraceMs,
    ...versioning,
    ...(cached !== undefined ? { maxCachedWorkflows: cached } : {}),
  }));
  const paced = await Promise.all(
    PACED_PROVIDERS.map(async (provider) => {
      const perSecond = config.providers[provider].requestsPerSecond;
      // The pace is the deployment's, held in the queue's config on the server (src/workers/paced-rate.ts).
      const settled = await settleDeploymentRate({
        service: connection.workflowService,
        namespace,
        taskQueue: providerTaskQueue(queue, provider),
        configured: perSecond,
        variables: `REELAY_${provider.toUpperCase()}_REQUESTS_PER_SECOND/_HOUR/_DAY`,
        identity: opts.identity ?? `${process.pid}@${os.hostname()}`,
      });
      const log = Runtime.instance().logger;
      if (settled.warning) log.warn(settled.warning, { provider, taskQueue: providerTaskQueue(queue, provider) });
      else if (settled.source === 'set-by-this-worker') log.info(`${providerTaskQueue(queue, provider)}: deployment rate set to ${settled.requestsPerSecond} requests/s`, { provider });
      return Worker.create(tracing.apply({
        connection,
        namespace,
        taskQueue: providerTaskQueue(queue, provider),
        dataConverter,
        ...(opts.identity ? { identity: `${opts.identity}-${provider}` } : {}),
        activities,
        shutdownGraceTime: config.shutdownGraceMs,
        // The paced queues are part of the same version, so a pinned run's activities find its workers.
        ...versioning,
        ...(perSecond !== undefined ? { maxTaskQueueActivitiesPerSecond: perSecond } : {}),
      }));
    }),
  );
  const all = [main, ...paced];
  // Up before the workers poll, so /readyz says 503 until they do.
  let ops: OpsServer | undefined;
  if (config.metricsAddr) {
    ops = await startOpsServer({ listen: config.metricsAddr, sdkExporter: sdkPrometheusAddress(), checks: workerReadinessChecks({ connection, workers: all, config }) });
  }
  return {
    run: async () => {
      try {
        await Promise.all(all.map((w) => w.run())).finally(() => tracing.flush());
      } finally {
        await ops?.close();
      }
    },
    shutdown: () => {
      for (const w of all) if (w.getState() === 'RUNNING') w.shutdown();
    },
    getState: () => main.getState(),
    ...(ops ? { metricsAddress: ops.address } : {}),
  };
}
