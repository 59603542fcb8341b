import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { progressQuery, startPipeline, type PipelineProgress } from '../../src/client';
import type { RunningJob } from '../../src/sandbox';
import { FAST_POLLING, makeFile, startHarness, tempDir, type Harness, waitForProgress } from '../support/harness';

/**
 * A cancelled run's `progress.leftAtProvider` must name exactly the jobs still running at the provider
 * for that run, whatever it was doing when the cancel came: compared, item by item, with the sandbox's
 * own list of running jobs (`sandbox.running()`).
 */

const TIMINGS = {
  lipdub: { shotMs: 150, trainingMs: 150, generateQueueMs: 50, generateMs: 150 },
  dublab: { queueMs: 50, processMs: 150 },
  text2video: { queueMs: 50, stageMs: 50 },
  vividflow: { processMs: 100, workers: 2 },
  aistudio: { pendingMs: 50, runMs: 100 },
};
/** Long enough that nothing a test looks at finishes while it looks. */
const LONG_MS = 60_000;
/** How long the sandbox holds back the answer of a create it already performed. */
const HOLD_MS = 2500;

/** The provider id an item of `leftAtProvider` names: `job 12`, `shot 746176 (...)`, `generation 456 (running)`, `dub f-1 (...)`. */
const idOf = (item: string): string => /^(?:job|shot|generation|dub) (\S+)/.exec(item)?.[1] ?? `unparsed: ${item}`;

