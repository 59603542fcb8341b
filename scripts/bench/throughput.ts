/**
 * Throughput at saturation: N pipelines are started on an empty task queue, then worker processes are
 * started and the clock runs until the last one closes. Once with one worker process, once with two,
 * against the same dev server; the reference is a no-op workflow (scripts/bench/workflows/noop.ts) with
 * the pipeline's own count of activities and timers (read from the histories of the 1-worker run), run
 * by one worker process the same way. CPU seconds per pipeline are read from /proc for the worker
 * process(es) and the dev server (its share of starting them included).
 *
 * The pipeline is text2video (submit, status, download of a small derived file: the lightest, so
 * orchestration dominates) against a sandbox whose jobs finish at once; the full run adds a LipDub
 * pipeline (video and audio uploads through signed URLs, shot, training, generation, download: more
 * typical) at one worker. The sandbox and the client run in the benchmark's own process and are not
 * counted in either figure, but they share the machine's cores.
 *
 * Sizes: REELAY_BENCH_THROUGHPUT_N (default 500; --quick 20) and REELAY_BENCH_THROUGHPUT_LIPDUB_N
 * (default 200; 0 skips LipDub; --quick skips it).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { startPipeline } from '../../src/client';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { countOnQueue, forEachLimit, startWorkerProcess, waitForClosed, workflowBundle, type WorkerKind, type WorkerProcess } from './processes';
import { MiB, cpuSeconds, envWholeNumber, percentile, round, rssSampler, startBenchServer, type BenchServer } from './support';
import type { BenchContext, BenchSection, Figure, SectionResult } from './types';
import type { NoopPipelineInput } from './workflows/noop';

/** Fast polling: jobs finish at once, so a pipeline rarely waits at all. */
const POLLING = { initialIntervalSeconds: 0.05, maxIntervalSeconds: 0.2, backoffCoefficient: 1.5 };
const START_CONCURRENCY = 32;

/** CPU seconds per pipeline, in ms, next to a reference's. */
function cpuFigure(metric: string, value: number, reference: { label: string; value: number }, note?: string): Figure {
  return { metric, value: value * 1000, unit: 'ms', reference: { ...reference, value: reference.value * 1000, unit: 'ms' }, ratio: round(value / reference.value), ...(note ? { note } : {}) };
}
const HISTORY_SAMPLE = 20;

interface RunResult {
  label: string;
  kind: WorkerKind;
  workers: number;
  n: number;
  completed: number;
  startSeconds: number;
  startsPerSecond: number;
  runSeconds: number;
  /** From the workers being ready to the first close: start-up of the pipeline, not of the process. */
  firstCloseSeconds: number;
  /** Pipelines closed per second, from the first worker being ready to the last close. */
  perSecond: number;
  /** Between the 10th and the 90th percentile close: without ramp-up and tail. */
  steadyPerSecond: number;
  workerCpuSeconds: number;
  serverCpuStartSeconds: number;
  serverCpuRunSeconds: number;
  /** The benchmark process (sandbox + client): not in the figures, shown to say where the rest went. */
  benchCpuSeconds: number;
  workerCpuPerPipeline: number;
  serverCpuPerPipeline: number;
  workerPeakRssMiB: number[];
  serverPeakRssMiB: number;
  /** 1-minute load average when the workers were ready and at the end: other work on the machine shows here. */
  loadAverage: [number, number];
}

interface Shape {
  activities: number;
  timers: number;
  events: number;
  workflowTasks: number;
}

