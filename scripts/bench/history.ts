/**
 * History size: events and bytes (the encoded protobuf) per pipeline type, one run of each against a
 * fast sandbox, and per 1,000 batch items (the batch's own runs, and its children), next to Temporal's
 * limits (50,000 events and 50 MiB per history).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { NativeConnection } from '@temporalio/worker';
import { readResults, startBatch } from '../../src/pipelines/batch/start';
import { startPipeline, type PipelineName } from '../../src/client';
import { startSandbox } from '../../src/sandbox';
import { createReelayWorker } from '../../src/workers/worker';
import { round, startBenchServer } from './support';
import type { BenchContext, BenchSection, Figure, SectionResult } from './types';

const POLLING = { initialIntervalSeconds: 0.05, maxIntervalSeconds: 0.2, backoffCoefficient: 1.5 };
const FAST = {
  lipdub: { shotMs: 100, trainingMs: 100, generateQueueMs: 20, generateMs: 100 },
  dublab: { queueMs: 50, processMs: 150 },
  text2video: { queueMs: 20, stageMs: 20 },
  vividflow: { processMs: 100, workers: 4 },
  aistudio: { pendingMs: 50, runMs: 100, mockRunMs: 100 },
};
const LIMITS = { events: 50_000, bytes: 50 * 2 ** 20 };

interface Size {
  events: number;
  bytes: number;
}

async function sizeOf(client: Client, workflowId: string, runId?: string): Promise<Size & { nextRunId?: string }> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const events = history.events ?? [];
  const last = events[events.length - 1];
  return {
    events: events.length,
    bytes: temporal.api.history.v1.History.encode(history).finish().length,
    nextRunId: last?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined,
  };
}

/** Children a pipeline started (localize's steps), read from its history. */
async function childIds(handle: WorkflowHandle): Promise<string[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  return events.flatMap((e) => {
    const id = e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
    return id ? [id] : [];
  });
}

async function run(ctx: BenchContext): Promise<SectionResult> {
  const batchItems = ctx.quick ? 20 : 1000;
  const bs = await startBenchServer(ctx, 'history');
  const sandbox = await startSandbox({ timings: FAST });
  const dir = path.join(ctx.dir, 'history');
  const outputRoot = path.join(dir, 'out');
  fs.mkdirSync(outputRoot, { recursive: true });
  const video = path.join(dir, 'talk.mp4');
  const audio = path.join(dir, 'line.mp3');
  const image = path.join(dir, 'frame.png');
  fs.writeFileSync(video, Buffer.alloc(500_000, 1));
  fs.writeFileSync(audio, Buffer.alloc(50_000, 2));
  fs.writeFileSync(image, Buffer.alloc(5_000, 3));
  const taskQueue = 'bench-history';
  const connection = await NativeConnection.connect({ address: bs.server.address });
  const worker = await createReelayWorker({
    connection,
    namespace: 'default',
    taskQueue,
    outputRoot,
    env: { ...process.env, ...sandbox.env(), REELAY_VIVIDFLOW_REQUESTS_PER_SECOND: '100' },
  });
  const running = worker.run();
  const cases: Array<{ label: string; pipeline: PipelineName; input: Record<string, unknown> }> = [
    { label: 'LipDub, 2 languages', pipeline: 'lipdub', input: { video, audios: [{ source: audio, language: 'es-MX' }, { source: audio, language: 'fr-FR' }] } },
    { label: 'DubLab, 3 languages', pipeline: 'dublab', input: { source: video, sourceLanguage: 'en', targetLanguages: ['es', 'de', 'ja'], durationSeconds: 10 } },
    { label: 'text2video', pipeline: 'text2video', input: { text: 'A story about the size of a history.' } },
    { label: 'Vivid Flow', pipeline: 'vividflow', input: { prompt: 'waves', imagePath: image, model: 'wan2.1' } },
    { label: 'AI Studio (mock)', pipeline: 'aistudio', input: { prompt: 'a paper boat', mockMode: true, durationSeconds: 4 } },
    { label: 'localize, 2 languages (with its children)', pipeline: 'localize', input: { source: video, sourceLanguage: 'en', targetLanguages: ['es', 'fr'], durationSeconds: 10 } },
  ];
  const figures: Figure[] = [];
  const details: Record<string, unknown> = {};
  try {
    for (const c of cases) {
      const started = await startPipeline(bs.client, c.pipeline, { ...c.input, polling: POLLING }, { taskQueue });
      await started.handle.result();
      const own = await sizeOf(bs.client, started.workflowId);
      let total: Size = { events: own.events, bytes: own.bytes };
      for (const child of await childIds(started.handle)) {
        const s = await sizeOf(bs.client, child);
        total = { events: total.events + s.events, bytes: total.bytes + s.bytes };
      }
      figures.push({
        metric: `${c.label}`,
        value: total.events,
        unit: 'events',
        reference: { label: 'limit per history', value: LIMITS.events, unit: 'events' },
        note: `${round(total.bytes / 1024, 1)} KiB (limit ${LIMITS.bytes / 2 ** 20} MiB)`,
      });
      details[c.pipeline] = { own, total };
    }

    // A batch of text2video items: its runs (continue-as-new every 500) and its children.
    const manifest = path.join(dir, 'batch.jsonl');
    fs.writeFileSync(manifest, Array.from({ length: batchItems }, (_, i) => JSON.stringify({ pipeline: 'text2video', input: { text: `story ${i}`, polling: POLLING } })).join('\n'));
    const batch = await startBatch(bs.client, manifest, { taskQueue, outputRoot, window: 50, itemsPerRun: 500 });
    const result = await batch.handle.result();
    const runs: Size[] = [];
    for (let runId: string | undefined = batch.runId; runId; ) {
      const s = await sizeOf(bs.client, batch.batchId, runId);
      runs.push({ events: s.events, bytes: s.bytes });
      runId = s.nextRunId;
    }
    let children: Size = { events: 0, bytes: 0 };
    for (const r of readResults(result.resultsPath!)) {
      const s = await sizeOf(bs.client, r.workflowId);
      children = { events: children.events + s.events, bytes: children.bytes + s.bytes };
    }
    const per1000 = (n: number) => (n * 1000) / batchItems;
    const parent = runs.reduce((a, r) => ({ events: a.events + r.events, bytes: a.bytes + r.bytes }), { events: 0, bytes: 0 });
    const largest = runs.reduce((a, r) => (r.events > a.events ? r : a), runs[0]!);
    figures.push(
      {
        metric: `batch: its own runs, per 1,000 items`,
        value: per1000(parent.events),
        unit: 'events',
        note: `${round(per1000(parent.bytes) / 1024, 1)} KiB in ${runs.length} run(s) for ${batchItems} items; the largest run ${largest.events} events`,
        reference: { label: 'limit per history', value: LIMITS.events, unit: 'events' },
      },
      { metric: `batch: its children, per 1,000 items`, value: per1000(children.events), unit: 'events', note: `${round(per1000(children.bytes) / 2 ** 20, 2)} MiB` },
    );
    details.batch = { items: batchItems, runs, children, succeeded: result.succeeded };
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
    await sandbox.close();
    await bs.stop();
  }
  return { id: 'history', title: 'History size', figures, details };
}

export const history: BenchSection = { id: 'history', title: 'History size', run };
