/**
 * Orchestration overhead: a LipDub and a DubLab pipeline against a sandbox whose jobs finish at once,
 * end to end, next to (a) the same activity code called by a plain script with no Temporal at all
 * (same HTTP calls, same order, same waits between status calls) and (b) a no-op workflow with the same
 * number of activities and timers as the pipeline's history shows.
 */
import fs from 'node:fs';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { NativeConnection, Worker } from '@temporalio/worker';
import { startPipeline, type PipelineName } from '../../src/client';
import { createActivities } from '../../src/activities';
import { loadConfig } from '../../src/config';
import { startSandbox } from '../../src/sandbox';
import { createReelayWorker } from '../../src/workers/worker';
import { median, percentile, round, startBenchServer } from './support';
import type { BenchContext, BenchSection, Figure, SectionResult } from './types';

const POLL_SECONDS = 0.05;
const POLLING = { initialIntervalSeconds: POLL_SECONDS, maxIntervalSeconds: POLL_SECONDS, backoffCoefficient: 1 };
const INSTANT = {
  lipdub: { shotMs: 0, trainingMs: 0, generateQueueMs: 0, generateMs: 0 },
  dublab: { queueMs: 0, processMs: 0 },
};

type Activities = ReturnType<typeof createActivities>;

/** Runs one activity in an activity context of its own, outside any worker. */
function call<K extends keyof Activities>(activities: Activities, name: K, ...args: Parameters<Activities[K]>): ReturnType<Activities[K]> {
  const env = new MockActivityEnvironment({ activityType: String(name) });
  const fn = activities[name] as unknown as (...a: unknown[]) => Promise<unknown>;
  return env.run<unknown[], unknown, typeof fn>(fn, ...(args as unknown[])) as ReturnType<Activities[K]>;
}

const pause = () => new Promise((r) => setTimeout(r, POLL_SECONDS * 1000));

/** LipDub's calls as lipdubPipeline makes them: uploads in parallel, shot until trained, generate, poll, download. */
async function plainLipdub(a: Activities, workflowId: string, inputs: { video: string; audio: string }, out: string): Promise<void> {
  const [video, audio] = await Promise.all([
    call(a, 'lipdubUploadVideo', { workflowId, source: inputs.video }),
    call(a, 'lipdubUploadAudio', { workflowId, index: 0, source: inputs.audio }),
  ]);
  let shotId = video.shotId;
  while (shotId === undefined) {
    await pause();
    shotId = (await call(a, 'lipdubGetVideoStatus', { videoId: video.videoId })).shotId;
  }
  for (;;) {
    const s = await call(a, 'lipdubGetShotStatus', { shotId });
    if (s.shotStatus === 'finished' && s.aiTrainingStatus === 'finished') break;
    await pause();
  }
  const { generateId } = await call(a, 'lipdubStartGeneration', {
    shotId,
    audioId: audio.audioId,
    language: 'es-MX',
    maintainExpression: true,
    outputFilename: `${workflowId}-es-MX.mp4`,
  });
  for (;;) {
    const s = await call(a, 'lipdubGetGenerationStatus', { shotId, generateId });
    if (s.status === 'finished') break;
    await pause();
  }
  await call(a, 'lipdubDownloadGeneration', { shotId, generateId, outputSubdir: out, fileName: 'es-MX.mp4' });
}

