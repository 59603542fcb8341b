/**
 * What a poll costs the Temporal server, before and after issue 16, side by side in one run. N waiting
 * text2video pipelines (default 1,000; --quick 30) whose jobs never end, at text2video's default polling
 * (5 s growing ×1.5 to 30 s), each shape on a dev server of its own:
 * - before: a poll is a status activity, then a durable timer (`legacyPollLoop` in
 *   scripts/bench/workflows/noop.ts: the command sequence every pipeline made before, making the same
 *   GET against the same sandbox);
 * - now: the real pipelines, whose wait is one activity the server retries on the hint scheduler's delays
 *   (src/activities/wait.ts).
 * Once the backoff has reached its cap, over a steady window: status calls that reached the provider per
 * second (next to N / 30 s asked), and server and worker CPU per poll.
 * Size: REELAY_BENCH_POLLCOST_N.
 */
import path from 'node:path';
import { startPipeline } from '../../src/client';
import { startSandbox } from '../../src/sandbox';
import { TEXT2VIDEO_POLLING_DEFAULTS } from '../../src/pipelines/text2video/spec';
import type { LegacyPollInput } from './workflows/noop';
import { benchWorkerEnv, forEachLimit, sleepMs, startWorkerProcess, workflowBundle, type WorkerKind } from './processes';
import { cpuSeconds, envWholeNumber, round, startBenchServer } from './support';
import { secondsToCap } from './waiting';
import type { BenchContext, BenchSection, Figure, SectionResult } from './types';

const JOB_HOURS = 6;
const START_CONCURRENCY = 16;

interface ShapeFigures {
  pollsPerSecond: number;
  serverCpuMsPerPoll: number;
  workerCpuMsPerPoll: number;
  serverCores: number;
  windowSeconds: number;
}

async function measureShape(ctx: BenchContext, shape: 'timer' | 'wait', n: number, windowMs: number, settleMs: number): Promise<ShapeFigures> {
  const kind: WorkerKind = shape === 'timer' ? 'noop' : 'reelay';
  const bench = await startBenchServer(ctx, `pollcost-${shape}`);
  const sandbox = await startSandbox({ timings: { text2video: { queueMs: JOB_HOURS * 3_600_000, stageMs: 0 } } });
  const taskQueue = `pollcost-${shape}-${Date.now().toString(36)}`;
  const worker = await startWorkerProcess({
    kind,
    env: benchWorkerEnv({
      providers: sandbox.env(),
      address: bench.server.address,
      taskQueue,
      bundle: await workflowBundle(ctx, kind),
      outputDir: path.join(ctx.dir, `pollcost-${shape}`, 'out'),
    }),
    logFile: path.join(ctx.dir, `worker-pollcost-${shape}.log`),
  });
  const ids: string[] = [];
  try {
    const polling = TEXT2VIDEO_POLLING_DEFAULTS;
    // The base URL ends in /api/v1, as the provider client takes it.
    const statusUrl = `${sandbox.env().TEXT2VIDEO_BASE_URL}/status`;
    await forEachLimit(
      Array.from({ length: n }, (_, i) => i),
      START_CONCURRENCY,
      async (i) => {
        if (shape === 'wait') {
          const started = await startPipeline(bench.client, 'text2video', { text: `Poll cost story ${i}: a slow tide.` }, { taskQueue });
          ids.push(started.workflowId);
        } else {
          const input: LegacyPollInput = { url: `${statusUrl}/legacy-${i}`, initialMs: polling.initialIntervalSeconds * 1000, maxMs: polling.maxIntervalSeconds * 1000, coefficient: polling.backoffCoefficient };
          const handle = await bench.client.workflow.start('legacyPollLoop', { args: [input], taskQueue, workflowId: `${taskQueue}-${i}` });
          ids.push(handle.workflowId);
        }
      },
    );
    ctx.log(`pollcost ${shape}: ${n} started; settling ${Math.round(settleMs / 1000)} s for the backoff to reach its cap`);
    await sleepMs(settleMs);
    const statusKey = 'text2video GET /api/v1/status/:jobId';
    const polls0 = sandbox.counters()[statusKey] ?? 0;
    const cpu0 = { worker: cpuSeconds(worker.pid), server: cpuSeconds(bench.pid) };
    const t0 = Date.now();
    await sleepMs(windowMs);
    const windowSeconds = (Date.now() - t0) / 1000;
    const polls = (sandbox.counters()[statusKey] ?? 0) - polls0;
    const cpu = { worker: cpuSeconds(worker.pid) - cpu0.worker, server: cpuSeconds(bench.pid) - cpu0.server };
    // No status call reached the provider: the shape is broken, and a cost per poll would mean nothing.
    if (polls === 0) throw new Error(`pollcost ${shape}: no status call reached the sandbox in ${windowSeconds.toFixed(0)} s; see ${path.join(ctx.dir, `worker-pollcost-${shape}.log`)}`);
    const figures = {
      pollsPerSecond: round(polls / windowSeconds, 1),
      serverCpuMsPerPoll: round((cpu.server * 1000) / Math.max(polls, 1), 2),
      workerCpuMsPerPoll: round((cpu.worker * 1000) / Math.max(polls, 1), 2),
      serverCores: round(cpu.server / windowSeconds),
      windowSeconds: round(windowSeconds, 1),
    };
    ctx.log(`pollcost ${shape}: ${JSON.stringify(figures)}`);
    await forEachLimit(ids, 32, async (id) => {
      await bench.client.workflow
        .getHandle(id)
        .terminate('benchmark done')
        .catch(() => undefined);
    });
    return figures;
  } finally {
    await worker.stop();
    await sandbox.close();
    await bench.stop();
  }
}

