import fs from 'node:fs';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { startPipeline, progressQuery } from '../../src/client';
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
    const result = await started.handle.result();

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

/**
 * Issue 11: a server that answers with what dublab.md shows and nothing more. Its `GET /dubs/{fileId}/outputs`
 * carries only `outputs` (no status), `GET /dubs` names a dub's id `fileId`, `init-dub-group` files carry no
 * language, and download URLs expire 20 s after issue. Before the fix the download activity failed, after
 * eight attempts, with `externalStatusId: expected one of 1|2|3|4|5, got missing`.
 */
describe('dublabPipeline against the docs-minimal DubLab sandbox', () => {
  let h: Harness;
  let dir: string;

  beforeAll(async () => {
    h = await startHarness({ profile: 'docs-minimal', timings: FAST_DUBLAB });
    await h.startWorker();
    dir = tempDir('dublab-min-in');
  });
  afterAll(async () => {
    await h.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('completes for three languages, its waiting resting on one GET /dubs per poll for all of them', async () => {
    h.sandbox.resetCounters();
    const source = makeFile(dir, 'talk.mp4', 200_000);
    const languages = ['es', 'de', 'ja'];
    const types = ['translated_mp4', 'translated_subtitle'] as const;
    const started = await startPipeline(
      h.client,
      'dublab',
      { source, sourceLanguage: 'en', targetLanguages: languages, durationSeconds: 12, outputTypes: [...types], checkCredits: true, polling: FAST_POLLING },
      { taskQueue: h.taskQueue },
    );
    const result = await started.handle.result();

    expect(result.dubs.map((d) => d.language).sort()).toEqual([...languages].sort());
    const sourceBytes = fs.readFileSync(source);
    for (const dub of result.dubs) {
      expect(dub.outputs.map((o) => o.type).sort()).toEqual([...types].sort());
      for (const out of dub.outputs) expect(fs.readFileSync(out.path).equals(dublabOutput(out.type, sourceBytes, dub.language))).toBe(true);
    }

    // One status call per poll, whatever the number of languages: GET /dubs answers for all of them. The
    // wait is one activity retried per poll (src/activities/wait.ts); its last answer counts the polls.
    const history = await started.handle.fetchHistory();
    const events = history.events ?? [];
    const waits = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'waitForChange');
    expect(waits.length).toBeGreaterThan(0);
    for (const w of waits) {
      expect(payloadJson(w.activityTaskScheduledEventAttributes!.input!.payloads![0]!)).toMatchObject({ probe: 'dublabGetProjectStatus' });
      // Unlimited attempts (0): a wait is retried until the job changes, however many polls that takes
      // (regression: it inherited the status proxy's 20 and failed after 20 polls with nothing new).
      expect(w.activityTaskScheduledEventAttributes!.retryPolicy?.maximumAttempts ?? 0).toBe(0);
    }
    const lastWait = events.filter((e) => e.activityTaskCompletedEventAttributes && e.activityTaskCompletedEventAttributes.scheduledEventId?.toString() === String(waits.at(-1)!.eventId)).at(-1)!;
    const polls = (payloadJson(lastWait.activityTaskCompletedEventAttributes!.result!.payloads![0]!) as { polls: number }).polls;
    const counters = h.sandbox.counters();
    expect(polls).toBeGreaterThan(0);
    expect(counters['dublab GET /api/v1/dubs']).toBe(polls);
    expect(counters['dublab GET /api/v1/projects/:projectId/outputs'] ?? 0).toBe(0);
    // Outputs are fetched fresh right before each download (their URLs live 20 s here).
    expect(counters['dublab GET /api/v1/dubs/:fileId/outputs']).toBeGreaterThanOrEqual(languages.length * types.length);
    expect((await started.handle.query(progressQuery)).stage).toBe('completed');
  });

  it('keeps waiting through a status the docs do not list, and says so in its progress log', async () => {
    h.sandbox.setFaults({ rules: [{ key: 'dublab GET /api/v1/dubs', faults: { unknownStatus: { rate: 1, first: 2, value: 'paused' } } }] });
    try {
      const started = await startPipeline(
        h.client,
        'dublab',
        { source: makeFile(dir, 'paused.mp4', 10_000), sourceLanguage: 'en', targetLanguages: ['es', 'de'], durationSeconds: 5, outputTypes: ['translated_mp4'], polling: FAST_POLLING },
        { taskQueue: h.taskQueue },
      );
      const result = await started.handle.result();
      expect(result.dubs.map((d) => d.language).sort()).toEqual(['de', 'es']);
      expect(h.sandbox.faultStats().total).toEqual({ unknownStatus: 2 });
      const log = (await started.handle.query(progressQuery)).log.map((l) => l.message);
      for (const lang of ['es', 'de']) expect(log).toContain(`DubLab reported status "paused" for ${lang}, which the docs do not list; still waiting`);
    } finally {
      h.sandbox.setFaults({});
    }
  });

  it("fails a failed language with DubLab's externalErrorMessage and delivers the others", async () => {
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
      expect(cause.type).toBe('ProviderJobFailed');
      expect(cause.message).toContain('fr: Dubbing into fr failed');
      const details = cause.details?.[0] as { delivered: Array<{ language: string }> };
      expect(details.delivered.map((d) => d.language)).toEqual(['it']);
    } finally {
      h.sandbox.configure({ dublab: { failLanguages: [] } });
    }
  });
});

/** A JSON payload of a fetched history (no payload encryption in these tests). */
function payloadJson(payload: { data?: Uint8Array | null }): unknown {
  return JSON.parse(Buffer.from(payload.data!).toString('utf8'));
}
