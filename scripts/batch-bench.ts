/**
 * Batch benchmark: N text2video items (sandbox timings zero, fast polling) through one batch on a fresh
 * dev server, with the sandbox and one worker in this process. Prints wall time, runs, the largest run's
 * history, and this process's peak RSS (worker + sandbox; the Temporal server is a separate process).
 *
 *   npx tsx scripts/batch-bench.ts [--items 1000] [--window 50] [--items-per-run 500]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { startBatch } from '../src/pipelines/batch/start';
import { ensureTemporalCli } from '../src/dev/temporal';
import { startSandbox } from '../src/sandbox';
import { createReelayWorker } from '../src/workers/worker';
import { REELAY_SEARCH_ATTRIBUTES } from '../src/contract/search-attributes';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { items: { type: 'string' }, window: { type: 'string' }, 'items-per-run': { type: 'string' } } });
  const items = Number(values.items ?? 1000);
  const window = Number(values.window ?? 50);
  const itemsPerRun = Number(values['items-per-run'] ?? 500);
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const cli = ensureTemporalCli({ log: () => undefined });
  const env = await TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'existing-path', path: cli.path }, searchAttributes: [...REELAY_SEARCH_ATTRIBUTES], ip: '127.0.0.1' } });
  const sandbox = await startSandbox({ timings: { text2video: { queueMs: 0, stageMs: 0 } } });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reelay-batch-bench-'));
  const taskQueue = 'batch-bench';
  const worker = await createReelayWorker({
    connection: env.nativeConnection,
    namespace: 'default',
    taskQueue,
    outputRoot: path.join(dir, 'out'),
    env: { ...process.env, ...sandbox.env() },
  });
  const running = worker.run();
  const client: Client = env.client;
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);
  try {
    const manifest = path.join(dir, 'manifest.jsonl');
    const polling = { initialIntervalSeconds: 0.05, maxIntervalSeconds: 0.1 };
    fs.writeFileSync(manifest, Array.from({ length: items }, (_, i) => JSON.stringify({ pipeline: 'text2video', input: { text: `bench story ${i}`, polling } })).join('\n'));
    const t0 = Date.now();
    const started = await startBatch(client, manifest, { taskQueue, outputRoot: path.join(dir, 'out'), window, itemsPerRun, key: 'bench' });
    const result = await started.handle.result();
    const wallMs = Date.now() - t0;
    const counts: number[] = [];
    for (let runId: string | undefined = started.runId; runId; ) {
      const history: Awaited<ReturnType<typeof started.handle.fetchHistory>> = await client.workflow.getHandle(started.batchId, runId).fetchHistory();
      const events: NonNullable<typeof history.events> = history.events ?? [];
      counts.push(events.length);
      runId = events[events.length - 1]?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
    }
    console.log(
      JSON.stringify({
        items,
        window,
        itemsPerRun,
        succeeded: result.succeeded,
        failed: result.failed,
        runs: result.runs,
        wallSeconds: +(wallMs / 1000).toFixed(1),
        itemsPerSecond: +(items / (wallMs / 1000)).toFixed(1),
        largestRunEvents: Math.max(...counts),
        eventsPerRun: counts,
        peakRssMiB: Math.round(peakRss / 2 ** 20),
      }),
    );
  } finally {
    clearInterval(sampler);
    worker.shutdown();
    await running;
    await sandbox.close();
    await env.teardown();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
