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
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { EVENT_BUDGET } from '../../src/workflows/shared/continuation';
import { LIPDUB_POLLING_DEFAULTS } from '../../src/pipelines/lipdub/spec';
import { DUBLAB_POLLING_DEFAULTS } from '../../src/pipelines/dublab/spec';
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

    figures.push(...(await worstCases(ctx, bs.client, sandbox, taskQueue, dir, details)));
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
    await sandbox.close();
    await bs.stop();
  }
  return { id: 'history', title: 'History size', figures, details };
}

/**
 * Issue 16's worst cases, against the budget every run must stay under (EVENT_BUDGET): a 50-audio LipDub
 * run and a 20-language DubLab run whose jobs take 24 hours of provider time (compressed SCALE times, at
 * their default polling scaled alike), and an AI Studio job whose status flips on every other poll
 * (each change reaches the workflow) until its run continues as new. Per workflow: its runs and the
 * largest run's events; "before" is what the old shape made of the same polls (about 8 events a poll:
 * a status activity, a timer and two workflow tasks).
 */
async function worstCases(ctx: BenchContext, client: Client, sandbox: Sandbox, taskQueue: string, dir: string, details: Record<string, unknown>): Promise<Figure[]> {
  const scale = 1440;
  const dayMs = (ctx.quick ? 3600 : 24 * 3600) * (1000 / scale);
  const aistudioMs = ctx.quick ? 5_000 : 90_000;
  const minInterval = 0.05;
  const scaled = (d: { initialIntervalSeconds: number; maxIntervalSeconds: number; backoffCoefficient: number }) => ({
    initialIntervalSeconds: Math.max(minInterval, d.initialIntervalSeconds / scale),
    maxIntervalSeconds: Math.max(minInterval, d.maxIntervalSeconds / scale),
    backoffCoefficient: d.backoffCoefficient,
    timeScale: scale,
    // Twice the job, and at least the schema's floor (the quick run's jobs take 2.5 s).
    deadlineMinutes: Math.max(1, (2 * dayMs) / 60_000),
  });
  sandbox.configure({
    timings: {
      lipdub: { shotMs: 300, trainingMs: 300, generateQueueMs: 500, generateMs: dayMs },
      dublab: { queueMs: 500, processMs: dayMs },
      aistudio: { pendingMs: 100, runMs: aistudioMs, mockRunMs: aistudioMs },
    },
  });
  sandbox.setFaults({ rules: [{ key: 'aistudio GET /api/v1/video-jobs/:jobId', faults: { unknownStatus: { rate: 0.5 } } }] });
  const audios = ctx.quick ? 5 : 50;
  const region = (i: number) => String.fromCharCode(65 + Math.floor(i / 26)) + String.fromCharCode(65 + (i % 26));
  const audio = path.join(dir, 'short.mp3');
  fs.writeFileSync(audio, Buffer.alloc(2_000, 4));
  const video = path.join(dir, 'talk.mp4');
  const targets = ['es', 'de', 'ja', 'fr', 'it', 'pt', 'nl', 'sv', 'da', 'fi', 'no', 'pl', 'cs', 'hu', 'ro', 'tr', 'el', 'ko', 'zh', 'ar'].slice(0, ctx.quick ? 3 : 20);
  const before = sandbox.counters();
  const cases = [
    { label: `LipDub, ${audios} audios, 24 h of provider time`, pipeline: 'lipdub' as const, poll: 'lipdub GET /v1/shots/:shotId/generate/:generateId', input: { video, audios: Array.from({ length: audios }, (_, i) => ({ source: audio, language: `es-${region(i)}` })), polling: scaled(LIPDUB_POLLING_DEFAULTS) } },
    { label: `DubLab, ${targets.length} languages, 24 h of provider time`, pipeline: 'dublab' as const, poll: 'dublab GET /api/v1/dubs', input: { source: video, sourceLanguage: 'en', targetLanguages: targets, durationSeconds: 10, polling: scaled(DUBLAB_POLLING_DEFAULTS) } },
    {
      label: 'AI Studio, a status that flips on every other poll',
      pipeline: 'aistudio' as const,
      poll: 'aistudio GET /api/v1/video-jobs/:jobId',
      input: { prompt: 'a long render', mockMode: true, polling: { initialIntervalSeconds: minInterval, maxIntervalSeconds: minInterval, backoffCoefficient: 1, hints: false, deadlineMinutes: 10 } },
    },
  ];
  const figures: Figure[] = [];
  try {
    const started = await Promise.all(cases.map((c) => startPipeline(client, c.pipeline, c.input, { taskQueue })));
    await Promise.all(started.map((s) => s.handle.result()));
    const after = sandbox.counters();
    for (const [i, c] of cases.entries()) {
      const runs: Size[] = [];
      for (let runId: string | undefined = started[i]!.runId; runId; ) {
        const s = await sizeOf(client, started[i]!.workflowId, runId);
        runs.push({ events: s.events, bytes: s.bytes });
        runId = s.nextRunId;
      }
      const largest = Math.max(...runs.map((r) => r.events));
      const polls = (after[c.poll] ?? 0) - (before[c.poll] ?? 0);
      figures.push({
        metric: `worst case: ${c.label}, largest run`,
        value: largest,
        unit: 'events',
        reference: { label: 'budget per run (EVENT_BUDGET)', value: EVENT_BUDGET, unit: 'events' },
        target: { text: `< ${EVENT_BUDGET}`, met: largest < EVENT_BUDGET },
        note: `${runs.length} run(s), ${runs.reduce((a, r) => a + r.events, 0)} events in all; ${polls} status calls, about ${polls * 8} events in the old shape (8 a poll)`,
      });
      (details.worstCases as unknown[] | undefined) ?? (details.worstCases = []);
      (details.worstCases as unknown[]).push({ label: c.label, runs, polls });
    }
  } finally {
    sandbox.setFaults({ rules: [] });
  }
  return figures;
}

export const history: BenchSection = { id: 'history', title: 'History size', run };
