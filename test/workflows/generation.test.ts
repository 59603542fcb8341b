import fs from 'node:fs';
import path from 'node:path';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, CancelledFailure } from '@temporalio/common';
import {
  InputError,
  progressQuery,
  startPipeline,
} from '../../src/client';
import { sha256Hex, text2videoOutput } from '../../src/sandbox/derive';
import { limiterStateQuery, limiterWorkflowId } from '../../src/contract/limiter';
import { FAST_POLLING, makeFile, startHarness, tempDir, type Harness, waitForProgress } from '../support/harness';


const failureOf = async (handle: WorkflowHandle) => (await handle.result().then(() => undefined, (e: unknown) => e)) as WorkflowFailedError;

describe('generation pipelines on a real dev server against the sandbox', () => {
  let h: Harness;
  let dir: string;

  beforeAll(async () => {
    h = await startHarness({
      timings: {
        text2video: { queueMs: 50, stageMs: 60 },
        vividflow: { processMs: 200, workers: 1 },
        aistudio: { pendingMs: 50, runMs: 300 },
      },
    });
    await h.startWorker();
    dir = tempDir('generation-in');
  });
  afterAll(async () => {
    await h.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('text2video', () => {
    it('turns a story into a video, mirroring the server\'s progress logs', async () => {
      const text = 'Once upon a time, a durable workflow outlived three servers.';
      const started = await startPipeline(h.client, 'text2video', { text, polling: FAST_POLLING }, { taskQueue: h.taskQueue });
      const result = await started.handle.result();
      const expected = text2videoOutput(text);
      expect(fs.readFileSync(result.output.path).equals(expected)).toBe(true);
      expect(result.output.sha256).toBe(sha256Hex(expected));
      expect(result.resubmits).toBe(0);
      const progress = await started.handle.query(progressQuery);
      expect(progress.stage).toBe('completed');
      expect(progress.log.map((l) => l.message)).toEqual(expect.arrayContaining(['Starting audio generation...']));
    });

    it('resubmits a job the server forgot in a restart, and says so', async () => {
      h.sandbox.configure({ timings: { text2video: { stageMs: 400 } } });
      try {
        h.sandbox.resetCounters();
        const text = 'A story told twice.';
        const started = await startPipeline(h.client, 'text2video', { text, polling: FAST_POLLING }, { taskQueue: h.taskQueue });
        await waitForProgress(started.handle, (p) => p.stage === 'generating' && p.percent > 5);
        h.sandbox.restartText2video();
        const result = await started.handle.result();
        expect(result.resubmits).toBe(1);
        expect(fs.readFileSync(result.output.path).equals(text2videoOutput(text))).toBe(true);
        expect(h.sandbox.counters()['text2video POST /api/v1/generate']).toBe(2);
        const progress = await started.handle.query(progressQuery);
        expect(progress.log.some((l) => /no longer knows job .* resubmitting \(1\/3\)/.test(l.message))).toBe(true);
      } finally {
        h.sandbox.configure({ timings: { text2video: { stageMs: 60 } } });
      }
    });
  });

  describe('vividflow', () => {
    it('animates a local image (multipart) and records the provider\'s metrics', async () => {
      const image = makeFile(dir, 'still.png', 30_000);
      const started = await startPipeline(
        h.client,
        'vividflow',
        { prompt: 'the sea starts to move', imagePath: image, cfg: 9.5, steps: 20, polling: FAST_POLLING },
        { taskQueue: h.taskQueue },
      );
      const result = await started.handle.result();
      const bytes = fs.readFileSync(result.output.path);
      expect(sha256Hex(bytes)).toBe(result.output.sha256);
      expect(h.sandbox.served().some((o) => o.sha256 === result.output.sha256 && o.bytes === bytes.length)).toBe(true);
      expect(result.metrics?.generationTime).toEqual(expect.any(Number));
    });

    it('cancelling while queued cancels the job at Vivid Flow exactly once; a processing job is reported as not cancellable', async () => {
      h.sandbox.configure({ timings: { vividflow: { processMs: 30_000, workers: 1 } } });
      try {
        h.sandbox.resetCounters();
        const input = (prompt: string) => ({ prompt, imageUrl: 'gs://reelay-test/still.png', polling: FAST_POLLING });
        const first = await startPipeline(h.client, 'vividflow', input('first'), { taskQueue: h.taskQueue });
        await waitForProgress(first.handle, (p) => p.stage === 'processing');
        const second = await startPipeline(h.client, 'vividflow', input('second'), { taskQueue: h.taskQueue });
        const queued = await waitForProgress(second.handle, (p) => p.stage === 'queued' && p.providerIds.jobId !== undefined);

        await second.handle.cancel();
        expect((await failureOf(second.handle)).cause).toBeInstanceOf(CancelledFailure);
        const after = await second.handle.query(progressQuery);
        expect(after.leftAtProvider).toEqual([]);
        expect(after.log.some((l) => l.message === `Cancelled job ${queued.providerIds.jobId} at Vivid Flow`)).toBe(true);
        expect(h.sandbox.counters()['vividflow POST /api/v1/cancel/:jobId']).toBe(1);

        await first.handle.cancel();
        expect((await failureOf(first.handle)).cause).toBeInstanceOf(CancelledFailure);
        const firstAfter = await first.handle.query(progressQuery);
        expect(firstAfter.leftAtProvider).toEqual([expect.stringMatching(/could not be cancelled: .*processing/)]);
      } finally {
        h.sandbox.configure({ timings: { vividflow: { processMs: 200 } } });
      }
    });
  });

  describe('aistudio', () => {
    const fiveAtOnce = () =>
      Promise.all(
        [1, 2, 3, 4, 5].map((n) =>
          startPipeline(
            h.client,
            'aistudio',
            { prompt: `shot number ${n}`, mockMode: true, polling: FAST_POLLING, slotWait: { initialSeconds: 0.2, maxSeconds: 0.5 } },
            { taskQueue: h.taskQueue },
          ),
        ),
      );

    it('five pipelines started at once share the 3 job slots through the limiter workflow: all finish, no 429, never more than 3 running', async () => {
      // Mock jobs run for 800 ms, so all five overlap.
      h.sandbox.configure({ timings: { aistudio: { pendingMs: 50, runMs: 800, mockRunMs: 800 } } });
      h.sandbox.resetCounters();
      const runs = await fiveAtOnce();
      const results = await Promise.all(runs.map((r) => r.handle.result()));
      expect(new Set(results.map((r) => r.jobId)).size).toBe(5);
      for (const r of results) expect(fs.statSync(r.output.path).size).toBe(r.output.bytes);
      expect(Math.max(...Object.values(h.sandbox.stats().aistudio.maxRunningSeen))).toBe(3);
      // The limiter held the extra two back: AI Studio never had to refuse one.
      expect(h.sandbox.counters()['aistudio POST /api/v1/video-jobs']).toBe(5);
      expect(results.every((r) => r.slotWaits === 0)).toBe(true);
      const logs = await Promise.all(runs.map(async (r) => (await r.handle.query(progressQuery)).log.map((l) => l.message)));
      expect(logs.filter((log) => log.some((m) => m.startsWith('Waiting for one of 3 AI Studio job slots'))).length).toBeGreaterThanOrEqual(2);
      const limiter = h.client.workflow.getHandle(limiterWorkflowId('aistudio', h.taskQueue));
      const state = await limiter.query(limiterStateQuery);
      expect(state).toMatchObject({ capacity: 3, holders: [], waiting: [] });
    });

    it('without the limiter, AI Studio\'s own 429 is not a failure: refused creates wait for a slot and try again', async () => {
      // Configuration is read once, at worker start: a worker without the cap.
      await h.stopWorker();
      h.env.REELAY_AISTUDIO_MAX_CONCURRENT_JOBS = '0';
      await h.startWorker();
      try {
        h.sandbox.configure({ timings: { aistudio: { pendingMs: 50, runMs: 800, mockRunMs: 800 } } });
        h.sandbox.resetCounters();
        const runs = await fiveAtOnce();
        const results = await Promise.all(runs.map((r) => r.handle.result()));
        expect(new Set(results.map((r) => r.jobId)).size).toBe(5);
        expect(Math.max(...Object.values(h.sandbox.stats().aistudio.maxRunningSeen))).toBe(3);
        const refused = results.reduce((n, r) => n + r.slotWaits, 0);
        expect(refused).toBeGreaterThanOrEqual(2);
        expect(h.sandbox.counters()['aistudio POST /api/v1/video-jobs']).toBe(5 + refused);
        const waited = runs[results.findIndex((r) => r.slotWaits > 0)]!;
        const log = (await waited.handle.query(progressQuery)).log.map((l) => l.message);
        expect(log.some((m) => m.startsWith('AI Studio is busy'))).toBe(true);
      } finally {
        await h.stopWorker();
        delete h.env.REELAY_AISTUDIO_MAX_CONCURRENT_JOBS;
        await h.startWorker();
      }
    });

    it('fails fast on 402 with the balance in the message, without retrying', async () => {
      h.sandbox.configure({ aistudio: { tokens: 20 } });
      try {
        h.sandbox.resetCounters();
        const started = await startPipeline(h.client, 'aistudio', { prompt: 'too expensive', mockMode: true, polling: FAST_POLLING }, { taskQueue: h.taskQueue });
        const err = await failureOf(started.handle);
        expect(err.cause).toBeInstanceOf(ActivityFailure);
        const app = err.cause!.cause as ApplicationFailure;
        expect(app.type).toBe('PaymentRequired');
        expect(app.nonRetryable).toBe(true);
        expect(app.message).toMatch(/50/);
        expect(app.message).toMatch(/20/);
        expect(h.sandbox.counters()['aistudio POST /api/v1/video-jobs']).toBe(1);
      } finally {
        h.sandbox.configure({ aistudio: { tokens: 1000 } });
      }
    });
  });

  describe('every documented limit is rejected before anything starts, naming the field', () => {
    const img = () => makeFile(dir, 'ref.png', 10);
    const cases: Array<[string, 'text2video' | 'vividflow' | 'aistudio', () => unknown, RegExp]> = [
      ['an empty story', 'text2video', () => ({ text: '   ' }), /input\.text: must not be empty/],
      ['Vivid duration 5', 'vividflow', () => ({ prompt: 'p', imageUrl: 'gs://b/i.png', model: 'veo3.1', durationSeconds: 5 }), /input\.durationSeconds/],
      ['Vivid resolution 4k', 'vividflow', () => ({ prompt: 'p', imageUrl: 'gs://b/i.png', model: 'veo3.1', resolution: '4k' }), /input\.resolution/],
      ['cfg below 1.0', 'vividflow', () => ({ prompt: 'p', imageUrl: 'gs://b/i.png', cfg: 0.5 }), /input\.cfg/],
      ['cfg above 20.0', 'vividflow', () => ({ prompt: 'p', imageUrl: 'gs://b/i.png', cfg: 20.5 }), /input\.cfg/],
      ['a Veo parameter on Wan', 'vividflow', () => ({ prompt: 'p', imageUrl: 'gs://b/i.png', durationSeconds: 4 }), /input\.durationSeconds: applies to model veo3\.1 only/],
      ['both image and image_url', 'vividflow', () => ({ prompt: 'p', imageUrl: 'gs://b/i.png', imagePath: img() }), /input\.(imagePath|imageUrl)/],
      ['neither image nor image_url', 'vividflow', () => ({ prompt: 'p' }), /input\.(imagePath|imageUrl)/],
      ['an http (not https) image URL', 'vividflow', () => ({ prompt: 'p', imageUrl: 'http://x.test/i.png' }), /input\.imageUrl/],
      ['an empty prompt', 'vividflow', () => ({ prompt: '', imageUrl: 'gs://b/i.png' }), /input\.prompt: must not be empty/],
      ['AI Studio duration 6', 'aistudio', () => ({ prompt: 'p', durationSeconds: 6 }), /input\.durationSeconds/],
      ['AI Studio resolution 4k', 'aistudio', () => ({ prompt: 'p', resolution: '4k' }), /input\.resolution: must be 720p or 1080p|input\.resolution/],
      ['AI Studio aspect ratio 4:3', 'aistudio', () => ({ prompt: 'p', aspectRatio: '4:3' }), /input\.aspectRatio/],
      ['four reference images', 'aistudio', () => ({ prompt: 'p', referenceImages: [img(), img(), img(), img()] }), /input\.referenceImages: at most 3 reference images/],
      ['neither prompt nor initial image', 'aistudio', () => ({ mockMode: true }), /input\.prompt: give a prompt or an initialImage/],
      ['a missing initial image', 'aistudio', () => ({ initialImage: path.join(dir, 'gone.png') }), /input\.initialImage: .*does not exist/],
    ];
    it.each(cases)('%s', async (_name, pipeline, input, message) => {
      h.sandbox.resetCounters();
      const err = await startPipeline(h.client, pipeline, input(), { taskQueue: h.taskQueue }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InputError);
      expect((err as Error).message).toMatch(message);
      expect(h.sandbox.counters()).toEqual({});
    });
  });
});
