import fs from 'node:fs';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { estimateCost } from '../../src/pipelines/batch/cost';
import { startBatch } from '../../src/pipelines/batch/start';
import { FAST_POLLING, makeFile, startHarness, tempDir, type Harness } from '../support/harness';

describe('the cost guard', () => {
  it('estimates what a manifest spends where the providers tell (pure)', () => {
    expect(
      estimateCost([
        { pipeline: 'dublab', input: { durationSeconds: 60, targetLanguages: ['es', 'de'] } },
        { pipeline: 'localize', input: { durationSeconds: 30, targetLanguages: ['es', 'fr', 'it'], dubbedAudio: { it: '/x.mp3' }, generate: { pipeline: 'aistudio' } } },
        { pipeline: 'aistudio', input: { prompt: 'p' } },
        { pipeline: 'vividflow', input: { prompt: 'p' } },
        { pipeline: 'vividflow', input: { prompt: 'q' } },
        { pipeline: 'text2video', input: { text: 't' } },
      ]),
    ).toEqual({ dublabCredits: 60 * 2 + 30 * 2, aistudioTokens: 100, vividflowCredits: 2 });
  });

  describe('on a real batch', () => {
    let h: Harness;
    let dir: string;
    beforeAll(async () => {
      h = await startHarness({ dublab: { credits: 300 }, timings: { dublab: { queueMs: 20, processMs: 50 } } });
      await h.startWorker();
      dir = tempDir('costguard');
    });
    afterAll(async () => {
      await h.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    const manifest = (name: string, seconds: number) => {
      const source = makeFile(dir, `${name}.mp4`, 1000);
      const file = path.join(dir, `${name}.jsonl`);
      const line = (n: number) => JSON.stringify({ pipeline: 'dublab', input: { source, sourceLanguage: 'en', targetLanguages: ['es', 'de'], durationSeconds: seconds, polling: FAST_POLLING, name: `${name}-${n}` } });
      fs.writeFileSync(file, `${line(1)}\n${line(2)}\n`);
      return file;
    };

    it('refuses a batch whose DubLab estimate exceeds the balance, with the numbers, before any item starts', async () => {
      h.sandbox.resetCounters();
      const batch = await startBatch(h.client, manifest('long', 100), { taskQueue: h.taskQueue, outputRoot: h.outputRoot });
      const err = (await batch.handle.result().catch((e: unknown) => e)) as WorkflowFailedError;
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const cause = err.cause as ApplicationFailure;
      expect(cause.type).toBe('InsufficientBalance');
      expect(cause.message).toContain('dublab: about 400 credits needed, 300 available — SHORT');
      expect(h.sandbox.counters()['dublab GET /api/v1/me']).toBe(1);
      expect(h.sandbox.counters()['dublab POST /api/v1/init-dub-group'] ?? 0).toBe(0);
    });

    it('lets a batch within the balance run', async () => {
      const batch = await startBatch(h.client, manifest('short', 20), { taskQueue: h.taskQueue, outputRoot: h.outputRoot });
      expect(await batch.handle.result()).toMatchObject({ status: 'completed', succeeded: 2, failed: 0 });
    });
  });
});