export const pollCostSection: BenchSection = {
  id: 'pollcost',
  title: 'Server cost of a poll: before (activity + timer) and now (one retried wait)',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const n = ctx.quick ? 30 : envWholeNumber('REELAY_BENCH_POLLCOST_N', 1000, 1);
    const windowMs = ctx.quick ? 8000 : 60_000;
    const settleMs = ctx.quick ? 3000 : (secondsToCap(TEXT2VIDEO_POLLING_DEFAULTS) + 10) * 1000;
    const asked = n / TEXT2VIDEO_POLLING_DEFAULTS.maxIntervalSeconds;
    const before = await measureShape(ctx, 'timer', n, windowMs, settleMs);
    const now = await measureShape(ctx, 'wait', n, windowMs, settleMs);
    const figures: Figure[] = [
      {
        metric: `server CPU per poll, ${n} waiting at default polling`,
        value: now.serverCpuMsPerPoll,
        unit: 'ms',
        reference: { label: 'before: activity + timer per poll', value: before.serverCpuMsPerPoll, unit: 'ms' },
        ratio: round(now.serverCpuMsPerPoll / Math.max(before.serverCpuMsPerPoll, 0.001)),
        target: { text: '≤ 0.5× before', met: now.serverCpuMsPerPoll <= 0.5 * before.serverCpuMsPerPoll },
      },
      {
        metric: `worker CPU per poll, ${n} waiting`,
        value: now.workerCpuMsPerPoll,
        unit: 'ms',
        reference: { label: 'before', value: before.workerCpuMsPerPoll, unit: 'ms' },
        ratio: round(now.workerCpuMsPerPoll / Math.max(before.workerCpuMsPerPoll, 0.001)),
      },
      {
        metric: `status calls achieved, ${n} waiting`,
        value: now.pollsPerSecond,
        unit: '/s',
        reference: { label: `asked (${n} / 30 s cap)`, value: round(asked, 1), unit: '/s' },
        ratio: round(now.pollsPerSecond / asked),
        higherIsBetter: true,
        note: `before: ${before.pollsPerSecond}/s`,
        ...(ctx.quick ? {} : { target: { text: '≥ 0.95× asked', met: now.pollsPerSecond >= 0.95 * asked } }),
      },
    ];
    return { id: 'pollcost', title: this.title, figures, details: { n, windowMs, settleMs, before, now } };
  },
};
