/**
 * A benchmark worker as a process of its own, so its CPU and RSS can be read from /proc:
 *
 *   node --import tsx scripts/bench/worker.ts reelay   the Reelay worker (createReelayWorker, as `reelay worker`)
 *   node --import tsx scripts/bench/worker.ts noop     the reference: scripts/bench/workflows/noop.ts
 *   node --import tsx scripts/bench/worker.ts slots    the Reelay worker with the limiter bench's bundle (scripts/bench/workflows/slots.ts)
 *
 * Settings come from the environment: TEMPORAL_ADDRESS, REELAY_TASK_QUEUE, REELAY_WORKFLOW_BUNDLE (a
 * prebuilt bundle, so no process spends its CPU bundling) and the provider URLs for `reelay`. Writes
 * `ready` on stdout once it polls; SIGTERM stops it.
 */
import { DefaultLogger, Runtime, Worker, type LogLevel } from '@temporalio/worker';
import { taskQueue } from '../../src/config';
import { connectWorkerConnection, createReelayWorker } from '../../src/workers/worker';
import type { NoopActivities, PollActivities } from './workflows/noop';

const noopActivities: NoopActivities & PollActivities = {
  async noopStep() {
    // Nothing: the reference measures orchestration alone.
  },
  async noopPoll(url: string) {
    // The status call of a poll (its answer is not read: the job never ends).
    const res = await fetch(url);
    await res.arrayBuffer();
  },
};

async function main(): Promise<void> {
  const kind = process.argv[2];
  if (kind !== 'reelay' && kind !== 'noop' && kind !== 'slots') throw new Error('usage: worker.ts reelay|noop|slots');
  const bundle = process.env.REELAY_WORKFLOW_BUNDLE;
  if (!bundle) throw new Error('REELAY_WORKFLOW_BUNDLE must name a prebuilt workflow bundle');
  Runtime.install({ logger: new DefaultLogger((process.env.REELAY_LOG_LEVEL ?? 'WARN') as LogLevel), shutdownSignals: [] });
  const connection = await connectWorkerConnection(process.env);
  const worker =
    kind !== 'noop'
      ? await createReelayWorker({ connection, env: process.env })
      : await Worker.create({
          connection,
          namespace: process.env.TEMPORAL_NAMESPACE || 'default',
          taskQueue: taskQueue(process.env),
          workflowBundle: { codePath: bundle },
          activities: noopActivities,
          // As the Reelay worker's.
          maxConcurrentActivityTaskExecutions: 50,
        });
  const running = worker.run();
  process.once('SIGTERM', () => worker.shutdown());
  process.stdout.write('ready\n');
  await running;
  await connection.close();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench worker: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
