/**
 * Record the workflow histories that test/replay/replay.test.ts replays against the current code.
 *
 * Runs a fixed set of scenarios — every pipeline's happy path and its interesting failure and waiting
 * paths, the child workflows of localize and batch, the limiter — on a fresh Temporal dev server (or the
 * one at --address) with the sandbox providers and an in-process worker built from src/workflows, and
 * writes each history to test/replay/histories/<workflowType>--<scenario>.json, indexed in index.json.
 *
 * Recordings are only ever added: a scenario whose history has the same shape as one already recorded
 * (same kinds of events, activities, children, signals, markers, timers) is left alone, and a scenario
 * whose shape changed (a patched branch, a new activity) gets a new file beside the old one, named
 * `--2`, `--3`…, since the old file stands for runs that may still be open in production.
 *
 *   npm run record-histories                      record every scenario (adds only what changed)
 *   npm run record-histories -- --only lipdub     scenarios whose id contains "lipdub" (comma-separated list)
 *   npm run record-histories -- --replace         overwrite the newest file of each scenario instead
 *   npm run record-histories -- --list            list the scenarios
 *   npm run record-histories -- --address host:port [--namespace ns]   use a running server
 *   npm run record-histories -- --workflows test/replay/fixtures/patched-change.ts --out test/replay/fixtures/histories --only text2video-happy-path
 *                                                 record against another workflows module (the test fixtures)
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { startBatch } from '../src/pipelines/batch/start';
import {
  progressQuery,
  startPipeline,
  type AistudioPipelineResult,
  type PipelineName,
  type PipelineProgress,
  type Text2videoPipelineResult,
} from '../src/client';
import { ensureTemporalCli } from '../src/dev/temporal';
import { startSandbox, type DeepPartial, type Sandbox, type SandboxConfig } from '../src/sandbox';
import { createReelayWorker, WORKFLOWS_PATH } from '../src/workers/worker';
import { workflowBundleOptions } from '../src/codec';
import { batchChildWorkflowId, batchProgressQuery, cancelBatchSignal } from '../src/pipelines/batch/signals';
import type { BatchProgress } from '../src/pipelines/batch/input';
import { limiterWorkflowId } from '../src/contract/limiter';
import { REELAY_SEARCH_ATTRIBUTES } from '../src/contract/search-attributes';
import { webhookDeliveryWorkflowId } from '../src/contract/notify';
import {
  HISTORIES_DIR,
  historyFileName,
  historyShape,
  historyToJson,
  historyFileBytes,
  readHistoryText,
  readIndex,
  writeIndex,
  type RecordedHistory,
} from '../test/replay/history-files';

/** Fixed names, so histories do not carry a host name, a pid or a random path from the recording machine. */
const IDENTITY = 'reelay-record-histories';
const WORK_ROOT = path.join(os.tmpdir(), 'reelay-record-histories');

/** Polling fast enough for sandbox timings in the tens of milliseconds. */
const FAST_POLLING = { initialIntervalSeconds: 0.1, maxIntervalSeconds: 0.5, backoffCoefficient: 1.5, deadlineMinutes: 5 };

/** What every scenario starts from; a scenario changes what it needs and the next one starts clean. */
const BASELINE: DeepPartial<SandboxConfig> = {
  timings: {
    lipdub: { shotMs: 100, trainingMs: 100, generateQueueMs: 20, generateMs: 100 },
    dublab: { queueMs: 50, processMs: 100 },
    text2video: { queueMs: 50, stageMs: 60 },
    vividflow: { processMs: 200, workers: 1 },
    aistudio: { pendingMs: 50, runMs: 300, mockRunMs: 50 },
  },
  lipdub: { failGenerateLanguages: [] },
  dublab: { credits: 10_000, failLanguages: [] },
  text2video: { failTexts: [] },
  aistudio: { tokens: 1000, maxConcurrent: 3 },
};
/** Vivid Flow's documented pace (2000/day) would make every request wait 43 s. */
const BASELINE_WORKER_ENV: Record<string, string | undefined> = {
  REELAY_VIVIDFLOW_REQUESTS_PER_SECOND: '50',
  // A fixed key for the webhook scenarios: signatures stay out of history anyway, and this one guards nothing.
  REELAY_WEBHOOK_SECRET: `whsec_${Buffer.alloc(32, 'reelay-record-histories').toString('base64')}`,
  REELAY_WEBHOOK_ALLOW_PRIVATE: 'true',
  REELAY_WEBHOOK_RETRY_INITIAL_SECONDS: '0.1',
  REELAY_AISTUDIO_MAX_CONCURRENT_JOBS: undefined,
  // The limiter looks for closed holders every second while slots are held (the reclaim scenario).
  REELAY_LIMITER_RECLAIM_CHECK_SECONDS: '1',
};

interface Ctx {
  client: Client;
  sandbox: Sandbox;
  taskQueue: string;
  inputDir: string;
  outputRoot: string;
  /** Appended to workflow ids when recording on a shared server, where the plain ids may be taken. */
  idSuffix: string;
}

/** One execution to save: `scenario` names the file, `runId` picks a run of a continued-as-new chain. */
interface Recording {
  workflowType: string;
  scenario: string;
  workflowId: string;
  runId?: string;
  description: string;
}