describe('cancellation tells the truth: leftAtProvider equals what still runs at the provider', () => {
  let h: Harness;
  let dir: string;
  const savedCap = process.env.REELAY_VIVIDFLOW_MAX_CONCURRENT_JOBS;

  beforeAll(async () => {
    // Vivid Flow through the limiter too, so the order of slot release and provider cancel is visible.
    process.env.REELAY_VIVIDFLOW_MAX_CONCURRENT_JOBS = '10';
    h = await startHarness({ timings: TIMINGS });
    await h.startWorker();
    dir = tempDir('cancel-in');
  });
  afterAll(async () => {
    await h.close();
    fs.rmSync(dir, { recursive: true, force: true });
    if (savedCap === undefined) delete process.env.REELAY_VIVIDFLOW_MAX_CONCURRENT_JOBS;
    else process.env.REELAY_VIVIDFLOW_MAX_CONCURRENT_JOBS = savedCap;
  });
  afterEach(() => {
    h.sandbox.setFaults({});
    h.sandbox.configure({ timings: TIMINGS });
  });

  /**
   * Cancel, wait for the run to end cancelled, and compare its leftAtProvider with the sandbox's running
   * jobs of this run. `mayComplete`: a download the cancel reached only at its end delivers its result,
   * and the run completes (nothing is left then either).
   */
  async function cancelAndCompare(
    handle: WorkflowHandle,
    provider: RunningJob['provider'],
    ofRun: (j: RunningJob) => boolean,
    opts: { mayComplete?: boolean } = {},
  ): Promise<PipelineProgress> {
    await handle.cancel();
    const err = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    const progress = await handle.query(progressQuery);
    if (err === undefined && opts.mayComplete) {
      expect(progress.stage).toBe('completed');
      expect(h.sandbox.running(provider).filter(ofRun)).toEqual([]);
      return progress;
    }
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(progress.stage).toBe('cancelled');
    const running = h.sandbox.running(provider).filter(ofRun);
    expect({ left: (progress.leftAtProvider ?? []).map(idOf).sort() }).toEqual({ left: running.map((j) => j.id).sort() });
    return progress;
  }

  /** Resolves once the sandbox has performed the create (ledger) whose answer it now holds back. */
  async function createdAt(provider: RunningJob['provider'], matches: (key: string) => boolean): Promise<string> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const entry = h.sandbox.ledger().find((e) => e.provider === provider && matches(e.key));
      if (entry) return entry.id;
      if (Date.now() > deadline) throw new Error(`no ${provider} create in the ledger`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The slot goes back (the signal to the limiter) only after the run's last activity ended. */
  async function expectSlotReleasedLast(handle: WorkflowHandle): Promise<void> {
    const events = (await handle.fetchHistory()).events ?? [];
    const release = events.findIndex((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes);
    const ends = events.map((e, i) =>
      e.activityTaskCompletedEventAttributes || e.activityTaskFailedEventAttributes || e.activityTaskCanceledEventAttributes || e.activityTaskTimedOutEventAttributes ? i : -1,
    );
    const lastActivityEnd = Math.max(...ends);
    expect(release).toBeGreaterThan(-1);
    expect(release).toBeGreaterThan(lastActivityEnd);
  }

  describe('vividflow', () => {
    const start = async (prompt: string) =>
      (await startPipeline(h.client, 'vividflow', { prompt, imageUrl: 'gs://reelay-test/still.png', polling: FAST_POLLING }, { taskQueue: h.taskQueue })).handle;

    it('cancelled while its create is held open: the job it created is cancelled at Vivid Flow exactly once, and the slot is released after that', async () => {
      h.sandbox.configure({ timings: { vividflow: { workers: 0 } } });
      h.sandbox.setFaults({ rules: [{ key: 'vividflow POST /api/v1/generate', faults: { holdAnswerMs: { ms: HOLD_MS, first: 1 } } }] });
      h.sandbox.resetCounters();
      const prompt = `held ${randomUUID()}`;
      const handle = await start(prompt);
      const jobId = await createdAt('vividflow', (k) => k === prompt);

      const progress = await cancelAndCompare(handle, 'vividflow', (j) => j.key === prompt);
      expect(progress.leftAtProvider).toEqual([]);
      expect(progress.providerIds.jobId).toBe(jobId);
      expect(progress.log.some((l) => l.message === `Cancelled job ${jobId} at Vivid Flow`)).toBe(true);
      expect(h.sandbox.counters()['vividflow POST /api/v1/cancel/:jobId']).toBe(1);
      await expectSlotReleasedLast(handle);
    });

    it('cancelled before its input came back from validateInput: progress says cancelled, nothing was created or left', async () => {
      const prompt = `before input ${randomUUID()}`;
      // A delayed start: the cancel request is in the history before the run's first workflow task.
      const handle = await h.client.workflow.start('vividflowPipeline', {
        taskQueue: h.taskQueue,
        workflowId: `vividflow-before-input-${randomUUID()}`,
        args: [{ prompt, imageUrl: 'gs://reelay-test/still.png', polling: FAST_POLLING }],
        startDelay: '1s',
      });
      const progress = await cancelAndCompare(handle, 'vividflow', (j) => j.key === prompt);
      expect(progress).toMatchObject({ stage: 'cancelled', leftAtProvider: [] });
      expect(h.sandbox.ledger().filter((e) => e.key === prompt)).toEqual([]);
    });

    it('cancelled while queued: cancelled at Vivid Flow exactly once, nothing left', async () => {
      h.sandbox.configure({ timings: { vividflow: { workers: 0 } } });
      h.sandbox.resetCounters();
      const prompt = `queued ${randomUUID()}`;
      const handle = await start(prompt);
      await waitForProgress(handle, (p) => p.stage === 'queued' && p.providerIds.jobId !== undefined);
      expect((await cancelAndCompare(handle, 'vividflow', (j) => j.key === prompt)).leftAtProvider).toEqual([]);
      expect(h.sandbox.counters()['vividflow POST /api/v1/cancel/:jobId']).toBe(1);
    });

    it('cancelled while processing: the job is listed, it cannot be cancelled there', async () => {
      h.sandbox.configure({ timings: { vividflow: { workers: 1, processMs: LONG_MS } } });
      const prompt = `processing ${randomUUID()}`;
      const handle = await start(prompt);
      await waitForProgress(handle, (p) => p.stage === 'processing');
      const progress = await cancelAndCompare(handle, 'vividflow', (j) => j.key === prompt);
      expect(progress.leftAtProvider).toEqual([expect.stringMatching(/could not be cancelled: .*processing/)]);
    });
  });

  describe('aistudio', () => {
    const start = async (prompt: string) =>
      (await startPipeline(h.client, 'aistudio', { prompt, mockMode: false, polling: FAST_POLLING }, { taskQueue: h.taskQueue })).handle;

    it('cancelled while its create is held open: the job it created is listed (AI Studio has no cancel), and the slot is released after that', async () => {
      h.sandbox.configure({ timings: { aistudio: { pendingMs: LONG_MS } } });
      h.sandbox.setFaults({ rules: [{ key: 'aistudio POST /api/v1/video-jobs', faults: { holdAnswerMs: { ms: HOLD_MS, first: 1 } } }] });
      const prompt = `held ${randomUUID()}`;
      const handle = await start(prompt);
      const jobId = await createdAt('aistudio', (k) => k === prompt);
      const progress = await cancelAndCompare(handle, 'aistudio', (j) => j.key === prompt);
      expect(progress.leftAtProvider).toEqual([expect.stringContaining(`job ${jobId} (PENDING`)]);
      await expectSlotReleasedLast(handle);
    });

    it('cancelled while running: the job is listed', async () => {
      h.sandbox.configure({ timings: { aistudio: { runMs: LONG_MS } } });
      const prompt = `running ${randomUUID()}`;
      const handle = await start(prompt);
      await waitForProgress(handle, (p) => p.stage === 'running');
      expect((await cancelAndCompare(handle, 'aistudio', (j) => j.key === prompt)).leftAtProvider).toHaveLength(1);
    });

    it('cancelled while a download is in flight that then fails (a 502 the server no longer retries): the run ends cancelled, naming the call', async () => {
      // Every object GET answers 502 after HOLD_MS: the cancel comes while the first one waits.
      h.sandbox.setFaults({ rules: [{ key: 'store GET', faults: { latencyMs: { min: HOLD_MS, max: HOLD_MS, rate: 1 }, serverError: { statuses: [502], rate: 1 } } }] });
      const prompt = `download fails ${randomUUID()}`;
      const handle = await start(prompt);
      await waitForProgress(handle, (p) => p.stage === 'downloading');
      await handle.cancel();
      const err = await handle.result().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
      const progress = await handle.query(progressQuery);
      expect(progress.stage).toBe('cancelled');
      // The job had ended (it was being downloaded): only the cut-short call is named.
      expect(h.sandbox.running('aistudio').filter((j) => j.key === prompt)).toEqual([]);
      expect(progress.leftAtProvider).toEqual([expect.stringMatching(/^call "Download .*" was cut short by the cancel \(.*502.*\): anything it made at the provider is not listed here/)]);
    });

    it('cancelled while downloading: nothing is left running', async () => {
      h.sandbox.setFaults({ rules: [{ key: 'store GET', faults: { holdAnswerMs: { ms: HOLD_MS, first: 1 } } }] });
      const prompt = `download ${randomUUID()}`;
      const handle = await start(prompt);
      await waitForProgress(handle, (p) => p.stage === 'downloading');
      expect((await cancelAndCompare(handle, 'aistudio', (j) => j.key === prompt, { mayComplete: true })).leftAtProvider ?? []).toEqual([]);
    });
  });

  describe('text2video', () => {
    const start = async (text: string) => (await startPipeline(h.client, 'text2video', { text, polling: FAST_POLLING }, { taskQueue: h.taskQueue })).handle;

    it('cancelled while its create is held open: the job it created is listed', async () => {
      h.sandbox.configure({ timings: { text2video: { queueMs: LONG_MS } } });
      h.sandbox.setFaults({ rules: [{ key: 'text2video POST /api/v1/generate', faults: { holdAnswerMs: { ms: HOLD_MS, first: 1 } } }] });
      const text = `A held story ${randomUUID()}.`;
      const handle = await start(text);
      const jobId = await createdAt('text2video', (k) => k === text);
      const progress = await cancelAndCompare(handle, 'text2video', (j) => j.key === text);
      expect(progress.leftAtProvider).toEqual([expect.stringContaining(`job ${jobId} `)]);
    });

    it('cancelled while generating: the job is listed', async () => {
      h.sandbox.configure({ timings: { text2video: { stageMs: LONG_MS } } });
      const text = `A long story ${randomUUID()}.`;
      const handle = await start(text);
      await waitForProgress(handle, (p) => p.stage === 'generating' && p.providerIds.jobId !== undefined);
      expect((await cancelAndCompare(handle, 'text2video', (j) => j.key === text)).leftAtProvider).toHaveLength(1);
    });

    it('cancelled while downloading: nothing is left running', async () => {
      h.sandbox.setFaults({ rules: [{ key: 'text2video GET /api/v1/download/:jobId', faults: { holdAnswerMs: { ms: HOLD_MS, first: 1 } } }] });
      const text = `A short story ${randomUUID()}.`;
      const handle = await start(text);
      await waitForProgress(handle, (p) => p.stage === 'downloading');
      expect((await cancelAndCompare(handle, 'text2video', (j) => j.key === text, { mayComplete: true })).leftAtProvider ?? []).toEqual([]);
    });
  });

  describe('lipdub', () => {
    const start = async (languages: string[]) =>
      (
        await startPipeline(
          h.client,
          'lipdub',
          {
            video: makeFile(dir, `talk-${randomUUID()}.mp4`, 50_000),
            audios: languages.map((language) => ({ source: makeFile(dir, `${language}-${randomUUID()}.mp3`, 10_000), language })),
            polling: FAST_POLLING,
          },
          { taskQueue: h.taskQueue },
        )
      ).handle;
    const ofRun = (handle: WorkflowHandle) => (j: RunningJob) => j.key.includes(handle.workflowId);

    it('cancelled while uploading: the upload is waited for, and the shot its success made (if it got there) is listed', async () => {
      h.sandbox.configure({ timings: { lipdub: { shotMs: LONG_MS } } });
      h.sandbox.setFaults({ rules: [{ key: 'store PUT', faults: { slowUpload: 25_000 } }] });
      const handle = await start(['es-MX']);
      await waitForProgress(handle, (p) => p.stage === 'uploading');
      await new Promise((r) => setTimeout(r, 500));
      await cancelAndCompare(handle, 'lipdub', ofRun(handle));
    });

    it('cancelled while the shot is processed: the shot is listed', async () => {
      h.sandbox.configure({ timings: { lipdub: { shotMs: LONG_MS } } });
      const handle = await start(['es-MX']);
      await waitForProgress(handle, (p) => p.stage === 'waiting-for-shot' && p.providerIds.shotId !== undefined);
      const progress = await cancelAndCompare(handle, 'lipdub', ofRun(handle));
      expect(progress.leftAtProvider).toEqual([expect.stringMatching(/^shot \d+ /)]);
    });

    it('cancelled while a generation create is held open: the generation it created is listed, the other one too', async () => {
      h.sandbox.configure({ timings: { lipdub: { generateMs: LONG_MS } } });
      h.sandbox.setFaults({ rules: [{ key: 'lipdub POST /v1/shots/:shotId/generate', faults: { holdAnswerMs: { ms: HOLD_MS, first: 2 } } }] });
      const handle = await start(['es-MX', 'fr-FR']);
      await createdAt('lipdub', (k) => k.startsWith(handle.workflowId));
      const progress = await cancelAndCompare(handle, 'lipdub', ofRun(handle));
      expect(progress.leftAtProvider).toHaveLength(2);
      expect(progress.leftAtProvider!.every((l) => l.startsWith('generation '))).toBe(true);
    });

    it('cancelled while downloading: nothing is left running', async () => {
      h.sandbox.setFaults({ rules: [{ key: 'lipdub GET /v1/shots/:shotId/generate/:generateId/download', faults: { holdAnswerMs: { ms: HOLD_MS, first: 1 } } }] });
      const handle = await start(['es-MX']);
      await waitForProgress(handle, (p) => p.log.some((l) => / finished; downloading$/.test(l.message)));
      expect((await cancelAndCompare(handle, 'lipdub', ofRun(handle), { mayComplete: true })).leftAtProvider ?? []).toEqual([]);
    });
  });

  describe('dublab', () => {
    const start = async () =>
      (
        await startPipeline(
          h.client,
          'dublab',
          { source: makeFile(dir, `clip-${randomUUID()}.mp4`, 20_000), sourceLanguage: 'en', targetLanguages: ['fr', 'it'], durationSeconds: 5, polling: FAST_POLLING },
          { taskQueue: h.taskQueue },
        )
      ).handle;
    const ofRun = (handle: WorkflowHandle) => (j: RunningJob) => j.key.includes(handle.workflowId);

    it('cancelled while uploading: nothing is running yet', async () => {
      h.sandbox.setFaults({ rules: [{ key: 'store PUT', faults: { slowUpload: 10_000 } }] });
      const handle = await start();
      await waitForProgress(handle, (p) => p.stage === 'uploading');
      await new Promise((r) => setTimeout(r, 500));
      expect((await cancelAndCompare(handle, 'dublab', ofRun(handle))).leftAtProvider).toEqual([]);
    });

    it('cancelled while a start-dub is held open: both started dubs are listed', async () => {
      h.sandbox.configure({ timings: { dublab: { queueMs: LONG_MS } } });
      h.sandbox.setFaults({ rules: [{ key: 'dublab POST /api/v1/start-dub', faults: { holdAnswerMs: { ms: HOLD_MS, first: 2 } } }] });
      const handle = await start();
      const ledgerBefore = h.sandbox.ledger().length;
      await waitForProgress(handle, (p) => p.stage === 'starting-dubs');
      const deadline = Date.now() + 30_000;
      while (h.sandbox.ledger().slice(ledgerBefore).filter((e) => e.endpoint === 'POST /api/v1/start-dub').length < 2 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const progress = await cancelAndCompare(handle, 'dublab', ofRun(handle));
      expect(progress.leftAtProvider).toHaveLength(2);
    });

    it('cancelled while dubbing: the dubs are listed', async () => {
      h.sandbox.configure({ timings: { dublab: { processMs: LONG_MS } } });
      const handle = await start();
      await waitForProgress(handle, (p) => p.stage === 'dubbing');
      await new Promise((r) => setTimeout(r, 300));
      expect((await cancelAndCompare(handle, 'dublab', ofRun(handle))).leftAtProvider).toHaveLength(2);
    });
  });
});
