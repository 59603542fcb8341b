import fs from 'node:fs';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import type { FaultSettings } from '../../src/sandbox';
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
    const result = await started.handle.result();

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
    const firstResult = await first.handle.result();
    const before = h.sandbox.counters();
    const second = await startPipeline(
      h.client,
      'lipdub',
      { shotId: firstResult.shotId, audios: [{ audioId: firstResult.outputs[0]!.audioId, language: 'pt-BR', outputName: 'again.mp4' }], polling: FAST_POLLING },
      { taskQueue: h.taskQueue },
    );
    const secondResult = await second.handle.result();
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

/**
 * A server that honours the docs and nothing more (issue 11): POST /video/success answers without a shot
 * id, which GET /video/status shows only some polls later; generation ids named `id` or `generateId`, as
 * numbers; no failure reasons; download URLs that expire after 20 s.
 */
describe('lipdubPipeline against the docs-minimal LipDub sandbox', () => {
  let h: Harness;
  let dir: string;

  beforeAll(async () => {
    h = await startHarness({ profile: 'docs-minimal', timings: FAST_LIPDUB });
    await h.startWorker();
    dir = tempDir('lipdub-docs-minimal');
  });
  afterEach(() => h.sandbox.setFaults({}));
  afterAll(async () => {
    await h.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const run = async (input: Record<string, unknown>) => {
    const started = await startPipeline(h.client, 'lipdub', { ...input, polling: FAST_POLLING }, { taskQueue: h.taskQueue });
    const result = await started.handle.result();
    return { started, result };
  };

  it('completes: waits on GET /video/status for the shot id the success answer did not have (regression)', async () => {
    const video = makeFile(dir, 'talk.mp4', 120_000);
    const es = makeFile(dir, 'es.mp3', 20_000);
    const fr = makeFile(dir, 'fr.mp3', 30_000);
    const before = h.sandbox.counters();
    const { started, result } = await run({
      video,
      audios: [
        { source: es, language: 'es-MX' },
        { source: fr, language: 'fr-FR' },
      ],
    });

    expect(result.shotId).toMatch(/^\d+$/);
    expect(result.videoId).toMatch(/\S/);
    expect(result.outputs.map((o) => o.language).sort()).toEqual(['es-MX', 'fr-FR']);
    for (const out of result.outputs) {
      const expected = lipdubOutput(fs.readFileSync(video), fs.readFileSync(out.language === 'es-MX' ? es : fr), out.language);
      expect(fs.readFileSync(out.path).equals(expected)).toBe(true);
      expect(out.generateId).toMatch(/^\d+$/);
    }
    const after = h.sandbox.counters();
    const delta = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
    expect(delta('lipdub POST /v1/video')).toBe(1);
    expect(delta('lipdub POST /v1/video/success/:videoId')).toBe(1);
    // Two answers without the shot id (the upload's one look, the workflow's first poll), then the one with it.
    expect(delta('lipdub GET /v1/video/status/:videoId')).toBeGreaterThanOrEqual(3);

    const progress = await started.handle.query(progressQuery);
    expect(progress.stage).toBe('completed');
    expect(progress.providerIds.shotId).toBe(result.shotId);
    const log = progress.log.map((l) => l.message);
    expect(log).toEqual(expect.arrayContaining([expect.stringContaining('waiting for LipDub to give its shot id'), `Video ${result.videoId} is shot ${result.shotId}`]));
  });

  it('a lost answer to POST /video/success: the retry reuses the confirmed video (not yet in GET /shots) and uploads once', async () => {
    const lost: Partial<FaultSettings> = { lostResponse: { rate: 1, first: 1 } };
    h.sandbox.setFaults({ rules: [{ service: 'lipdub', method: 'POST', route: '/v1/video/success/:videoId', faults: lost }] });
    const before = h.sandbox.counters();
    const { result } = await run({ video: makeFile(dir, 'lost.mp4', 20_000), audios: [{ source: makeFile(dir, 'it.mp3', 5000), language: 'it-IT' }] });
    expect(h.sandbox.faultStats().total.lostResponse).toBe(1);
    const after = h.sandbox.counters();
    expect((after['lipdub POST /v1/video'] ?? 0) - (before['lipdub POST /v1/video'] ?? 0)).toBe(1);
    expect(result.outputs).toHaveLength(1);
    expect(result.shotId).toMatch(/^\d+$/);
  });

  it('keeps waiting through statuses the docs do not list, and says so in its progress log', async () => {
    const paused: Partial<FaultSettings> = { unknownStatus: { rate: 1, first: 2, value: 'paused' } };
    h.sandbox.setFaults({
      rules: [
        { service: 'lipdub', method: 'GET', route: '/v1/shots/:shotId/status', faults: paused },
        { service: 'lipdub', method: 'GET', route: '/v1/shots/:shotId/generate/:generateId', faults: paused },
      ],
    });
    const { started, result } = await run({ video: makeFile(dir, 'paused.mp4', 10_000), audios: [{ source: makeFile(dir, 'pt.mp3', 3000), language: 'pt-BR' }] });
    expect(h.sandbox.faultStats().total.unknownStatus).toBe(4);
    const generateId = result.outputs[0]!.generateId;
    const log = (await started.handle.query(progressQuery)).log.map((l) => l.message);
    expect(log).toEqual(
      expect.arrayContaining([
        `LipDub reported shot_status of shot ${result.shotId} "paused", which the docs do not list; still waiting`,
        `LipDub reported status of generation ${generateId} "paused", which the docs do not list; still waiting`,
      ]),
    );
  });
});
