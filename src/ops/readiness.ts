import { HeadBucketCommand } from '@aws-sdk/client-s3';
import type { NativeConnection, State } from '@temporalio/worker';
import type { ReelayConfig } from '../config';
import { classifyStoreError } from '../storage/errors';
import { storeForConfig } from '../storage/worker-store';
import type { ReadinessCheck } from './server';

/**
 * What /readyz checks for a worker: Temporal answers on the worker's connection (its gRPC health
 * service), every worker of the process polls (state RUNNING), and the object store answers when outputs go to one.
 */
export function workerReadinessChecks(opts: {
  connection: NativeConnection;
  workers: ReadonlyArray<{ getState(): State; options: { taskQueue: string } }>;
  config: Pick<ReelayConfig, 'storage'>;
}): ReadinessCheck[] {
  const checks: ReadinessCheck[] = [
    {
      name: 'temporal',
      check: async () => {
        const res = await opts.connection.healthService.check({});
        // 1 = SERVING (grpc.health.v1)
        return res.status === 1 ? undefined : `the frontend's health check answered status ${String(res.status)}`;
      },
    },
    {
      name: 'worker',
      check: async () => {
        const idle = opts.workers.filter((w) => w.getState() !== 'RUNNING');
        return idle.length === 0 ? undefined : idle.map((w) => `task queue ${w.options.taskQueue} is ${w.getState()}`).join('; ');
      },
    },
  ];
  const out = opts.config.storage.output;
  if (out.kind === 's3') {
    checks.push({
      name: 'store',
      check: async (signal) => {
        const store = storeForConfig(opts.config);
        try {
          await store.client.send(new HeadBucketCommand({ Bucket: out.bucket }), { abortSignal: signal });
          return undefined;
        } catch (err) {
          return classifyStoreError(err, `reaching bucket ${out.bucket}`, store.settings.endpoint).message;
        }
      },
    });
  }
  return checks;
}
