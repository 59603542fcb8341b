import fs from 'node:fs';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { startPipeline, progressQuery, type DublabPipelineResult } from '../../src/client';
import { dublabOutput, sha256Hex } from '../../src/sandbox/derive';
import { historyText } from '../support/history';
import { FAST_POLLING, makeFile, startHarness, tempDir, type Harness } from '../support/harness';

const FAST_DUBLAB = { dublab: { queueMs: 100, processMs: 200 } };
const SECRET_KEY = 'dublab-secret-key-3f9c1a7e5b2d4c6e8f0a';

describe('dublabPipeline on a real dev server against the DubLab sandbox', () => {
  let h: Harness;
  let dir: string;

  beforeAll(async () => {
    h = await startHarness({ timings: FAST_DUBLAB, keys: { dublab: SECRET_KEY } });
    await h.startWorker();
    dir = tempDir('dublab-in');
  });
  afterAll(async () => {
    await h.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('dubs one upload into three languages and delivers every asked output byte-exact', async () => {
    const source = makeFile(dir, 'keynote.mp4', 500_000);
    const started = await startPipeline(
      h.client,
      'dublab',
      {
        source,
        sourceLanguage: 'en',
        targetLanguages: ['es', 'de', 'ja'],
        durationSeconds: 30,
        outputTypes: ['translated_mp4', 'translated_mp3', 'translated_subtitle'],
        checkCredits: true,
        polling: FAST_POLLING,
      },
      { taskQueue: h.taskQueue },
    );
    const result = (await started.handle.result()) as DublabPipelineResult;

    expect(result.dubs.map((d) => d.language).sort()).toEqual(['de', 'es', 'ja']);
    const sourceBytes = fs.readFileSync(source);
    for (const dub of result.dubs) {
      expect(dub.outputs.map((o) => o.type).sort()).toEqual(['translated_mp3', 'translated_mp4', 'translated_subtitle']);
      for (const out of dub.outputs) {
        const expected = dublabOutput(out.type, sourceBytes, dub.language);
        expect(fs.readFileSync(out.path).equals(expected)).toBe(true);
        expect(out.sha256).toBe(sha256Hex(expected));
        expect(out.path.startsWith(h.outputRoot)).toBe(true);
      }
    }
    const counters = h.sandbox.counters();
    expect(counters['dublab POST /api/v1/init-dub-group']).toBe(1);
    expect(counters['dublab POST /api/v1/start-dub']).toBe(3);
    expect(counters['dublab GET /api/v1/me']).toBe(1);
    expect(counters['store PUT']).toBe(1);

    const progress = await started.handle.query(progressQuery);
    expect(progress.stage).toBe('completed');
    expect(progress.providerIds.projectId).toBe(result.projectId);

    // Principle 4: the API key and the signed URLs never reach the workflow history.
    const history = await historyText(started.handle);
    expect(history).toContain(result.projectId);
    expect(history).not.toContain(SECRET_KEY);
    expect(history).not.toMatch(/[?&]sig=/);
  });

  it('fails with DubLab\'s externalErrorMessage when one language fails, after delivering the others', async () => {
    h.sandbox.configure({ dublab: { failLanguages: ['fr'] } });
    try {
      const started = await startPipeline(
        h.client,
        'dublab',
        { source: makeFile(dir, 'clip.mp4', 20_000), sourceLanguage: 'en', targetLanguages: ['fr', 'it'], durationSeconds: 5, polling: FAST_POLLING },
        { taskQueue: h.taskQueue },
      );
      const err = (await started.handle.result().catch((e: unknown) => e)) as WorkflowFailedError;
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const cause = err.cause as ApplicationFailure;
      expect(cause).toBeInstanceOf(ApplicationFailure);
      expect(cause.type).toBe('ProviderJobFailed');
      expect(cause.message).toMatch(/^DubLab dub failed — fr: \S/);
      const details = cause.details?.[0] as { delivered: Array<{ language: string }> };
      expect(details.delivered.map((d) => d.language)).toEqual(['it']);
    } finally {
      h.sandbox.configure({ dublab: { failLanguages: [] } });
    }
  });

  it('refuses to start any dub when checkCredits finds the balance short', async () => {
    h.sandbox.configure({ dublab: { credits: 10 } });
    try {
      h.sandbox.resetCounters();
      const started = await startPipeline(
        h.client,
        'dublab',
        { source: makeFile(dir, 'long.mp4', 1000), sourceLanguage: 'en', targetLanguages: ['es', 'de'], durationSeconds: 60, checkCredits: true, polling: FAST_POLLING },
        { taskQueue: h.taskQueue },
      );
      const err = (await started.handle.result().catch((e: unknown) => e)) as WorkflowFailedError;
      const cause = err.cause as ApplicationFailure;
      expect(cause.type).toBe('InsufficientCredits');
      expect(cause.message).toContain('10 available');
      expect(cause.message).toContain('120 needed');
      expect(h.sandbox.counters()['dublab POST /api/v1/init-dub-group'] ?? 0).toBe(0);
    } finally {
      h.sandbox.configure({ dublab: { credits: 10_000 } });
    }
  });
});
