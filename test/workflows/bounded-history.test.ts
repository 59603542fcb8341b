import fs from 'node:fs';
import type { Client } from '@temporalio/client';
import { startPipeline, progressQuery } from '../../src/client';
import { dublabOutput, lipdubOutput, sha256Hex } from '../../src/sandbox/derive';
import { limiterStateQuery, limiterWorkflowId } from '../../src/contract/limiter';
import { EVENT_BUDGET } from '../../src/workflows/shared/continuation';
import { LIPDUB_POLLING_DEFAULTS } from '../../src/pipelines/lipdub/spec';
import { DUBLAB_POLLING_DEFAULTS } from '../../src/pipelines/dublab/spec';
import { makeFile, startHarness, tempDir, type Harness } from '../support/harness';

/**
 * Issue 16: no pipeline run's history exceeds EVENT_BUDGET events, whatever its fan-out and its wait.
 * Provider time runs SCALE times faster than workflow time here: the sandbox's jobs take 24 hours of
 * provider time (86.4 s / SCALE … in real time), and the pipelines poll at their default intervals scaled
 * alike (`polling.timeScale` scales the documented durations the same way). Before the change, the
 * 50-generation LipDub run polled each generation on its own loop (about 8 events a poll: 50 × 720 polls)
 * and the DubLab run grew by about 8 events a poll too.
 */
const SCALE = 1440; // 24 h of provider time in 60 s
const DAY_MS = (24 * 3600 * 1000) / SCALE;
/** Long enough for a status that flips on about every other poll to fill one run's history. */
const AISTUDIO_RUN_MS = Number(process.env.REELAY_TEST_AISTUDIO_RUN_MS ?? 90_000);

/** The schema's floor for a polling interval. */
const MIN_INTERVAL_SECONDS = 0.05;

function scaled(defaults: { initialIntervalSeconds: number; maxIntervalSeconds: number; backoffCoefficient: number }) {
  return {
    initialIntervalSeconds: Math.max(MIN_INTERVAL_SECONDS, defaults.initialIntervalSeconds / SCALE),
    maxIntervalSeconds: Math.max(MIN_INTERVAL_SECONDS, defaults.maxIntervalSeconds / SCALE),
    backoffCoefficient: defaults.backoffCoefficient,
    timeScale: SCALE,
    // 48 hours of provider time.
    deadlineMinutes: (2 * DAY_MS) / 60_000,
  };
}

/** Every run of a workflow id (a continued run and its predecessors), oldest first, with its history length. */
async function runsOf(client: Client, workflowId: string): Promise<Array<{ runId: string; status: string; historyLength: number }>> {
  const runs: Array<{ runId: string; status: string; historyLength: number; startTime: Date }> = [];
  for await (const w of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    runs.push({ runId: w.runId, status: w.status.name, historyLength: w.historyLength, startTime: w.startTime });
  }
  return runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
}