interface Scenario {
  id: string;
  /**
   * Settings this scenario's worker starts with, over the baseline's. The worker reads its configuration
   * (caps, paces) once, when it is created, so they cannot be changed from inside `run`.
   */
  workerEnv?: Record<string, string | undefined>;
  run(ctx: Ctx): Promise<Recording[]>;
}

/** Small input files with fixed content, so sizes and hashes in the histories do not change. */
function inputFile(ctx: Ctx, name: string, size: number): string {
  const file = path.join(ctx.inputDir, name);
  const seed = Buffer.from(name);
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (seed[i % seed.length]! * 31 + i) & 0xff;
  fs.writeFileSync(file, bytes);
  return file;
}

async function start(ctx: Ctx, pipeline: PipelineName, key: string, input: unknown): Promise<WorkflowHandle> {
  const started = await startPipeline(ctx.client, pipeline, input, { key: `${key}${ctx.idSuffix}`, taskQueue: ctx.taskQueue });
  return started.handle;
}

async function outcome(handle: WorkflowHandle): Promise<{ result?: unknown; error?: unknown }> {
  return handle.result().then(
    (result: unknown) => ({ result }),
    (error: unknown) => ({ error }),
  );
}

/** The scenario must take the path it is named after, or its recording would stand for something else. */
function expectThat(condition: boolean, what: string, detail?: unknown): asserts condition {
  if (!condition) throw new Error(`scenario did not go as intended: ${what}${detail === undefined ? '' : ` (${detail instanceof Error ? detail.message : JSON.stringify(detail)})`}`);
}

function failureType(error: unknown): string | undefined {
  let e = error as { cause?: unknown } | undefined;
  for (let depth = 0; e && depth < 5; depth++) {
    if (e instanceof ApplicationFailure) return e.type ?? undefined;
    e = e.cause as typeof e;
  }
  return undefined;
}