/** Mean activities, timers, events and workflow tasks of a sample of a queue's workflows. */
async function historyShape(client: Client, taskQueue: string, sample: number): Promise<Shape> {
  const ids: string[] = [];
  for await (const wf of client.workflow.list({ query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Completed'`, pageSize: sample })) {
    ids.push(wf.workflowId);
    if (ids.length >= sample) break;
  }
  const sum: Shape = { activities: 0, timers: 0, events: 0, workflowTasks: 0 };
  for (const id of ids) {
    const events = (await client.workflow.getHandle(id).fetchHistory()).events ?? [];
    sum.events += events.length;
    for (const e of events) {
      if (e.activityTaskScheduledEventAttributes) sum.activities++;
      if (e.timerStartedEventAttributes) sum.timers++;
      if (e.workflowTaskCompletedEventAttributes) sum.workflowTasks++;
    }
  }
  const k = Math.max(ids.length, 1);
  return { activities: round(sum.activities / k), timers: round(sum.timers / k), events: round(sum.events / k), workflowTasks: round(sum.workflowTasks / k) };
}

async function runOnce(
  ctx: BenchContext,
  bench: BenchServer,
  opts: { label: string; kind: WorkerKind; workers: number; n: number; tag: string; workerEnv: NodeJS.ProcessEnv; start: (taskQueue: string, i: number) => Promise<unknown> },
): Promise<RunResult> {
  const taskQueue = `throughput-${opts.tag}`;
  const serverCpu0 = cpuSeconds(bench.pid);
  const t0 = Date.now();
  await forEachLimit(
    Array.from({ length: opts.n }, (_, i) => i),
    START_CONCURRENCY,
    async (i) => void (await opts.start(taskQueue, i)),
  );
  const startSeconds = (Date.now() - t0) / 1000;
  const serverCpuStartSeconds = cpuSeconds(bench.pid) - serverCpu0;
  ctx.log(`${opts.label}: started ${opts.n} in ${startSeconds.toFixed(1)} s; starting ${opts.workers} worker process(es)`);

  const bundle = await workflowBundle(ctx, opts.kind);
  const env = { ...opts.workerEnv, TEMPORAL_ADDRESS: bench.server.address, REELAY_TASK_QUEUE: taskQueue, REELAY_WORKFLOW_BUNDLE: bundle };
  const workers: WorkerProcess[] = await Promise.all(
    Array.from({ length: opts.workers }, (_, w) => startWorkerProcess({ kind: opts.kind, env, logFile: path.join(ctx.dir, `worker-${opts.tag}-${w}.log`) })),
  );
  try {
    const ready = Date.now();
    const load0 = os.loadavg()[0]!;
    const workerCpu0 = workers.map((w) => cpuSeconds(w.pid));
    const serverCpu1 = cpuSeconds(bench.pid);
    const benchCpu0 = cpuSeconds();
    const rss = workers.map((w) => rssSampler(w.pid, 250));
    const serverRss = rssSampler(bench.pid, 250);
    // Generous: a 2-core box does tens of these a second; a stall shows as a shortfall, not a hang.
    const deadline = ready + 60_000 + opts.n * 1_000;
    const closed = await waitForClosed(bench.client, taskQueue, opts.n, deadline);
    const workerCpuSeconds = workers.reduce((a, w, k) => a + cpuSeconds(w.pid) - workerCpu0[k]!, 0);
    const serverCpuRunSeconds = cpuSeconds(bench.pid) - serverCpu1;
    const benchCpuSeconds = cpuSeconds() - benchCpu0;
    const workerPeakRssMiB = rss.map((s) => round(s.stop() / MiB, 0));
    const serverPeakRssMiB = round(serverRss.stop() / MiB, 0);
    if (closed < opts.n) ctx.log(`${opts.label}: only ${closed}/${opts.n} closed by the deadline`);

    const closes: number[] = [];
    for await (const wf of bench.client.workflow.list({ query: `TaskQueue = '${taskQueue}' AND ExecutionStatus != 'Running'` })) {
      if (wf.closeTime) closes.push(wf.closeTime.getTime());
    }
    const completed = await countOnQueue(bench.client, taskQueue, 'Completed');
    const last = Math.max(...closes);
    const runSeconds = (last - ready) / 1000;
    const p10 = percentile(closes, 10);
    const p90 = percentile(closes, 90);
    const result: RunResult = {
      label: opts.label,
      kind: opts.kind,
      workers: opts.workers,
      n: opts.n,
      completed,
      startSeconds: round(startSeconds, 1),
      startsPerSecond: round(opts.n / startSeconds, 1),
      runSeconds: round(runSeconds, 1),
      firstCloseSeconds: round((Math.min(...closes) - ready) / 1000, 1),
      perSecond: round(completed / runSeconds, 2),
      steadyPerSecond: p90 > p10 ? round((0.8 * closes.length) / ((p90 - p10) / 1000), 2) : Number.NaN,
      workerCpuSeconds: round(workerCpuSeconds),
      serverCpuStartSeconds: round(serverCpuStartSeconds),
      serverCpuRunSeconds: round(serverCpuRunSeconds),
      benchCpuSeconds: round(benchCpuSeconds),
      workerCpuPerPipeline: round(workerCpuSeconds / opts.n, 4),
      serverCpuPerPipeline: round((serverCpuStartSeconds + serverCpuRunSeconds) / opts.n, 4),
      workerPeakRssMiB,
      serverPeakRssMiB,
      loadAverage: [round(load0), round(os.loadavg()[0]!)],
    };
    ctx.log(
      `${opts.label}: ${completed}/${opts.n} completed in ${result.runSeconds} s = ${result.perSecond}/s (steady ${result.steadyPerSecond}/s); ` +
        `CPU s/pipeline worker ${result.workerCpuPerPipeline}, server ${result.serverCpuPerPipeline}`,
    );
    return result;
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}

export const throughputSection: BenchSection = {
  id: 'throughput',
  title: 'Throughput at saturation',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const n = ctx.quick ? 20 : envWholeNumber('REELAY_BENCH_THROUGHPUT_N', 500);
    const lipdubN = ctx.quick ? 0 : envWholeNumber('REELAY_BENCH_THROUGHPUT_LIPDUB_N', 200);
    const bench = await startBenchServer(ctx, 'throughput');
    const sandbox: Sandbox = await startSandbox({
      timings: {
        text2video: { queueMs: 0, stageMs: 0 },
        lipdub: { shotMs: 0, trainingMs: 0, generateQueueMs: 0, generateMs: 0 },
      },
    });
    const outputRoot = path.join(ctx.dir, 'throughput', 'out');
    const workerEnv: NodeJS.ProcessEnv = { ...process.env, ...sandbox.env(), REELAY_OUTPUT_DIR: outputRoot, REELAY_LOG_LEVEL: 'WARN' };
    const video = path.join(ctx.dir, 'throughput', 'talk.mp4');
    const audio = path.join(ctx.dir, 'throughput', 'line.mp3');
    fs.writeFileSync(video, Buffer.alloc(300_000, 7));
    fs.writeFileSync(audio, Buffer.alloc(40_000, 3));
    const stamp = Date.now().toString(36);
    const text2video = (tag: string) => (taskQueue: string, i: number) =>
      startPipeline(bench.client, 'text2video', { text: `Throughput story ${tag} ${i}: a lighthouse at dawn.`, polling: POLLING }, { taskQueue, key: `${tag}-${i}` });
    const noop = (tag: string, shape: NoopPipelineInput) => (taskQueue: string, i: number) =>
      bench.client.workflow.start('noopPipeline', { taskQueue, workflowId: `noop-${tag}-${i}`, args: [shape] });
    const runs: RunResult[] = [];
    const shapes: Record<string, Shape> = {};
    try {
      const one = await runOnce(ctx, bench, { label: 'text2video, 1 worker', kind: 'reelay', workers: 1, n, tag: `t2v1-${stamp}`, workerEnv, start: text2video(`t2v1-${stamp}`) });
      runs.push(one);
      shapes.text2video = await historyShape(bench.client, `throughput-t2v1-${stamp}`, HISTORY_SAMPLE);
      const shape = (s: Shape): NoopPipelineInput => ({ activities: Math.round(s.activities), timers: Math.round(s.timers), timerMs: POLLING.initialIntervalSeconds * 1000 });
      ctx.log(`text2video history: ${JSON.stringify(shapes.text2video)}; the no-op runs ${JSON.stringify(shape(shapes.text2video))}`);
      const noopOne = await runOnce(ctx, bench, { label: 'no-op, 1 worker', kind: 'noop', workers: 1, n, tag: `noop1-${stamp}`, workerEnv, start: noop(`noop1-${stamp}`, shape(shapes.text2video)) });
      runs.push(noopOne);
      const two = await runOnce(ctx, bench, { label: 'text2video, 2 workers', kind: 'reelay', workers: 2, n, tag: `t2v2-${stamp}`, workerEnv, start: text2video(`t2v2-${stamp}`) });
      runs.push(two);

      const figures: Figure[] = [
        {
          metric: 'text2video pipelines/s, 1 worker',
          value: one.perSecond,
          unit: '/s',
          reference: { label: `no-op workflow, ${shape(shapes.text2video).activities} activities + ${shape(shapes.text2video).timers} timers`, value: noopOne.perSecond, unit: '/s' },
          ratio: round(one.perSecond / noopOne.perSecond),
          higherIsBetter: true,
          note: `${n} started at once; ${one.completed}/${n} completed`,
        },
        {
          metric: 'text2video pipelines/s, 2 workers',
          value: two.perSecond,
          unit: '/s',
          reference: { label: '1 worker', value: one.perSecond, unit: '/s' },
          ratio: round(two.perSecond / one.perSecond),
          higherIsBetter: true,
          note: `${two.completed}/${n} completed`,
        },
        cpuFigure('worker CPU per text2video pipeline (1 worker)', one.workerCpuPerPipeline, { label: 'no-op workflow', value: noopOne.workerCpuPerPipeline }),
        cpuFigure('server CPU per text2video pipeline (1 worker)', one.serverCpuPerPipeline, { label: 'no-op workflow', value: noopOne.serverCpuPerPipeline }, 'starting the workflow included'),
        cpuFigure('worker CPU per text2video pipeline (2 workers, both)', two.workerCpuPerPipeline, { label: '1 worker', value: one.workerCpuPerPipeline }),
      ];

      if (lipdubN > 0) {
        const lipdub = (tag: string) => (taskQueue: string, i: number) =>
          startPipeline(bench.client, 'lipdub', { video, audios: [{ source: audio, language: 'es-MX' }], polling: POLLING }, { taskQueue, key: `${tag}-${i}` });
        const lip = await runOnce(ctx, bench, { label: 'LipDub, 1 worker', kind: 'reelay', workers: 1, n: lipdubN, tag: `lip1-${stamp}`, workerEnv, start: lipdub(`lip1-${stamp}`) });
        runs.push(lip);
        shapes.lipdub = await historyShape(bench.client, `throughput-lip1-${stamp}`, HISTORY_SAMPLE);
        ctx.log(`LipDub history: ${JSON.stringify(shapes.lipdub)}; the no-op runs ${JSON.stringify(shape(shapes.lipdub))}`);
        const lipNoop = await runOnce(ctx, bench, { label: 'no-op (LipDub shape), 1 worker', kind: 'noop', workers: 1, n: lipdubN, tag: `noopl-${stamp}`, workerEnv, start: noop(`noopl-${stamp}`, shape(shapes.lipdub)) });
        runs.push(lipNoop);
        figures.push(
          {
            metric: 'LipDub pipelines/s, 1 worker',
            value: lip.perSecond,
            unit: '/s',
            reference: { label: `no-op workflow, ${shape(shapes.lipdub).activities} activities + ${shape(shapes.lipdub).timers} timers`, value: lipNoop.perSecond, unit: '/s' },
            ratio: round(lip.perSecond / lipNoop.perSecond),
            higherIsBetter: true,
            note: `${lipdubN} started at once; ${lip.completed}/${lipdubN} completed; 300 kB video + 40 kB audio uploaded each`,
          },
          cpuFigure('worker CPU per LipDub pipeline (1 worker)', lip.workerCpuPerPipeline, { label: 'no-op workflow', value: lipNoop.workerCpuPerPipeline }),
          cpuFigure('server CPU per LipDub pipeline (1 worker)', lip.serverCpuPerPipeline, { label: 'no-op workflow', value: lipNoop.serverCpuPerPipeline }, 'starting the workflow included'),
        );
      }
      return { id: 'throughput', title: this.title, figures, details: { polling: POLLING, startConcurrency: START_CONCURRENCY, shapes, runs, sandboxCounters: sandbox.counters() } };
    } finally {
      await sandbox.close();
      await bench.stop();
    }
  },
};
