// A worker in a process of its own, so a test can SIGKILL it like a crashed machine. Configured entirely
// by environment (the sandbox's env, REELAY_TASK_QUEUE, REELAY_OUTPUT_DIR, REELAY_TEST_*, REELAY_PAYLOAD_KEY …),
// prints READY. REELAY_TEST_WORKER_LOG_LEVEL sets its log level (default ERROR), logged to stderr (REELAY_LOG_FORMAT). With
// REELAY_METRICS_ADDR its runtime carries the SDK's Prometheus exporter, served there with the probes.
import { NativeConnection, type LogLevel } from '@temporalio/worker';
import { reelayLogger } from '../../src/ops/logging';
import { installRuntime } from '../../src/ops/runtime';
import { createReelayWorker } from '../../src/workers/worker';

async function main(): Promise<void> {
  const level = (process.env.REELAY_TEST_WORKER_LOG_LEVEL as LogLevel | undefined) || 'ERROR';
  const logger = reelayLogger(level, process.env.REELAY_LOG_FORMAT === 'json' ? 'json' : 'text');
  await installRuntime({ logger, metrics: Boolean(process.env.REELAY_METRICS_ADDR?.trim()) });
  const connection = await NativeConnection.connect({ address: process.env.REELAY_TEST_TEMPORAL_ADDRESS! });
  const worker = await createReelayWorker({
    connection,
    namespace: 'default',
    workflowBundle: { codePath: process.env.REELAY_TEST_WORKFLOW_BUNDLE! },
  });
  const running = worker.run();
  process.stdout.write('READY\n');
  await running;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