/** DubLab's calls as dublabPipeline makes them: one group upload, starts in parallel, project status, downloads. */
async function plainDublab(a: Activities, workflowId: string, inputs: { video: string }, out: string, languages: string[]): Promise<void> {
  const group = await call(a, 'dublabCreateGroup', { workflowId, source: inputs.video, sourceLanguage: 'en', targetLanguages: languages, durationSeconds: 10 });
  await Promise.all(group.files.map((f) => call(a, 'dublabStartDub', { fileId: f.fileId })));
  for (;;) {
    const states = await call(a, 'dublabGetProjectStatus', { projectId: group.projectId, fileIds: group.files.map((f) => f.fileId) });
    if (group.files.every((f) => [4, 5].includes(Number(states.find((s) => s.fileId === f.fileId)?.externalStatusId ?? 0)))) break;
    await pause();
  }
  await Promise.all(
    group.files.map((f) => call(a, 'dublabDownloadOutputs', { fileId: f.fileId, language: f.language, types: ['translated_mp4'], outputSubdir: out })),
  );
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function run(ctx: BenchContext): Promise<SectionResult> {
  const runs = ctx.quick ? 3 : 25;
  const bs = await startBenchServer(ctx, 'overhead');
  const sandbox = await startSandbox({ timings: INSTANT });
  const dir = path.join(ctx.dir, 'overhead');
  const outputRoot = path.join(dir, 'out');
  fs.mkdirSync(outputRoot, { recursive: true });
  const inputs = { video: path.join(dir, 'talk.mp4'), audio: path.join(dir, 'line.mp3') };
  fs.writeFileSync(inputs.video, Buffer.alloc(1_000_000, 1));
  fs.writeFileSync(inputs.audio, Buffer.alloc(100_000, 2));
  const env = { ...process.env, ...sandbox.env() };
  const taskQueue = 'bench-overhead';
  const connection = await NativeConnection.connect({ address: bs.server.address });
  const reelay = await createReelayWorker({ connection, namespace: 'default', taskQueue, outputRoot, env });
  const noop = await Worker.create({
    connection,
    namespace: 'default',
    taskQueue: `${taskQueue}-noop`,
    workflowsPath: require.resolve('./workflows/noop'),
    activities: { noopStep: async () => undefined },
  });
  const running = Promise.all([reelay.run(), noop.run()]);
  const activities = createActivities({ outputRoot, config: loadConfig(env) });
  const languages = ['es', 'de'];
  const pipelines: Array<{ name: PipelineName; input: Record<string, unknown>; plain: (id: string) => Promise<void> }> = [
    {
      name: 'lipdub',
      input: { video: inputs.video, audios: [{ source: inputs.audio, language: 'es-MX' }], polling: POLLING },
      plain: (id) => plainLipdub(activities, id, inputs, `plain-${id}`),
    },
    {
      name: 'dublab',
      input: { source: inputs.video, sourceLanguage: 'en', targetLanguages: languages, durationSeconds: 10, outputTypes: ['translated_mp4'], polling: POLLING },
      plain: (id) => plainDublab(activities, id, inputs, `plain-${id}`, languages),
    },
  ];

  const figures: Figure[] = [];
  const details: Record<string, unknown> = {};
  try {
    for (const p of pipelines) {
      const reelayMs: number[] = [];
      const plainMs: number[] = [];
      const noopMs: number[] = [];
      let shape = { activities: 0, timers: 0 };
      // One warm-up of each (bundle loading, connection pools, JIT), then interleaved runs.
      for (let i = -1; i < runs; i++) {
        let started: Awaited<ReturnType<typeof startPipeline>> | undefined;
        const r = await timed(async () => {
          started = await startPipeline(bs.client, p.name, p.input, { taskQueue });
          await started.handle.result();
        });
        if (i === -1) {
          const events = (await started!.handle.fetchHistory()).events ?? [];
          shape = {
            activities: events.filter((e) => e.activityTaskScheduledEventAttributes).length,
            timers: events.filter((e) => e.timerStartedEventAttributes).length,
          };
        }
        const plain = await timed(() => p.plain(`plain-${p.name}-${i + 1}`));
        const n = await timed(async () => {
          const h = await bs.client.workflow.start('noopPipeline', {
            taskQueue: `${taskQueue}-noop`,
            workflowId: `noop-${p.name}-${i + 1}-${Date.now()}`,
            args: [{ ...shape, timerMs: POLL_SECONDS * 1000 }],
          });
          await h.result();
        });
        if (i >= 0) {
          reelayMs.push(r);
          plainMs.push(plain);
          noopMs.push(n);
        }
      }
      const label = p.name === 'lipdub' ? 'LipDub (1 language)' : `DubLab (${languages.length} languages)`;
      const m = { reelay: median(reelayMs), plain: median(plainMs), noop: median(noopMs) };
      const p95 = { reelay: percentile(reelayMs, 95), plain: percentile(plainMs, 95), noop: percentile(noopMs, 95) };
      figures.push(
        { metric: `${label} end to end, median`, value: m.reelay, unit: 'ms', reference: { label: 'plain script, no Temporal', value: m.plain, unit: 'ms' }, ratio: round(m.reelay / m.plain) },
        { metric: `${label} end to end, p95`, value: p95.reelay, unit: 'ms', reference: { label: 'plain script, no Temporal', value: p95.plain, unit: 'ms' }, ratio: round(p95.reelay / p95.plain) },
        {
          metric: `${label} end to end, median`,
          value: m.reelay,
          unit: 'ms',
          reference: { label: `no-op workflow, ${shape.activities} activities + ${shape.timers} timers`, value: m.noop, unit: 'ms' },
          ratio: round(m.reelay / m.noop),
        },
        { metric: `${label} overhead over the plain script, median`, value: m.reelay - m.plain, unit: 'ms' },
      );
      details[p.name] = { runs, shape, reelayMs, plainMs, noopMs };
    }
  } finally {
    reelay.shutdown();
    noop.shutdown();
    await running;
    await connection.close();
    await sandbox.close();
    await bs.stop();
  }
  return { id: 'overhead', title: 'Orchestration overhead (jobs that finish at once)', figures, details };
}

export const overhead: BenchSection = { id: 'overhead', title: 'Orchestration overhead', run };