async function until<T>(read: () => Promise<T | undefined>, ok: (value: T) => boolean, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read().catch(() => undefined);
    if (value !== undefined && ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const progressOf = (handle: WorkflowHandle) => () => handle.query(progressQuery) as Promise<PipelineProgress | undefined>;

const pipelineRecording = (handle: WorkflowHandle, workflowType: string, scenario: string, description: string): Recording => ({
  workflowType,
  scenario,
  workflowId: handle.workflowId,
  description,
});

/** A webhook receiver on loopback that answers `statuses` in turn (then 204) and counts what came. */
async function webhookReceiver(statuses: number[]): Promise<{ url: string; received: () => number; close(): Promise<void> }> {
  let received = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(statuses[received++] ?? 204);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/hooks`, received: () => received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const SCENARIOS: Scenario[] = [
  {
    id: 'text2video-notify',
    async run(ctx) {
      // The receiver refuses the first attempt: the delivery's history holds a retried activity.
      const receiver = await webhookReceiver([503]);
      try {
        const h = await start(ctx, 'text2video', 'notify', { text: 'A story that calls back.', polling: FAST_POLLING, notify: { url: receiver.url } });
        const o = await outcome(h);
        expectThat(!o.error, 'text2video completes', o.error);
        const { runId } = await h.describe();
        const child = ctx.client.workflow.getHandle(webhookDeliveryWorkflowId(h.workflowId, runId, 'completed'));
        const d = await outcome(child);
        expectThat(!d.error && receiver.received() === 2, 'the webhook is delivered at the second attempt', d.error ?? receiver.received());
        return [
          pipelineRecording(h, 'text2videoPipeline', 'notify', 'Completes with notify: starts an abandoned webhookDelivery child and closes once it has started.'),
          { workflowType: 'webhookDelivery', scenario: 'retried-once', workflowId: child.workflowId, description: 'Delivers pipeline.completed; the receiver answers 503 once, the second attempt is accepted.' },
        ];
      } finally {
        await receiver.close();
      }
    },
  },
  {
    id: 'text2video-cancelled-notify',
    async run(ctx) {
      ctx.sandbox.configure({ timings: { text2video: { stageMs: 60_000 } } });
      const receiver = await webhookReceiver([]);
      try {
        const h = await start(ctx, 'text2video', 'cancelled-notify', { text: 'A story cut short.', polling: FAST_POLLING, notify: { url: receiver.url, events: ['cancelled'] } });
        await until(progressOf(h), (p) => p.stage === 'generating', 'the job to be generating');
        await h.cancel();
        const o = await outcome(h);
        expectThat(o.error instanceof WorkflowFailedError && o.error.cause instanceof CancelledFailure, 'the run ends cancelled', o.error ?? o.result);
        await until(async () => receiver.received(), (n) => n === 1, 'the cancelled webhook');
        return [pipelineRecording(h, 'text2videoPipeline', 'cancelled-notify', 'Cancelled with notify: the webhookDelivery child is started in the non-cancellable cleanup.')];
      } finally {
        await receiver.close();
      }
    },
  },
  {
    id: 'lipdub-happy-path',
    async run(ctx) {
      const h = await start(ctx, 'lipdub', 'happy-path', {
        video: inputFile(ctx, 'talk.mp4', 4096),
        audios: [{ source: inputFile(ctx, 'es.mp3', 1024), language: 'es-MX' }],
        polling: FAST_POLLING,
      });
      const o = await outcome(h);
      expectThat(!o.error, 'LipDub completes', o.error);
      return [pipelineRecording(h, 'lipdubPipeline', 'happy-path', 'Upload a video and one audio, generate es-MX, download.')];
    },
  },
  {
    id: 'lipdub-one-language-fails',
    async run(ctx) {
      ctx.sandbox.configure({ lipdub: { failGenerateLanguages: ['de-DE'] } });
      const h = await start(ctx, 'lipdub', 'one-language-fails', {
        video: inputFile(ctx, 'clip.mp4', 2048),
        audios: [
          { source: inputFile(ctx, 'de.mp3', 512), language: 'de-DE' },
          { source: inputFile(ctx, 'it.mp3', 512), language: 'it-IT' },
        ],
        polling: FAST_POLLING,
      });
      const o = await outcome(h);
      expectThat(failureType(o.error) === 'ProviderJobFailed', 'LipDub fails with ProviderJobFailed', o.error ?? o.result);
      return [pipelineRecording(h, 'lipdubPipeline', 'one-language-fails', 'Two languages; the de-DE generation fails at LipDub after it-IT was delivered.')];
    },
  },
  {
    id: 'lipdub-shot-id-from-video-status',
    async run(ctx) {
      // docs-minimal: the success answer has no shot id; the workflow polls GET /video/status for it (patched branch).
      ctx.sandbox.configure({ profile: 'docs-minimal' });
      try {
        const h = await start(ctx, 'lipdub', 'shot-id-from-video-status', {
          video: inputFile(ctx, 'late.mp4', 2048),
          audios: [{ source: inputFile(ctx, 'fr.mp3', 512), language: 'fr-FR' }],
          polling: FAST_POLLING,
        });
        const o = await outcome(h);
        expectThat(!o.error, 'LipDub completes on docs-minimal', o.error);
        return [pipelineRecording(h, 'lipdubPipeline', 'shot-id-from-video-status', 'docs-minimal LipDub: no shot id in the success answer; polled from GET /video/status, then generate fr-FR and download.')];
      } finally {
        ctx.sandbox.configure({ profile: 'faithful' });
      }
    },
  },
  {
    id: 'dublab-happy-path',
    async run(ctx) {
      const h = await start(ctx, 'dublab', 'happy-path', {
        source: inputFile(ctx, 'keynote.mp4', 4096),
        sourceLanguage: 'en',
        targetLanguages: ['es', 'de'],
        durationSeconds: 10,
        outputTypes: ['translated_mp3', 'translated_subtitle'],
        checkCredits: true,
        polling: FAST_POLLING,
      });
      const o = await outcome(h);
      expectThat(!o.error, 'DubLab completes', o.error);
      return [pipelineRecording(h, 'dublabPipeline', 'happy-path', 'Check credits, one upload, dub into es and de, download audio and subtitles.')];
    },
  },
  {
    id: 'dublab-insufficient-credits',
    async run(ctx) {
      ctx.sandbox.configure({ dublab: { credits: 10 } });
      const h = await start(ctx, 'dublab', 'insufficient-credits', {
        source: inputFile(ctx, 'long.mp4', 1024),
        sourceLanguage: 'en',
        targetLanguages: ['es', 'de'],
        durationSeconds: 60,
        checkCredits: true,
        polling: FAST_POLLING,
      });
      const o = await outcome(h);
      expectThat(failureType(o.error) === 'InsufficientCredits', 'DubLab refuses with InsufficientCredits', o.error ?? o.result);
      return [pipelineRecording(h, 'dublabPipeline', 'insufficient-credits', 'checkCredits finds 10 credits for 120 needed: nothing is started.')];
    },
  },
  {
    id: 'text2video-happy-path',
    async run(ctx) {
      const h = await start(ctx, 'text2video', 'happy-path', { text: 'A durable workflow outlived three servers.', polling: FAST_POLLING });
      const o = await outcome(h);
      expectThat(!o.error, 'text2video completes', o.error);
      return [pipelineRecording(h, 'text2videoPipeline', 'happy-path', 'Submit a story, poll through the stages, download.')];
    },
  },
  {
    id: 'text2video-server-restart',
    async run(ctx) {
      ctx.sandbox.configure({ timings: { text2video: { stageMs: 400 } } });
      const h = await start(ctx, 'text2video', 'server-restart-resubmit', { text: 'A story told twice.', polling: FAST_POLLING });
      await until(progressOf(h), (p) => p.stage === 'generating' && p.percent > 5, 'the job to be generating');
      ctx.sandbox.restartText2video();
      const o = await outcome(h);
      expectThat((o.result as Text2videoPipelineResult | undefined)?.resubmits === 1, 'text2video resubmits once', o.error ?? o.result);
      return [pipelineRecording(h, 'text2videoPipeline', 'server-restart-resubmit', 'The server restarts mid-job (404 for the job id); the story is resubmitted once.')];
    },
  },
  {
    id: 'vividflow-happy-path',
    async run(ctx) {
      const h = await start(ctx, 'vividflow', 'happy-path', { prompt: 'the sea starts to move', imagePath: inputFile(ctx, 'still.png', 2048), polling: FAST_POLLING });
      const o = await outcome(h);
      expectThat(!o.error, 'Vivid Flow completes', o.error);
      return [pipelineRecording(h, 'vividflowPipeline', 'happy-path', 'Upload an image (multipart), wait through queue and processing, download.')];
    },
  },
  {
    id: 'vividflow-cancelled',
    async run(ctx) {
      // One worker at Vivid Flow, busy for longer than the scenario: the second job stays queued.
      ctx.sandbox.configure({ timings: { vividflow: { processMs: 60_000, workers: 1 } } });
      const input = (prompt: string) => ({ prompt, imageUrl: 'gs://reelay-record/still.png', polling: FAST_POLLING });
      const processing = await start(ctx, 'vividflow', 'cancelled-while-processing', input('first'));
      await until(progressOf(processing), (p) => p.stage === 'processing', 'the first job to be processing');
      const queued = await start(ctx, 'vividflow', 'cancelled-while-queued', input('second'));
      await until(progressOf(queued), (p) => p.stage === 'queued' && p.providerIds.jobId !== undefined, 'the second job to be queued');
      await queued.cancel();
      const q = await outcome(queued);
      expectThat(q.error instanceof WorkflowFailedError && q.error.cause instanceof CancelledFailure, 'the queued run ends cancelled', q.error ?? q.result);
      expectThat((await queued.query(progressQuery)).leftAtProvider?.length === 0, 'the queued job was cancelled at Vivid Flow');
      await processing.cancel();
      const p = await outcome(processing);
      expectThat(p.error instanceof WorkflowFailedError && p.error.cause instanceof CancelledFailure, 'the processing run ends cancelled', p.error ?? p.result);
      return [
        pipelineRecording(queued, 'vividflowPipeline', 'cancelled-while-queued', 'Cancelled while its job is queued: the job is cancelled at Vivid Flow in a non-cancellable scope.'),
        pipelineRecording(processing, 'vividflowPipeline', 'cancelled-while-processing', 'Cancelled while processing: Vivid Flow refuses, the job is reported as left at the provider.'),
      ];
    },
  },
  {
    id: 'vividflow-cancelled-during-create',
    async run(ctx) {
      // The create's answer is held back after the job was made: the cancel must wait for it (the patched
      // branch 'cancel-waits-for-creates-and-transfers') and then cancel the queued job at Vivid Flow.
      ctx.sandbox.configure({ timings: { vividflow: { processMs: 60_000, workers: 0 } } });
      ctx.sandbox.setFaults({ rules: [{ key: 'vividflow POST /api/v1/generate', faults: { holdAnswerMs: { ms: 1500, first: 1 } } }] });
      const prompt = 'cancelled while its create is held open';
      const h = await start(ctx, 'vividflow', 'cancelled-during-create', { prompt, imageUrl: 'gs://reelay-record/still.png', polling: FAST_POLLING });
      await until(async () => ctx.sandbox.ledger().some((e) => e.key === prompt), (made) => made, 'the job to be created');
      await h.cancel();
      const o = await outcome(h);
      ctx.sandbox.setFaults({});
      expectThat(o.error instanceof WorkflowFailedError && o.error.cause instanceof CancelledFailure, 'the run ends cancelled', o.error ?? o.result);
      const p = await h.query(progressQuery);
      expectThat(p.leftAtProvider?.length === 0 && p.providerIds.jobId !== undefined, 'the job created during the cancel was cancelled at Vivid Flow', p);
      return [
        pipelineRecording(h, 'vividflowPipeline', 'cancelled-during-create', 'Cancelled while its create is held open: the run waits for the create, then cancels the queued job at Vivid Flow.'),
      ];
    },
  },
  {
    id: 'aistudio-happy-path',
    async run(ctx) {
      const h = await start(ctx, 'aistudio', 'happy-path', { prompt: 'a mock veo job', mockMode: true, polling: FAST_POLLING });
      const o = await outcome(h);
      expectThat(!o.error, 'AI Studio completes', o.error);
      return [pipelineRecording(h, 'aistudioPipeline', 'happy-path', 'A slot from the limiter at once, create a mock job, poll, download.')];
    },
  },
  {
    id: 'aistudio-busy-429',
    // No limiter, and AI Studio allows one job: the second create is refused with 429 until the first ends.
    workerEnv: { REELAY_AISTUDIO_MAX_CONCURRENT_JOBS: '0' },
    async run(ctx) {
      ctx.sandbox.configure({ aistudio: { maxConcurrent: 1 }, timings: { aistudio: { runMs: 800, mockRunMs: 800 } } });
      const input = (prompt: string) => ({ prompt, mockMode: true, polling: FAST_POLLING, slotWait: { initialSeconds: 0.2, maxSeconds: 0.5 } });
      const handles = await Promise.all(['a', 'b'].map((k) => start(ctx, 'aistudio', `busy-429-${k}`, input(`busy ${k}`))));
      const results = await Promise.all(handles.map(outcome));
      const waited = results.findIndex((r) => ((r.result as AistudioPipelineResult | undefined)?.slotWaits ?? 0) > 0);
      expectThat(results.every((r) => !r.error), 'both AI Studio runs complete', results.find((r) => r.error)?.error);
      expectThat(waited >= 0, 'one run was refused with 429 and waited', results.map((r) => r.result));
      return [pipelineRecording(handles[waited]!, 'aistudioPipeline', 'busy-429-waits-for-slot', 'AI Studio answers 429 (busy); the run waits on a timer and creates again.')];
    },
  },
  {
    id: 'aistudio-continue-as-new',
    async run(ctx) {
      // A status that flips between RUNNING and a value the docs do not list on about every other poll:
      // each change reaches the workflow, so the run fills its history and continues as new mid-wait.
      ctx.sandbox.configure({ timings: { aistudio: { runMs: 80_000, mockRunMs: 80_000 } } });
      ctx.sandbox.setFaults({ rules: [{ key: 'aistudio GET /api/v1/video-jobs/:jobId', faults: { unknownStatus: { rate: 0.5 } } }] });
      const polling = { initialIntervalSeconds: 0.05, maxIntervalSeconds: 0.05, backoffCoefficient: 1, hints: false, deadlineMinutes: 10 };
      const h = await start(ctx, 'aistudio', 'continue-as-new', { prompt: 'a long mock veo job', mockMode: true, polling });
      const o = await outcome(h);
      ctx.sandbox.setFaults({ rules: [] });
      expectThat(!o.error, 'AI Studio completes', o.error);
      const recordings: Recording[] = [];
      // The first run: the one no other run continued into (visibility lists every run of the id).
      const runs: string[] = [];
      for await (const w of ctx.client.workflow.list({ query: `WorkflowId = '${h.workflowId}'` })) runs.push(w.runId);
      const continuedInto = new Set<string>();
      for (const id of runs) {
        const events = (await ctx.client.workflow.getHandle(h.workflowId, id).fetchHistory()).events ?? [];
        const next = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
        if (next) continuedInto.add(next);
      }
      const first = runs.find((id) => !continuedInto.has(id));
      for (let runId: string | undefined = first, n = 1; runId; n++) {
        recordings.push({
          workflowType: 'aistudioPipeline',
          scenario: `continue-as-new-run-${n}`,
          workflowId: h.workflowId,
          runId,
          description:
            n === 1
              ? 'Near its event budget, mid-wait, with its job slot held: the run continues as new, carrying the create and its progress.'
              : 'A continued run: runs through the carried create without calling it, adopts the slot, waits on, downloads.',
        });
        const history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>> = await ctx.client.workflow.getHandle(h.workflowId, runId).fetchHistory();
        const last = history.events?.[history.events.length - 1];
        runId = last?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
      }
      expectThat(recordings.length > 1, 'the run continued as new', recordings.length);
      return recordings;
    },
  },
  {
    id: 'aistudio-limiter',
    // The limiter hands out one slot: the second pipeline waits for the first to release it.
    workerEnv: { REELAY_AISTUDIO_MAX_CONCURRENT_JOBS: '1' },
    async run(ctx) {
      const input = (prompt: string) => ({ prompt, mockMode: true, polling: FAST_POLLING });
      const handles = await Promise.all(['a', 'b'].map((k) => start(ctx, 'aistudio', `limiter-${k}`, input(`limited ${k}`))));
      const results = await Promise.all(handles.map(outcome));
      expectThat(results.every((r) => !r.error), 'both AI Studio runs complete', results.find((r) => r.error)?.error);
      const logs = await Promise.all(handles.map(async (h) => (await h.query(progressQuery)).log.map((l) => l.message)));
      const waited = logs.findIndex((log) => log.some((m) => m.startsWith('Waiting for one of 1 AI Studio job slots')));
      expectThat(waited >= 0, 'one run waited for the limiter', logs);
      const limiter = ctx.client.workflow.getHandle(limiterWorkflowId('aistudio', ctx.taskQueue));
      const { runId } = await limiter.describe();
      await limiter.terminate('recorded');
      return [
        pipelineRecording(handles[waited]!, 'aistudioPipeline', 'waits-for-limiter-slot', 'One slot, two runs: this one waits for the slotGranted signal, then runs and releases.'),
        {
          workflowType: 'providerLimiterWorkflow',
          scenario: 'aistudio-one-slot-two-requesters',
          workflowId: limiter.workflowId,
          runId,
          description: 'Started by signal-with-start; grants the one slot, queues the second request, grants it on release; terminated when recorded.',
        },
      ];
    },
  },
  {
    id: 'aistudio-limiter-reclaim',
    async run(ctx) {
      // AI Studio's 3 slots (the spec's default cap) held by jobs that would run for ten minutes; a fourth
      // run waits. The holders are terminated (they never release): the limiter's check finds their runs
      // closed and grants the waiter.
      // The terminated holders' jobs keep running at AI Studio: room for the waiter's job beside them.
      ctx.sandbox.configure({ aistudio: { maxConcurrent: 10 }, timings: { aistudio: { runMs: 600_000, mockRunMs: 600_000 } } });
      const input = (prompt: string) => ({ prompt, mockMode: true, polling: FAST_POLLING });
      const holders: WorkflowHandle[] = [];
      for (const k of ['a', 'b', 'c']) {
        const h = await start(ctx, 'aistudio', `reclaim-${k}`, input(`held ${k}`));
        await until(progressOf(h), (p) => p.providerIds.jobId !== undefined, `job ${k} created`);
        holders.push(h);
      }
      const waiter = await start(ctx, 'aistudio', 'reclaim-waiter', input('waits for a reclaimed slot'));
      await until(progressOf(waiter), (p) => p.log.some((l) => l.message.startsWith('Waiting for one of 3 AI Studio job slots')), 'the fourth run waits');
      ctx.sandbox.configure({ timings: { aistudio: { runMs: 300, mockRunMs: 300 } } });
      for (const h of holders) await h.terminate('recorded: a holder that never releases');
      const o = await outcome(waiter);
      expectThat(!o.error, 'the waiter completes on a reclaimed slot', o.error);
      const limiter = ctx.client.workflow.getHandle(limiterWorkflowId('aistudio', ctx.taskQueue));
      const { runId } = await limiter.describe();
      await limiter.terminate('recorded');
      return [
        {
          workflowType: 'providerLimiterWorkflow',
          scenario: 'aistudio-reclaims-terminated-holders',
          workflowId: limiter.workflowId,
          runId,
          description: 'Three holders terminated without releasing; the periodic check (limiterClosedHolders) finds their runs closed, frees the slots and grants the waiter.',
        },
      ];
    },
  },
  {
    id: 'localize-happy-path',
    async run(ctx) {
      const h = await start(ctx, 'localize', 'happy-path', {
        source: inputFile(ctx, 'interview.mp4', 4096),
        sourceLanguage: 'en',
        targetLanguages: ['es', 'de'],
        durationSeconds: 10,
        polling: FAST_POLLING,
      });
      const o = await outcome(h);
      expectThat(!o.error, 'localize completes', o.error);
      const child = (step: string, type: string, description: string): Recording => ({ workflowType: type, scenario: 'localize-step', workflowId: `${h.workflowId}-${step}`, description });
      return [
        pipelineRecording(h, 'localizePipeline', 'happy-path', 'DubLab then LipDub as child workflows; two languages delivered with subtitles.'),
        child('dublab', 'dublabPipeline', 'The DubLab child of localize: one upload, two languages, audio and subtitles.'),
        child('lipdub', 'lipdubPipeline', 'The LipDub child of localize: one shot, one generation per dubbed audio.'),
      ];
    },
  },
  {
    id: 'localize-lipdub-language-fails',
    async run(ctx) {
      ctx.sandbox.configure({ lipdub: { failGenerateLanguages: ['fr'] } });
      const h = await start(ctx, 'localize', 'lipdub-language-fails', {
        source: inputFile(ctx, 'promo.mp4', 2048),
        sourceLanguage: 'en',
        targetLanguages: ['es', 'fr'],
        durationSeconds: 5,
        polling: FAST_POLLING,
      });
      const o = await outcome(h);
      expectThat(failureType(o.error) === 'PartialFailure', 'localize fails with PartialFailure', o.error ?? o.result);
      return [pipelineRecording(h, 'localizePipeline', 'lipdub-language-fails', 'The LipDub child fails for fr: es is delivered, the failure carries the re-run input.')];
    },
  },
  {
    id: 'localize-generated-source',
    async run(ctx) {
      const h = await start(ctx, 'localize', 'generated-source', {
        generate: { pipeline: 'text2video', input: { text: 'A short story to localize.', polling: FAST_POLLING } },
        sourceLanguage: 'en',
        targetLanguages: ['pt'],
        durationSeconds: 5,
        polling: FAST_POLLING,
      });
      const o = await outcome(h);
      expectThat(!o.error, 'localize completes', o.error);
      return [pipelineRecording(h, 'localizePipeline', 'generated-source', 'The source is generated first by a text2video child, then dubbed and lip-synced.')];
    },
  },
  {
    id: 'batch-continue-as-new',
    async run(ctx) {
      // Four items, two at a time, two completions per run: run 1 drains its window after two have finished
      // (three started), continues as new, run 2 does the rest.
      const manifest = path.join(ctx.inputDir, 'continue.jsonl');
      const items = [1, 2, 3, 4].map((n) => JSON.stringify({ pipeline: 'text2video', input: { text: `batch story ${n}`, polling: FAST_POLLING } }));
      fs.writeFileSync(manifest, items.join('\n') + '\n');
      const started = await startBatch(ctx.client, manifest, { key: `continue-as-new${ctx.idSuffix}`, taskQueue: ctx.taskQueue, outputRoot: ctx.outputRoot, window: 2, itemsPerRun: 2 });
      const result = await started.handle.result();
      expectThat(result.status === 'completed' && result.succeeded === 4 && result.runs === 2, 'the batch completes 4 items in 2 runs', result);
      const recordings: Recording[] = [];
      for (let runId: string | undefined = started.runId, n = 1; runId; n++) {
        recordings.push({
          workflowType: 'batchPipeline',
          scenario: `continue-as-new-run-${n}`,
          workflowId: started.batchId,
          runId,
          description: n === 1 ? 'Cost guard, read the manifest, two children at once, append results, drain, continue as new.' : 'The continued run: resumes from the carried state and offset, finishes the batch.',
        });
        const history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>> = await ctx.client.workflow.getHandle(started.batchId, runId).fetchHistory();
        const last = history.events?.[history.events.length - 1];
        runId = last?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
      }
      recordings.push({
        workflowType: 'text2videoPipeline',
        scenario: 'batch-item',
        workflowId: batchChildWorkflowId(started.batchId, { line: 1 }),
        description: 'A batch item: a text2video child with the batch as parent.',
      });
      return recordings;
    },
  },
  {
    id: 'batch-cancelled',
    async run(ctx) {
      ctx.sandbox.configure({ timings: { text2video: { stageMs: 2000 } } });
      const manifest = path.join(ctx.inputDir, 'cancel.jsonl');
      const items = [1, 2, 3].map((n) => JSON.stringify({ pipeline: 'text2video', input: { text: `cancelled story ${n}`, polling: FAST_POLLING } }));
      fs.writeFileSync(manifest, items.join('\n') + '\n');
      const started = await startBatch(ctx.client, manifest, { key: `cancelled${ctx.idSuffix}`, taskQueue: ctx.taskQueue, outputRoot: ctx.outputRoot, window: 2 });
      await until(() => started.handle.query(batchProgressQuery) as Promise<BatchProgress | undefined>, (p) => p.running === 2, 'two running items');
      await started.handle.signal(cancelBatchSignal);
      const result = await started.handle.result();
      expectThat(result.status === 'cancelled' && result.cancelled === 2 && result.notStarted === 1, 'the batch ends cancelled with 2 items cancelled', result);
      return [
        {
          workflowType: 'batchPipeline',
          scenario: 'cancel-signal',
          workflowId: started.batchId,
          description: 'The cancel signal: no more items start, the two running children are cancelled, the batch ends with the counts.',
        },
      ];
    },
  },
];

function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8' }).trim();
    // The workflow code is what a history was recorded against: say so when it was not committed.
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src/workflows'], { encoding: 'utf8' }).trim();
    return dirty ? `${head}+uncommitted-src-workflows` : head;
  } catch {
    return 'unknown';
  }
}

interface Stack {
  client: Client;
  nativeConnection: NativeConnection;
  close(): Promise<void>;
}

async function connect(address: string | undefined, namespace: string): Promise<Stack> {
  let server: TestWorkflowEnvironment | undefined;
  if (!address) {
    const cli = ensureTemporalCli({ log: (l) => console.log(l) });
    server = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: cli.path },
        searchAttributes: [...REELAY_SEARCH_ATTRIBUTES],
        ip: '127.0.0.1',
        // The server's own log (rate-limiter chatter on the paced Vivid Flow queue) would bury the report.
        log: { format: 'pretty', level: 'never' },
      },
    });
    address = server.address;
  }
  const connection = await Connection.connect({ address });
  const nativeConnection = await NativeConnection.connect({ address });
  return {
    client: new Client({ connection, namespace, identity: IDENTITY }),
    nativeConnection,
    async close() {
      await nativeConnection.close();
      await connection.close();
      await server?.teardown();
    },
  };
}

/** Save one recording unless a history of the same shape is already there; returns what was done. */
async function save(
  ctx: Ctx,
  rec: Recording,
  opts: { dir: string; replace: boolean; sdkVersion: string; gitCommit: string; workflowsModule?: string },
): Promise<string> {
  const dir = opts.dir;
  const history = await ctx.client.workflow.getHandle(rec.workflowId, rec.runId).fetchHistory();
  const json = historyToJson(history);
  const shape = historyShape(JSON.parse(json) as Parameters<typeof historyShape>[0]);
  const index = readIndex(dir);
  const existing = index.histories.filter((h) => h.workflowType === rec.workflowType && h.scenario === rec.scenario);
  const same = existing.find((h) => {
    const file = path.join(dir, h.file);
    return fs.existsSync(file) && JSON.stringify(historyShape(JSON.parse(readHistoryText(h.file, dir)))) === JSON.stringify(shape);
  });
  if (same && !opts.replace) return `unchanged  ${same.file}`;
  let n = 1;
  const taken = (name: string) => fs.existsSync(path.join(dir, name)) || fs.existsSync(path.join(dir, `${name}.gz`));
  if (opts.replace && existing.length) n = Math.max(...existing.map((h) => Number(/--(\d+)\.json(\.gz)?$/.exec(h.file)?.[1] ?? 1)));
  else while (taken(historyFileName(rec.workflowType, rec.scenario, n))) n++;
  const { file, bytes } = historyFileBytes(historyFileName(rec.workflowType, rec.scenario, n), json);
  for (const stale of [historyFileName(rec.workflowType, rec.scenario, n), `${historyFileName(rec.workflowType, rec.scenario, n)}.gz`]) {
    if (stale !== file && fs.existsSync(path.join(dir, stale))) fs.rmSync(path.join(dir, stale));
  }
  fs.writeFileSync(path.join(dir, file), bytes);
  const entry: RecordedHistory = {
    file,
    workflowType: rec.workflowType,
    scenario: rec.scenario,
    workflowId: rec.workflowId,
    description: rec.description,
    sdkVersion: opts.sdkVersion,
    gitCommit: opts.gitCommit,
    recordedAt: new Date().toISOString(),
    events: history.events?.length ?? 0,
    ...(opts.workflowsModule ? { workflowsModule: opts.workflowsModule } : {}),
  };
  writeIndex({ ...index, histories: [...index.histories.filter((h) => h.file !== file), entry] }, dir);
  const kb = (fs.statSync(path.join(dir, file)).size / 1024).toFixed(1);
  return `${existing.some((h) => h.file === file) ? 'replaced ' : 'recorded '} ${file} (${entry.events} events, ${kb} KB)`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      address: { type: 'string' },
      namespace: { type: 'string', default: 'default' },
      only: { type: 'string' },
      replace: { type: 'boolean', default: false },
      list: { type: 'boolean', default: false },
      workflows: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const dir = path.resolve(values.out ?? HISTORIES_DIR);
  const workflowsModule = values.workflows ? path.relative(process.cwd(), path.resolve(values.workflows)) : undefined;
  const only = values.only?.split(',').map((s) => s.trim()).filter(Boolean);
  const scenarios = SCENARIOS.filter((s) => !only || only.some((o) => s.id.includes(o)));
  if (values.list) {
    for (const s of SCENARIOS) console.log(s.id);
    return;
  }
  if (!scenarios.length) throw new Error(`no scenario matches --only ${values.only}; see --list`);

  const t0 = Date.now();
  // Errors only: the failure scenarios would each log a "Workflow failed" warning.
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  fs.rmSync(WORK_ROOT, { recursive: true, force: true });
  const inputDir = path.join(WORK_ROOT, 'in');
  const outputRoot = path.join(WORK_ROOT, 'out');
  fs.mkdirSync(inputDir, { recursive: true });
  fs.mkdirSync(dir, { recursive: true });

  // On a shared server the fixed ids may be taken by an earlier recording: make them unique there.
  const idSuffix = values.address ? `-${randomUUID().slice(0, 8)}` : '';
  const taskQueue = `reelay-record${idSuffix}`;
  const stack = await connect(values.address, values.namespace);
  const sandbox = await startSandbox({ timings: BASELINE.timings });
  // The caller's own Reelay settings (limits, paces, keys) would change what the scenarios record.
  const callerEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^REELAY_|_API_KEY$|_BASE_URL$|^AISTUDIO_TOKEN$/.test(k)));
  const baseEnv: NodeJS.ProcessEnv = { ...callerEnv, ...sandbox.env(), REELAY_OUTPUT_DIR: outputRoot, REELAY_TASK_QUEUE: taskQueue };
  // One bundle for every scenario's worker (each scenario gets a worker of its own, made with its settings).
  // Built as the worker would build it for this environment (tracing interceptors, the failure converter).
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: workflowsModule ? path.resolve(workflowsModule) : WORKFLOWS_PATH,
    ...workflowBundleOptions(baseEnv),
    logger: new DefaultLogger('WARN'),
  });
  const withWorker = async <T>(scenario: Scenario, body: () => Promise<T>): Promise<T> => {
    const env: NodeJS.ProcessEnv = { ...baseEnv };
    for (const [k, v] of Object.entries({ ...BASELINE_WORKER_ENV, ...scenario.workerEnv })) {
      if (v === undefined) delete env[k];
      else env[k] = v;
    }
    const worker = await createReelayWorker({ connection: stack.nativeConnection, namespace: values.namespace, taskQueue, outputRoot, env, identity: IDENTITY, workflowBundle });
    const running = worker.run();
    try {
      return await body();
    } finally {
      worker.shutdown();
      await running;
    }
  };
  const ctx: Ctx = { client: stack.client, sandbox, taskQueue, inputDir, outputRoot, idSuffix };
  const meta = { dir, replace: values.replace, workflowsModule, sdkVersion: (require('@temporalio/worker/package.json') as { version: string }).version, gitCommit: gitCommit() };
  console.log(
    `Recording ${scenarios.length} scenario(s) with Temporal TypeScript SDK ${meta.sdkVersion} at ${meta.gitCommit}${workflowsModule ? ` (workflows from ${workflowsModule})` : ''} into ${path.relative(process.cwd(), dir)}`,
  );

  let failed = 0;
  try {
    for (const scenario of scenarios) {
      const s0 = Date.now();
      sandbox.configure(BASELINE);
      try {
        const recordings = await withWorker(scenario, () => scenario.run(ctx));
        for (const rec of recordings) console.log(`  ${await save(ctx, rec, meta)}`);
        console.log(`✓ ${scenario.id} (${((Date.now() - s0) / 1000).toFixed(1)} s)`);
      } catch (err) {
        failed++;
        console.error(`✗ ${scenario.id}: ${(err as Error).stack ?? String(err)}`);
      } finally {
        // Each scenario that uses AI Studio slots starts from a fresh limiter.
        await ctx.client.workflow
          .getHandle(limiterWorkflowId('aistudio', taskQueue))
          .terminate('scenario done')
          .catch(() => undefined);
      }
    }
  } finally {
    await sandbox.close();
    await stack.close();
  }
  console.log(`${failed ? `${failed} scenario(s) failed` : 'Done'} in ${((Date.now() - t0) / 1000).toFixed(1)} s.`);
  if (failed) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
