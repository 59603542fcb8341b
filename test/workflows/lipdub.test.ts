import fs from 'node:fs';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { startPipeline, progressQuery } from '../../src/client';
import { lipdubOutput, sha256Hex } from '../../src/sandbox/derive';
import { FAST_POLLING, makeFile, startHarness, tempDir, type Harness } from '../support/harness';

const FAST_LIPDUB = { lipdub: { shotMs: 150, trainingMs: 150, generateQueueMs: 50, generateMs: 150 } };

describe('lipdubPipeline on a real dev server against the LipDub sandbox', () => {
  let h: Harness;
  let dir: string;

  beforeAll(async () => {
    h = await startHarness({ timings: FAST_LIPDUB, lipdub: { generateIdVariant: 'rotate', numericGenerateIds: 'rotate' } });
    await h.startWorker();
    dir = tempDir('lipdub-in');
  });
  afterAll(async () => {
    await h.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('uploads a video and two audios, generates both languages and delivers byte-exact outputs', async () => {
    const video = makeFile(dir, 'talk.mp4', 300_000);
    const es = makeFile(dir, 'es.mp3', 40_000);
    const fr = makeFile(dir, 'fr.mp3', 50_000);
    const started = await startPipeline(
      h.client,
      'lipdub',
      {
        video,
        audios: [
          { source: es, language: 'es-MX' },
          { source: fr, language: 'fr-FR', maintainExpression: false },
        ],
        polling: FAST_POLLING,
      },
      { taskQueue: h.taskQueue },
    );
    const result = (await started.handle.result()) as import('../../src/client').LipdubPipelineResult;

    expect(result.outputs.map((o) => o.language).sort()).toEqual(['es-MX', 'fr-FR']);
    for (const out of result.outputs) {
      const audio = out.language === 'es-MX' ? es : fr;
      const expected = lipdubOutput(fs.readFileSync(video), fs.readFileSync(audio), out.language);
      const delivered = fs.readFileSync(out.path);
      expect(delivered.equals(expected)).toBe(true);
      expect(out.sha256).toBe(sha256Hex(expected));
      expect(out.bytes).toBe(expected.length);
      expect(out.path.startsWith(h.outputRoot)).toBe(true);
      expect(out.providerUrl).not.toMatch(/sig=|expires=/);
      expect(out.generateId).toMatch(/\S/);
    }

    const counters = h.sandbox.counters();
    expect(counters['lipdub POST /v1/video']).toBe(1);
    expect(counters['lipdub POST /v1/audio']).toBe(2);
    expect(counters['lipdub POST /v1/shots/:shotId/generate']).toBe(2);

    const progress = await started.handle.query(progressQuery);
    expect(progress.stage).toBe('completed');
    expect(progress.percent).toBe(100);
    expect(progress.providerIds.shotId).toBe(result.shotId);
    expect(progress.log.length).toBeGreaterThan(0);

    const description = await started.handle.describe();
    expect(description.status.name).toBe('COMPLETED');
    expect(await description.staticSummary()).toContain('es-MX');
    expect(description.typedSearchAttributes.get({ name: 'ReelayProvider', type: 'KEYWORD' } as never)).toBe('lipdub');
  });

  it('fails with the provider reason when a generation fails, after delivering the other language', async () => {
    h.sandbox.configure({ lipdub: { failGenerateLanguages: ['de-DE'] } });
    try {
      const video = makeFile(dir, 'v2.mp4', 10_000);
      const started = await startPipeline(
        h.client,
        'lipdub',
        {
          video,
          audios: [
            { source: makeFile(dir, 'de.mp3', 1000), language: 'de-DE' },
            { source: makeFile(dir, 'it.mp3', 1000), language: 'it-IT' },
          ],
          polling: FAST_POLLING,
        },
        { taskQueue: h.taskQueue },
      );
      const err = await started.handle.result().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const cause = (err as WorkflowFailedError).cause;
      expect(cause).toBeInstanceOf(ApplicationFailure);
      expect((cause as ApplicationFailure).type).toBe('ProviderJobFailed');
      expect(cause!.message).toContain('de-DE');
      const details = (cause as ApplicationFailure).details?.[0] as { delivered: Array<{ language: string; path: string }> };
      expect(details.delivered.map((d) => d.language)).toEqual(['it-IT']);
      expect(fs.existsSync(details.delivered[0]!.path)).toBe(true);
    } finally {
      h.sandbox.configure({ lipdub: { failGenerateLanguages: [] } });
    }
  });

  it('reuses an existing shot and audio id without uploading anything', async () => {
    const video = makeFile(dir, 'v3.mp4', 5000);
    const first = await startPipeline(
      h.client,
      'lipdub',
      { video, audios: [{ source: makeFile(dir, 'pt.mp3', 800), language: 'pt-BR' }], polling: FAST_POLLING },
      { taskQueue: h.taskQueue },
    );
    const firstResult = (await first.handle.result()) as import('../../src/client').LipdubPipelineResult;
    const before = h.sandbox.counters();
    const second = await startPipeline(
      h.client,
      'lipdub',
      { shotId: firstResult.shotId, audios: [{ audioId: firstResult.outputs[0]!.audioId, language: 'pt-BR', outputName: 'again.mp4' }], polling: FAST_POLLING },
      { taskQueue: h.taskQueue },
    );
    const secondResult = (await second.handle.result()) as import('../../src/client').LipdubPipelineResult;
    const after = h.sandbox.counters();
    expect(after['lipdub POST /v1/video'] ?? 0).toBe(before['lipdub POST /v1/video'] ?? 0);
    expect(after['lipdub POST /v1/audio'] ?? 0).toBe(before['lipdub POST /v1/audio'] ?? 0);
    expect(fs.readFileSync(secondResult.outputs[0]!.path).equals(fs.readFileSync(firstResult.outputs[0]!.path))).toBe(true);
  });

  it('fails an activity with a typed, non-retried Unauthorized when the key is wrong', async () => {
    const bad = await startHarness({ timings: FAST_LIPDUB, keys: { lipdub: 'the-right-key' } });
    try {
      bad.env.LIPDUB_API_KEY = 'a-wrong-key';
      await bad.startWorker();
      const started = await startPipeline(
        bad.client,
        'lipdub',
        { video: makeFile(dir, 'v4.mp4', 1000), audios: [{ source: makeFile(dir, 'x.mp3', 100), language: 'es' }], polling: FAST_POLLING },
        { taskQueue: bad.taskQueue },
      );
      const err = (await started.handle.result().catch((e: unknown) => e)) as WorkflowFailedError;
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect(err.cause).toBeInstanceOf(ActivityFailure);
      const app = err.cause!.cause as ApplicationFailure;
      expect(app).toBeInstanceOf(ApplicationFailure);
      expect(app.type).toBe('Unauthorized');
      expect(app.nonRetryable).toBe(true);
      // Not retried: each create was tried at most once, and at least one reached the sandbox.
      const c = bad.sandbox.counters();
      expect(c['lipdub POST /v1/video'] ?? 0).toBeLessThanOrEqual(1);
      expect(c['lipdub POST /v1/audio'] ?? 0).toBeLessThanOrEqual(1);
      expect((c['lipdub POST /v1/video'] ?? 0) + (c['lipdub POST /v1/audio'] ?? 0)).toBeGreaterThanOrEqual(1);
    } finally {
      await bad.close();
    }
  });
});
