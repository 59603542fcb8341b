import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startPipeline } from '../../src/client';
import { INPUT_VALIDATED_IN_ACTIVITY } from '../../src/workflows/shared/input';
import { FAST_POLLING, FAST_TIMINGS, makeFile, startHarness, tempDir, waitForProgress, type Harness } from '../support/harness';
import { MODULES_QUERY, type EvaluatedModules } from '../support/module-probe';
import { historyShape, historyToJson } from '../replay/history-files';

/**
 * Issue 16, light runs: a pipeline's run evaluates no zod and no schema module in the workflow sandbox
 * (its input is validated by the local activity validateInput, in the worker's shared context). Measured
 * on real runs, not read from the imports: a worker whose bundle carries a probe interceptor answers, per
 * run, which bundled modules that run evaluated (test/support/module-probe.ts).
 */

const ZOD = /node_modules\/zod\//;
const SCHEMA_MODULES = /src\/(pipelines\/[a-z0-9]+\/(input|schemas)|contract\/(common|notify)|providers\/(schemas|lenient))\.ts$/;

describe('light runs: no zod in a pipeline run', () => {
  let h: Harness;
  let dir: string;
  let bundleDir: string;

  beforeAll(async () => {
    const { code } = await bundleWorkflowCode({
      workflowsPath: require.resolve('../support/probe-workflows'),
      workflowInterceptorModules: [require.resolve('../support/module-probe')],
      logger: { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} } as never,
    });
    bundleDir = tempDir('probe-bundle');
    const workflowBundlePath = path.join(bundleDir, 'workflows.js');
    fs.writeFileSync(workflowBundlePath, code);
    // text2video jobs take an hour: those runs wait in their poll, cached in the worker.
    h = await startHarness({ timings: { ...FAST_TIMINGS, text2video: { queueMs: 3_600_000, stageMs: 0 } } }, { workflowBundlePath });
    await h.startWorker();
    dir = tempDir('light-in');
  });
  afterAll(async () => {
    await h?.close();
    for (const d of [dir, bundleDir]) if (d) fs.rmSync(d, { recursive: true, force: true });
  });

  const probe = (workflowId: string) => h.client.workflow.getHandle(workflowId).query<EvaluatedModules>(MODULES_QUERY);

  it('the bundle holds zod and the schemas (the old runs\' replay path needs them)', () => {
    const code = fs.readFileSync(path.join(bundleDir, 'workflows.js'), 'utf8');
    expect(code).toMatch(ZOD);
    expect(code).toContain('src/pipelines/text2video/input.ts');
  });

  it('a text2video run waiting in its poll evaluated neither zod nor a schema module', async () => {
    const started = await startPipeline(h.client, 'text2video', { text: 'A light story.', polling: { initialIntervalSeconds: 60, maxIntervalSeconds: 60 } }, { taskQueue: h.taskQueue });
    try {
      const progress = await waitForProgress(started.handle, (p) => p.providerIds.jobId !== undefined);
      expect(progress.stage).toMatch(/queued|generating/);
      const seen = await probe(started.workflowId);
      // The run's own modules, the workflow machinery included (its module state is the run's).
      expect(seen.modules).toEqual(expect.arrayContaining([expect.stringMatching(/src\/pipelines\/text2video\/workflow\.ts$/), expect.stringMatching(/src\/workflows\/shared\/input\.ts$/)]));
      expect(seen.modules.filter((m) => ZOD.test(m) || SCHEMA_MODULES.test(m))).toEqual([]);
      expect(seen.zodGlobal).toBe(false);
      // The input was validated by the activity, under its patch.
      const shape = historyShape(JSON.parse(historyToJson(await started.handle.fetchHistory())) as Parameters<typeof historyShape>[0]);
      expect(shape).toEqual(expect.arrayContaining([`marker core_patch ${INPUT_VALIDATED_IN_ACTIVITY}`, 'activity validateInput']));
    } finally {
      await started.handle.terminate('test done');
    }
  });

  it('a run asking for a webhook evaluated no zod either: the activity parsed its notify', async () => {
    // Nothing listens there, and the run is terminated while it waits: no delivery is ever attempted.
    const started = await startPipeline(h.client, 'text2video', { text: 'A story with a webhook.', polling: { initialIntervalSeconds: 60, maxIntervalSeconds: 60 }, notify: { url: 'http://127.0.0.1:9/hook' } }, { taskQueue: h.taskQueue });
    try {
      await waitForProgress(started.handle, (p) => p.providerIds.jobId !== undefined);
      const seen = await probe(started.workflowId);
      expect(seen.modules.filter((m) => ZOD.test(m) || SCHEMA_MODULES.test(m))).toEqual([]);
      expect(seen.zodGlobal).toBe(false);
    } finally {
      await started.handle.terminate('test done');
    }
  });

  it('the probe sees zod where a run does evaluate it, and each run\'s modules are its own', async () => {
    const handle = await h.client.workflow.start('zodEvaluatingWorkflow', { taskQueue: h.taskQueue, workflowId: `zod-evaluating-${Date.now()}` });
    try {
      let seen: EvaluatedModules | undefined;
      for (let i = 0; i < 100 && !seen?.zodGlobal; i++) {
        seen = await probe(handle.workflowId).catch(() => undefined);
        if (!seen?.zodGlobal) await new Promise((r) => setTimeout(r, 100));
      }
      expect(seen!.zodGlobal).toBe(true);
      expect(seen!.modules.some((m) => ZOD.test(m))).toBe(true);
      expect(seen!.modules).toEqual(expect.arrayContaining([expect.stringMatching(/src\/pipelines\/text2video\/input\.ts$/)]));
    } finally {
      await handle.terminate('test done');
    }
  });

  it('LipDub and DubLab runs, replayed for the query once closed, evaluated no zod either', async () => {
    const video = makeFile(dir, 'talk.mp4', 30_000);
    const es = makeFile(dir, 'es.mp3', 4_000);
    const lipdub = await startPipeline(h.client, 'lipdub', { video, audios: [{ source: es, language: 'es-MX' }], polling: FAST_POLLING }, { taskQueue: h.taskQueue });
    const dublab = await startPipeline(h.client, 'dublab', { source: video, sourceLanguage: 'en', targetLanguages: ['es', 'de'], durationSeconds: 5, polling: FAST_POLLING }, { taskQueue: h.taskQueue });
    const [lipdubResult, dublabResult] = await Promise.all([lipdub.handle.result(), dublab.handle.result()]);
    // Defaults were applied by the activity's parse, as the workflow's used to.
    expect(lipdubResult.outputs.map((o) => path.basename(o.path))).toEqual(['es-MX.mp4']);
    expect(dublabResult.dubs).toHaveLength(2);
    for (const started of [lipdub, dublab]) {
      const seen = await probe(started.workflowId);
      expect(seen.modules).toEqual(expect.arrayContaining([expect.stringMatching(/src\/pipelines\/(lipdub|dublab)\/workflow\.ts$/)]));
      expect(seen.modules.filter((m) => ZOD.test(m) || SCHEMA_MODULES.test(m))).toEqual([]);
      expect(seen.zodGlobal).toBe(false);
    }
  });
});
