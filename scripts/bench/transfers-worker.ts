/**
 * The worker process of the transfers benchmark: a real Temporal worker whose two activities run
 * Reelay's streaming transfers (uploadToSignedUrl, downloadToFile) with the hooks every pipeline
 * activity uses (activityTransferHooks: heartbeat with bytes done, cancellation signal) and the same
 * failure translation. It runs alone in this process so the bench can attribute its RSS and CPU.
 *
 * Like a Reelay worker it runs the workflow side too (the bench's one-activity workflow). Started before
 * the dev server is up (its module loading overlaps that), it takes its configuration as the first IPC
 * message and answers `ready`; it shuts down when the IPC channel closes.
 */
import { performance } from 'node:perf_hooks';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { activityTransferHooks, withFailureTranslation, type ActivityDeps } from '../../src/activities/shared';
import { downloadToFile, uploadToSignedUrl } from '../../src/activities/transfer';

export type BenchTransferRequest =
  | { kind: 'upload'; source: string; url: string; contentType: string }
  | { kind: 'download'; url: string; name: string };

export interface BenchTransferResult {
  bytes: number;
  sha256: string;
  /** Wall time of the transfer call inside the activity. */
  seconds: number;
}

export interface BenchWorkerConfig {
  address: string;
  taskQueue: string;
  /** The bundled transfers-workflow.ts. */
  bundlePath: string;
  outputRoot: string;
}

export function createBenchTransferActivities(deps: Pick<ActivityDeps, 'outputRoot' | 'dispatcher'>) {
  return withFailureTranslation({
    async benchUpload(req: BenchTransferRequest): Promise<BenchTransferResult> {
      if (req.kind !== 'upload') throw new Error('benchUpload takes an upload request');
      const t0 = performance.now();
      // The store is provider-agnostic; `lipdub` only names the provider in error messages.
      const r = await uploadToSignedUrl({ source: req.source, url: req.url, contentType: req.contentType, provider: 'lipdub' }, activityTransferHooks(deps, 'uploading'));
      return { ...r, seconds: (performance.now() - t0) / 1000 };
    },
    async benchDownload(req: BenchTransferRequest): Promise<BenchTransferResult> {
      if (req.kind !== 'download') throw new Error('benchDownload takes a download request');
      const t0 = performance.now();
      const r = await downloadToFile({ url: req.url, dir: deps.outputRoot, name: req.name, provider: 'lipdub' }, activityTransferHooks(deps, 'downloading'));
      return { bytes: r.bytes, sha256: r.sha256, seconds: (performance.now() - t0) / 1000 };
    },
  });
}

export type BenchTransferActivities = ReturnType<typeof createBenchTransferActivities>;

async function main(): Promise<void> {
  const config = await new Promise<BenchWorkerConfig>((resolve) => process.once('message', (m) => resolve(m as BenchWorkerConfig)));
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address: config.address });
  const worker = await Worker.create({
    connection,
    namespace: 'default',
    taskQueue: config.taskQueue,
    workflowBundle: { codePath: config.bundlePath },
    activities: createBenchTransferActivities({ outputRoot: config.outputRoot }),
  });
  const running = worker.run();
  // The bench's RSS baseline is taken after a full collection (it runs this process with --expose-gc).
  process.on('message', (m) => {
    if (m !== 'gc') return;
    (globalThis as { gc?: () => void }).gc?.();
    process.send?.('gc-done');
  });
  process.send?.('ready');
  process.once('disconnect', () => worker.shutdown());
  await running;
  await connection.close();
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`transfers worker: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
