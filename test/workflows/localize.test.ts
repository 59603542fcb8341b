import fs from 'node:fs';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { startPipeline, type LocalizePipelineResult } from '../../src/client';
import { dublabOutput, lipdubOutput } from '../../src/sandbox/derive';
import { statusReport } from '../../src/cli/commands/status';
import { historyText } from '../support/history';
import { FAST_POLLING, makeFile, startHarness, tempDir, type Harness } from '../support/harness';

describe('localizePipeline: DubLab then LipDub, as child workflows', () => {
  let h: Harness;
  let dir: string;

  beforeAll(async () => {
    h = await startHarness({
      timings: {
        dublab: { queueMs: 50, processMs: 100 },
        lipdub: { shotMs: 100, trainingMs: 100, generateQueueMs: 20, generateMs: 100 },
      },
    });
    await h.startWorker();
    dir = tempDir('localize-in');
  });
  afterAll(async () => {
    await h.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('delivers one lip-synced video per language, byte-exact, with subtitles, from one upload and one shot', async () => {
    const source = makeFile(dir, 'interview.mp4', 250_000);
    const started = await startPipeline(
      h.client,
      'localize',
      { source, sourceLanguage: 'en', targetLanguages: ['es', 'de', 'ja'], durationSeconds: 20, polling: FAST_POLLING },
      { taskQueue: h.taskQueue },
    );
    const result = await started.handle.result();
    const sourceBytes = fs.readFileSync(source);
    expect(result.languages.map((l) => [l.language, l.status])).toEqual([
      ['es', 'delivered'],
      ['de', 'delivered'],
      ['ja', 'delivered'],
    ]);
    for (const l of result.languages) {
      // LipDub lip-synced the original video to DubLab's dubbed audio for that language.
      const dubbedAudio = dublabOutput('translated_mp3', sourceBytes, l.language);
      expect(fs.readFileSync(l.dubbedAudio!.path).equals(dubbedAudio)).toBe(true);
      expect(fs.readFileSync(l.video!.path).equals(lipdubOutput(sourceBytes, dubbedAudio, l.language))).toBe(true);
      expect(fs.readFileSync(l.subtitles!.path, 'utf8')).toContain('WEBVTT');
    }
    const c = h.sandbox.counters();
    expect(c['dublab POST /api/v1/init-dub-group']).toBe(1);
    expect(c['lipdub POST /v1/video']).toBe(1);
    expect(c['lipdub POST /v1/shots/:shotId/generate']).toBe(3);
    // Each step is its own workflow, visible and retried on its own.
    for (const step of ['dublab', 'lipdub']) {
      const child = await h.client.workflow.getHandle(`${started.workflowId}-${step}`).describe();
      expect(child.status.name).toBe('COMPLETED');
    }
    expect(await historyText(started.handle)).not.toMatch(/[?&]sig=/);
  });

  it('one language failing at LipDub leaves the others delivered, and its re-run redoes only that language', async () => {
    h.sandbox.configure({ lipdub: { failGenerateLanguages: ['fr'] } });
    h.sandbox.resetCounters();
    const source = makeFile(dir, 'promo.mp4', 80_000);
    const started = await startPipeline(
      h.client,
      'localize',
      { source, sourceLanguage: 'en', targetLanguages: ['es', 'fr', 'it'], durationSeconds: 10, polling: FAST_POLLING },
      { taskQueue: h.taskQueue },
    );
    const err = (await started.handle.result().catch((e: unknown) => e)) as WorkflowFailedError;
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const failure = err.cause as ApplicationFailure;
    expect(failure.type).toBe('PartialFailure');
    expect(failure.message).toMatch(/1 of 3 language\(s\) failed — fr \(lipdub\)/);
    const partial = failure.details![0] as LocalizePipelineResult;
    expect(partial.languages.filter((l) => l.status === 'delivered').map((l) => l.language)).toEqual(['es', 'it']);
    for (const l of partial.languages.filter((x) => x.status === 'delivered')) expect(fs.existsSync(l.video!.path)).toBe(true);
    const rerun = partial.rerunInput as { targetLanguages: string[]; shotId: string; dubbedAudio: Record<string, string> };
    expect(rerun.targetLanguages).toEqual(['fr']);
    expect(rerun.shotId).toBe(partial.shotId);
    expect(Object.keys(rerun.dubbedAudio)).toEqual(['fr']);

    h.sandbox.configure({ lipdub: { failGenerateLanguages: [] } });
    const before = h.sandbox.counters();
    const again = await startPipeline(h.client, 'localize', rerun, { taskQueue: h.taskQueue });
    const fixed = await again.handle.result();
    expect(fixed.languages.map((l) => [l.language, l.status])).toEqual([['fr', 'delivered']]);
    const after = h.sandbox.counters();
    // Nothing redone but the one generation: no dub, no video upload.
    expect(after['dublab POST /api/v1/init-dub-group']).toBe(before['dublab POST /api/v1/init-dub-group']);
    expect(after['lipdub POST /v1/video']).toBe(before['lipdub POST /v1/video']);
    expect(after['lipdub POST /v1/shots/:shotId/generate']).toBe(before['lipdub POST /v1/shots/:shotId/generate']! + 1);
    const dubbedFr = dublabOutput('translated_mp3', fs.readFileSync(source), 'fr');
    expect(fs.readFileSync(fixed.languages[0]!.video!.path).equals(lipdubOutput(fs.readFileSync(source), dubbedFr, 'fr'))).toBe(true);
  });

  it('can generate the source first with text2video', async () => {
    const started = await startPipeline(
      h.client,
      'localize',
      {
        generate: { pipeline: 'text2video', input: { text: 'A short story to localize.', polling: FAST_POLLING } },
        sourceLanguage: 'en',
        targetLanguages: ['pt'],
        durationSeconds: 5,
        polling: FAST_POLLING,
      },
      { taskQueue: h.taskQueue },
    );
    const result = await started.handle.result();
    expect(result.source).toContain(`${started.workflowId}/source`);
    expect(result.languages[0]!.status).toBe('delivered');
    expect((await h.client.workflow.getHandle(`${started.workflowId}-generate`).describe()).type).toBe('text2videoPipeline');
  });
});

describe('localizePipeline: a failed step names the root cause of each language', () => {
  let h: Harness;
  let dir: string;

  beforeAll(async () => {
    h = await startHarness({ timings: { dublab: { queueMs: 50, processMs: 100 } } });
    // A DubLab key the provider refuses: the child's activity fails, not the child itself.
    h.env.DUBLAB_API_KEY = 'not-the-sandbox-key';
    await h.startWorker();
    dir = tempDir('localize-cause');
  });
  afterAll(async () => {
    await h.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("says DubLab's own message for every language, not 'Activity task failed', and status shows it", async () => {
    const source = makeFile(dir, 'teaser.mp4', 40_000);
    const started = await startPipeline(
      h.client,
      'localize',
      { source, sourceLanguage: 'en', targetLanguages: ['es', 'de'], durationSeconds: 5, polling: FAST_POLLING },
      { taskQueue: h.taskQueue },
    );
    const err = (await started.handle.result().catch((e: unknown) => e)) as WorkflowFailedError;
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const failure = err.cause as ApplicationFailure;
    expect(failure.type).toBe('PartialFailure');
    expect(failure.message).not.toContain('Activity task failed');
    for (const language of ['es', 'de']) {
      expect(failure.message).toMatch(new RegExp(`${language} \\(dublab\\): DubLab 401 on POST /init-dub-group`));
    }
    const partial = failure.details![0] as LocalizePipelineResult;
    expect(partial.languages.map((l) => l.error)).toEqual([expect.stringContaining('DubLab 401'), expect.stringContaining('DubLab 401')]);
    const report = await statusReport(h.client, started.handle);
    expect(report.failure).toMatch(/es \(dublab\): DubLab 401 on POST \/init-dub-group/);
  });
});
