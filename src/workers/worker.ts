import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { Dispatcher } from 'undici';
import { createActivities } from '../activities';
import { outputDir, taskQueue, temporalSettings } from '../config';

export interface ReelayWorkerOptions {
  connection?: NativeConnection;
  namespace?: string;
  taskQueue?: string;
  outputRoot?: string;
  env?: NodeJS.ProcessEnv;
  dispatcher?: Dispatcher;
  /** A prebuilt bundle (tests build it once); otherwise the worker bundles src/workflows at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  identity?: string;
  maxConcurrentActivityTaskExecutions?: number;
}

export const WORKFLOWS_PATH = require.resolve('../workflows');

export async function connectWorkerConnection(env: NodeJS.ProcessEnv = process.env): Promise<NativeConnection> {
  const s = temporalSettings(env);
  return NativeConnection.connect({ address: s.address, tls: s.tls, apiKey: s.apiKey });
}

/**
 * A stateless worker for every Reelay workflow and activity. Provider keys are read by the activities
 * from `env` when first needed, so a worker without a DubLab key still runs LipDub pipelines.
 */
export async function createReelayWorker(opts: ReelayWorkerOptions = {}): Promise<Worker> {
  const env = opts.env ?? process.env;
  const connection = opts.connection ?? (await connectWorkerConnection(env));
  return Worker.create({
    connection,
    namespace: opts.namespace ?? temporalSettings(env).namespace,
    taskQueue: opts.taskQueue ?? taskQueue(env),
    ...(opts.identity ? { identity: opts.identity } : {}),
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities({ outputRoot: opts.outputRoot ?? outputDir(env), dispatcher: opts.dispatcher, env }),
    // Transfers are I/O bound and stream in constant memory; status calls are tiny.
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivityTaskExecutions ?? 50,
  });
}