/** Visibility is eventually consistent: wait until it lists `n` closed runs (or more). */
async function closedRuns(client: Client, workflowId: string): Promise<Awaited<ReturnType<typeof runsOf>>> {
  for (let i = 0; ; i++) {
    const runs = await runsOf(client, workflowId);
    if ((runs.length > 0 && runs.every((r) => r.status !== 'RUNNING')) || i >= 50) return runs;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('bounded history: every run stays under the event budget through 24 hours of provider time', () => {
  let h: Harness;
  let dir: string;

  beforeAll(async () => {
    h = await startHarness(
      {
        timings: {
          lipdub: { shotMs: 300, trainingMs: 300, generateQueueMs: 500, generateMs: DAY_MS },
          dublab: { queueMs: 500, processMs: DAY_MS },
          aistudio: { pendingMs: 100, runMs: AISTUDIO_RUN_MS, mockRunMs: AISTUDIO_RUN_MS },
        },
      },
      // The limiter looks for closed holders every second: a holder that continued as new must not lose its slot.
      { env: { REELAY_LIMITER_RECLAIM_CHECK_SECONDS: '1' } },
    );
    await h.startWorker();
    dir = tempDir('bounded');
  });
  afterAll(async () => {
    await h.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a 50-audio LipDub pipeline and a 20-language DubLab pipeline deliver everything, each run under the budget', async () => {
    const video = makeFile(dir, 'talk.mp4', 20_000);
    const languages = Array.from({ length: 50 }, (_, i) => `es-${String.fromCharCode(65 + Math.floor(i / 26))}${String.fromCharCode(65 + (i % 26))}`);
    const audios = languages.map((language) => ({ source: makeFile(dir, `${language}.mp3`, 2_000), language }));
    const source = makeFile(dir, 'clip.mp4', 20_000);
    const targets = ['es', 'de', 'ja', 'fr', 'it', 'pt', 'nl', 'sv', 'da', 'fi', 'no', 'pl', 'cs', 'hu', 'ro', 'tr', 'el', 'ko', 'zh', 'ar'];

    const [lipdub, dublab] = await Promise.all([
      startPipeline(h.client, 'lipdub', { video, audios, polling: scaled(LIPDUB_POLLING_DEFAULTS) }, { taskQueue: h.taskQueue }),
      startPipeline(
        h.client,
        'dublab',
        { source, sourceLanguage: 'en', targetLanguages: targets, durationSeconds: 10, polling: scaled(DUBLAB_POLLING_DEFAULTS) },
        { taskQueue: h.taskQueue },
      ),
    ]);
    const [lipdubResult, dublabResult] = await Promise.all([lipdub.handle.result(), dublab.handle.result()]);

    expect(lipdubResult.outputs.map((o) => o.language).sort()).toEqual([...languages].sort());
    const videoBytes = fs.readFileSync(video);
    for (const out of lipdubResult.outputs) {
      const audio = audios.find((a) => a.language === out.language)!.source;
      expect(out.sha256).toBe(sha256Hex(lipdubOutput(videoBytes, fs.readFileSync(audio), out.language)));
    }
    expect(dublabResult.dubs.map((d) => d.language).sort()).toEqual([...targets].sort());
    const sourceBytes = fs.readFileSync(source);
    for (const dub of dublabResult.dubs) {
      expect(fs.readFileSync(dub.outputs[0]!.path).equals(dublabOutput('translated_mp4', sourceBytes, dub.language))).toBe(true);
    }
    // Nothing billable twice.
    const counters = h.sandbox.counters();
    expect(counters['lipdub POST /v1/shots/:shotId/generate']).toBe(50);

    for (const workflowId of [lipdub.workflowId, dublab.workflowId]) {
      const runs = await closedRuns(h.client, workflowId);
      expect(runs.length).toBeGreaterThan(0);
      for (const run of runs) expect(run.historyLength).toBeLessThan(EVENT_BUDGET);
    }
  }, 240_000);

  it('an AI Studio job whose status flips on about every other poll continues as new, keeps its slot, progress and ids, and is created once', async () => {
    // Every status answer is PAUSED (a status the docs do not list) half of the time: each change is
    // reported to the workflow at once, so its history grows by a few events a poll.
    h.sandbox.setFaults({ rules: [{ key: 'aistudio GET /api/v1/video-jobs/:jobId', faults: { unknownStatus: { rate: 0.5 } } }] });
    let result: Awaited<ReturnType<typeof started.handle.result>>;
    const started = await startPipeline(
      h.client,
      'aistudio',
      {
        prompt: 'a long render',
        mockMode: true,
        polling: { initialIntervalSeconds: MIN_INTERVAL_SECONDS, maxIntervalSeconds: MIN_INTERVAL_SECONDS, backoffCoefficient: 1, hints: false, deadlineMinutes: 10 },
      },
      { taskQueue: h.taskQueue },
    );
    try {
      // Once it has continued as new, the slot is still held, by the workflow, though the limiter looked
      // for closed holders every second since (the first run's status is CONTINUED_AS_NEW).
      const deadline = Date.now() + 150_000;
      while ((await runsOf(h.client, started.workflowId)).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
      await new Promise((r) => setTimeout(r, 3000));
      const during = await h.client.workflow.getHandle(limiterWorkflowId('aistudio', h.taskQueue)).query(limiterStateQuery);
      expect(during.holders.map((x) => x.requesterId)).toEqual([started.workflowId]);
      result = await started.handle.result();
    } finally {
      h.sandbox.setFaults({ rules: [] });
    }
    expect(fs.readFileSync(result.output.path).length).toBe(result.output.bytes);

    const runs = await closedRuns(h.client, started.workflowId);
    if (process.env.REELAY_TEST_DEBUG) console.log(JSON.stringify(runs), JSON.stringify(h.sandbox.counters()));
    expect(runs.length).toBeGreaterThan(1);
    expect(runs.slice(0, -1).every((r) => r.status === 'CONTINUED_AS_NEW')).toBe(true);
    expect(runs.at(-1)!.status).toBe('COMPLETED');
    for (const run of runs) expect(run.historyLength).toBeLessThan(EVENT_BUDGET);

    // One job, one create, across every run.
    expect(h.sandbox.counters()['aistudio POST /api/v1/video-jobs']).toBe(1);
    // Progress is continuous: the last run answers with the first run's start and its earliest lines.
    const progress = await started.handle.query(progressQuery);
    expect(progress.stage).toBe('completed');
    expect(progress.providerIds.jobId).toBe(result.jobId);
    const firstRun = await h.client.workflow.getHandle(started.workflowId, runs[0]!.runId).describe();
    expect(new Date(progress.startedAt).getTime()).toBeLessThanOrEqual(firstRun.startTime.getTime() + 1000);
    // The search attributes were carried to the last run.
    const last = await started.handle.describe();
    expect(last.typedSearchAttributes.get({ name: 'ReelayJobIds', type: 'KEYWORD_LIST' } as never)).toEqual([result.jobId]);
    // The slot was held across the runs and given back at the end.
    const limiter = await h.client.workflow.getHandle(limiterWorkflowId('aistudio', h.taskQueue)).query(limiterStateQuery);
    expect(limiter.holders).toEqual([]);
  }, 240_000);
});
