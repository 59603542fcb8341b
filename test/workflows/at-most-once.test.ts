import fs from 'node:fs';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { startPipeline, type PipelineName } from '../../src/client';
import { failureMessage } from '../../src/cli/pipelines';
import { LipdubClient } from '../../src/pipelines/lipdub/client';
import type { FaultSettings } from '../../src/sandbox/faults';
import { FAST_POLLING, makeFile, startHarness, tempDir, type Harness } from '../support/harness';

/** The deepest failure type in a workflow failure's chain. */
async function failureOf(handle: WorkflowHandle): Promise<{ type: string; message: string }> {
  const err = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  let type = '';
  for (let e = (err as WorkflowFailedError).cause as { type?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.type) type = e.type;
  }
  return { type, message: failureMessage(err) };
}

describe('nothing billable twice: a create whose answer is lost, against the sandbox', () => {
  let h: Harness;
  let dir: string;
  let video: string;
  let audio: string;
  let image: string;
  let seq = 0;
  const unique = (what: string) => `${what} ${Date.now().toString(36)}-${++seq}`;

  beforeAll(async () => {
    h = await startHarness({
      timings: {
        lipdub: { shotMs: 50, trainingMs: 50, generateQueueMs: 20, generateMs: 80 },
        dublab: { queueMs: 30, processMs: 100 },
        text2video: { queueMs: 20, stageMs: 20 },
        vividflow: { processMs: 100, workers: 4 },
        aistudio: { pendingMs: 30, runMs: 100, mockRunMs: 100 },
      },
    });
    await h.startWorker();
    dir = tempDir('at-most-once');
    video = makeFile(dir, 'talk.mp4', 50_000);
    audio = makeFile(dir, 'line.mp3', 8_000);
    image = makeFile(dir, 'frame.png', 2_000);
  });
  afterEach(() => h.sandbox.setFaults({}));
  afterAll(async () => {
    await h.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Inject one fault on the first request to one create endpoint. */
  const faultOnce = (service: 'lipdub' | 'dublab' | 'text2video' | 'vividflow' | 'aistudio', route: string, faults: Partial<FaultSettings>) =>
    h.sandbox.setFaults({ rules: [{ service, method: 'POST', route, faults }] });
  const loseOnce = { lostResponse: { rate: 1, first: 1 } };
  const performed = (endpoint: string, match: (key: string) => boolean) => h.sandbox.ledger().filter((e) => e.endpoint === endpoint && match(e.key));
  const start = <P extends PipelineName>(pipeline: P, input: Record<string, unknown>) =>
    startPipeline(h.client, pipeline, { ...input, polling: FAST_POLLING }, { taskQueue: h.taskQueue });

  it('Vivid Flow: the retry finds the job in GET /history by its prompt and does not generate again', async () => {
    const prompt = unique('waves at dusk');
    faultOnce('vividflow', '/api/v1/generate', loseOnce);
    const before = h.sandbox.counters()['vividflow GET /api/v1/history'] ?? 0;
    const started = await start('vividflow', { prompt, imagePath: image, model: 'wan2.1' });
    const result = await started.handle.result();
    const creates = performed('POST /api/v1/generate', (k) => k === prompt);
    expect(creates).toHaveLength(1);
    expect(result.jobId).toBe(creates[0]!.id);
    expect(h.sandbox.faultStats().total.lostResponse).toBe(1);
    expect((h.sandbox.counters()['vividflow GET /api/v1/history'] ?? 0) - before).toBeGreaterThanOrEqual(1);
  });

  it('AI Studio: the retry finds the job in GET /video-jobs and 50 tokens are taken once', async () => {
    const prompt = unique('a paper boat');
    faultOnce('aistudio', '/api/v1/video-jobs', loseOnce);
    const started = await start('aistudio', { prompt, mockMode: true, durationSeconds: 4 });
    const result = await started.handle.result();
    const creates = performed('POST /api/v1/video-jobs', (k) => k === prompt);
    expect(creates).toHaveLength(1);
    expect(result.jobId).toBe(creates[0]!.id);
  });

  it('LipDub generate has no list to reconcile with: a lost answer ends in OutcomeUnknown naming what to check, after one generation', async () => {
    faultOnce('lipdub', '/v1/shots/:shotId/generate', loseOnce);
    const name = `${unique('unknown').replace(/\W/g, '-')}.mp4`;
    const started = await start('lipdub', { video, audios: [{ source: audio, language: 'es-MX', outputName: name }] });
    const failure = await failureOf(started.handle);
    expect(failure.type).toBe('OutcomeUnknown');
    expect(failure.message).toContain(`output_filename ${started.workflowId}-${name}`);
    expect(performed('POST /v1/shots/:shotId/generate', (k) => k === `${started.workflowId}-${name}`)).toHaveLength(1);
  });

  it('LipDub generate with retryUnknownOutcome: the caller accepts a second generation, and gets a finished pipeline', async () => {
    faultOnce('lipdub', '/v1/shots/:shotId/generate', loseOnce);
    const started = await start('lipdub', { video, audios: [{ source: audio, language: 'fr-FR' }], retryUnknownOutcome: true });
    const result = await started.handle.result();
    expect(result.outputs).toHaveLength(1);
    expect(performed('POST /v1/shots/:shotId/generate', (k) => k === `${started.workflowId}-fr-FR.mp4`)).toHaveLength(2);
  });

  it.each([
    ['a 429', { rateLimit: { rate: 1, first: 1, burst: 1, retryAfterSeconds: 0 } }],
    ['a 503', { serverError: { rate: 1, first: 1, statuses: [503] } }],
  ])('LipDub generate refused with %s is simply retried: nothing was created, and one generation runs', async (_label, faults) => {
    faultOnce('lipdub', '/v1/shots/:shotId/generate', faults);
    const started = await start('lipdub', { video, audios: [{ source: audio, language: 'de-DE' }] });
    const result = await started.handle.result();
    expect(result.outputs).toHaveLength(1);
    expect(performed('POST /v1/shots/:shotId/generate', (k) => k === `${started.workflowId}-de-DE.mp4`)).toHaveLength(1);
    expect(Object.values(h.sandbox.faultStats().total).reduce((a, b) => a + b, 0)).toBe(1);
  });

  it('LipDub video: a lost answer to POST /video/success is found again in GET /shots by the scene marker; one shot', async () => {
    faultOnce('lipdub', '/v1/video/success/:videoId', loseOnce);
    const started = await start('lipdub', { video, audios: [{ source: audio, language: 'it-IT' }] });
    const result = await started.handle.result();
    const shots = (await LipdubClient.fromEnv(h.sandbox.env()).listShots()).data.filter((s) => s.shot_scene_name?.includes(started.workflowId));
    expect(shots.map((s) => String(s.shot_id))).toEqual([result.shotId]);
  });

  it('DubLab: a lost answer to start-dub is settled by the 409 of a second start; each dub starts once', async () => {
    faultOnce('dublab', '/api/v1/start-dub', loseOnce);
    const started = await start('dublab', { source: video, sourceLanguage: 'en', targetLanguages: ['es', 'de'], durationSeconds: 3, outputTypes: ['translated_mp4'] });
    const result = await started.handle.result();
    for (const dub of result.dubs) expect(performed('POST /api/v1/start-dub', (k) => k === dub.fileId)).toHaveLength(1);
    expect(h.sandbox.faultStats().total.lostResponse).toBe(1);
  });

  it('DubLab: an upload cut short is not mistaken for a finished one; the retry uploads into a new group and every dub starts', async () => {
    h.sandbox.setFaults({ rules: [{ service: 'store', method: 'PUT', faults: { serverError: { rate: 1, first: 1, statuses: [502] } } }] });
    const name = unique('upload cut short');
    const started = await start('dublab', { source: video, sourceLanguage: 'en', targetLanguages: ['es'], durationSeconds: 3, outputTypes: ['translated_mp4'], name });
    const result = await started.handle.result();
    const groups = performed('POST /api/v1/init-dub-group', (k) => k.startsWith(name));
    expect(groups).toHaveLength(2);
    expect(result.projectId).toBe(groups[1]!.id);
    expect(performed('POST /api/v1/start-dub', (k) => k === result.dubs[0]!.fileId)).toHaveLength(1);
  });

  it('text2video: a lost submit is resubmitted by default (free on a self-hosted server), or ends in OutcomeUnknown when the caller says so', async () => {
    const text = unique('a story told once');
    faultOnce('text2video', '/api/v1/generate', loseOnce);
    const resubmitted = await start('text2video', { text });
    await resubmitted.handle.result();
    expect(performed('POST /api/v1/generate', (k) => k === text)).toHaveLength(2);

    const strict = unique('a story told at most once');
    faultOnce('text2video', '/api/v1/generate', loseOnce);
    const started = await start('text2video', { text: strict, retryUnknownOutcome: false });
    const failure = await failureOf(started.handle);
    expect(failure.type).toBe('OutcomeUnknown');
    expect(failure.message).toMatch(/GET \/jobs/);
    expect(performed('POST /api/v1/generate', (k) => k === strict)).toHaveLength(1);
  });
});
