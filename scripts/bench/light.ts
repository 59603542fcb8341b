/**
 * Light runs (issue 16, item 2): what one waiting pipeline costs the worker that keeps it cached, and what
 * one replay of it costs, next to a no-op workflow of the same shape (scripts/bench/workflows/noop.ts,
 * `noopWaiting`: the same activities and timer, no zod, no Reelay code) in the same run.
 *
 * For each shape — text2video waiting in its status poll (validate, submit, status, timer) and LipDub
 * waiting for its shot (validate, video and audio uploads in parallel, shot status, timer) — and for each
 * of Reelay and the no-op, with a worker process of its own on one dev server:
 *   - memory per cached run: the worker's RSS after N runs reached their wait, less its RSS after a few
 *     warm-up runs, over N (every run stays cached: N is far under the SDK's default cache size);
 *   - CPU per replay: the histories of some of those runs, replayed in this process
 *     (Worker.runReplayHistories, the bundle the worker ran), process CPU over the count, after a warm-up.
 * Targets: at most 2× the no-op's memory per cached run and CPU per replay.
 * Sizes: REELAY_BENCH_LIGHT_N runs per measurement (default 500; --quick 10), REELAY_BENCH_LIGHT_REPLAYS
 * histories replayed (default 100; --quick 4).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { startPipeline } from '../../src/client';
import { startSandbox } from '../../src/sandbox';
import { benchWorkerEnv, forEachLimit, sleepMs, startWorkerProcess, workflowBundle } from './processes';
import { MiB, cpuSeconds, envWholeNumber, median, round, rssBytes, startBenchServer } from './support';
import type { BenchContext, BenchSection, Figure, SectionResult } from './types';
import type { NoopWaitingInput } from './workflows/noop';

const START_CONCURRENCY = 16;
const WARMUP_RUNS = 5;
const WARMUP_REPLAYS = 3;
const TARGET_RATIO = 2;
/** Jobs at the sandbox and the polls' interval: longer than the section, so every run sits in its wait. */
const JOB_MS = 6 * 3_600_000;
const POLLING = { initialIntervalSeconds: 3600, maxIntervalSeconds: 3600 };

interface Shape {
  id: 'text2video' | 'lipdub';
  label: string;
  /** Start one Reelay run that waits. */
  start(client: Client, taskQueue: string, key: string, files: { video: string; audio: string }): Promise<string>;
  noop: Omit<NoopWaitingInput, 'waitMs'>;
}

const SHAPES: Shape[] = [
  {
    id: 'text2video',
    label: 'text2video waiting in its poll',
    start: async (client, taskQueue, key) =>
      (await startPipeline(client, 'text2video', { text: `A light story ${key}.`, polling: POLLING }, { taskQueue, key })).workflowId,
    noop: { first: 3, parallel: 0, activities: 0 },
  },
  {
    id: 'lipdub',
    label: 'LipDub waiting for its shot',
    start: async (client, taskQueue, key, files) =>
      (await startPipeline(client, 'lipdub', { video: files.video, audios: [{ source: files.audio, language: 'es-MX' }], polling: POLLING }, { taskQueue, key })).workflowId,
    noop: { first: 1, parallel: 2, activities: 1 },
  },
];

/** Waits until the worker and the server have both been idle for 3 s in a row (every run reached its wait). */
async function settle(pids: number[], deadline: number): Promise<boolean> {
  let quiet = 0;
  let last = pids.map((p) => cpuSeconds(p));
  while (Date.now() < deadline) {
    await sleepMs(1000);
    const now = pids.map((p) => cpuSeconds(p));
    quiet = now.every((c, i) => c - last[i]! < 0.03) ? quiet + 1 : 0;
    last = now;
    if (quiet >= 3) return true;
  }
  return false;
}

/** The median of 3 RSS samples, a second apart. */
async function steadyRss(pid: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 3; i++) {
    if (i) await sleepMs(1000);
    samples.push(rssBytes(pid));
  }
  return median(samples);
}

interface Measured {
  memoryPerRunMiB: number;
  cpuPerReplayMs: number;
  rssIdleMiB: number;
  rssLoadedMiB: number;
  settled: boolean;
  startSeconds: number;
  replayed: number;
  historyEvents: number;
}

export const lightSection: BenchSection = {
  id: 'light',
  title: 'Light runs',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const n = ctx.quick ? 10 : envWholeNumber('REELAY_BENCH_LIGHT_N', 500, 1);
    const replays = Math.min(n, ctx.quick ? 4 : envWholeNumber('REELAY_BENCH_LIGHT_REPLAYS', 100, 1));
    const bench = await startBenchServer(ctx, 'light');
    const sandbox = await startSandbox({ timings: { text2video: { queueMs: JOB_MS, stageMs: 0 }, lipdub: { shotMs: JOB_MS, trainingMs: JOB_MS } } });
    const inputs = path.join(ctx.dir, 'light-in');
    fs.mkdirSync(inputs, { recursive: true });
    const files = { video: path.join(inputs, 'talk.mp4'), audio: path.join(inputs, 'es.mp3') };
    fs.writeFileSync(files.video, Buffer.alloc(20_000, 7));
    fs.writeFileSync(files.audio, Buffer.alloc(4_000, 3));
    const bundles = { reelay: await workflowBundle(ctx, 'reelay'), noop: await workflowBundle(ctx, 'noop') };

    const measure = async (shape: Shape, kind: 'reelay' | 'noop'): Promise<Measured> => {
      const taskQueue = `light-${shape.id}-${kind}-${Date.now().toString(36)}`;
      const worker = await startWorkerProcess({
        kind,
        env: benchWorkerEnv({ providers: sandbox.env(), address: bench.server.address, taskQueue, bundle: bundles[kind], outputDir: path.join(ctx.dir, 'light', 'out') }),
        logFile: path.join(ctx.dir, `worker-light-${shape.id}-${kind}.log`),
      });
      const ids: string[] = [];
      const start = async (key: string) => {
        if (kind === 'reelay') return shape.start(bench.client, taskQueue, key, files);
        const args: [NoopWaitingInput] = [{ ...shape.noop, waitMs: JOB_MS }];
        return (await bench.client.workflow.start('noopWaiting', { taskQueue, workflowId: key, args })).workflowId;
      };
      try {
        const deadline = () => Date.now() + (ctx.quick ? 60_000 : 10 * 60_000);
        // Warm-up: the bundle, the activities' modules and the connections are loaded before the baseline.
        for (let i = 0; i < WARMUP_RUNS; i++) ids.push(await start(`${taskQueue}-warm-${i}`));
        await settle([worker.pid, bench.pid], deadline());
        const idle = await steadyRss(worker.pid);
        const t0 = Date.now();
        const keys = Array.from({ length: n }, (_, i) => `${taskQueue}-${i}`);
        await forEachLimit(keys, START_CONCURRENCY, async (key) => {
          ids.push(await start(key));
        });
        const startSeconds = (Date.now() - t0) / 1000;
        const settled = await settle([worker.pid, bench.pid], deadline());
        const loaded = await steadyRss(worker.pid);
        ctx.log(`${shape.id} ${kind}: ${n} runs waiting (${settled ? 'settled' : 'NOT settled'}); worker RSS ${round(idle / MiB, 0)} → ${round(loaded / MiB, 0)} MiB`);

        // Replay CPU: histories of runs that reached their wait, replayed in this process.
        const sample = ids.slice(WARMUP_RUNS, WARMUP_RUNS + WARMUP_REPLAYS + replays);
        const histories = await Promise.all(sample.map(async (workflowId) => ({ workflowId, history: await bench.client.workflow.getHandle(workflowId).fetchHistory() })));
        const replay = async (list: typeof histories) => {
          for await (const r of Worker.runReplayHistories({ workflowBundle: { codePath: bundles[kind] }, replayName: `light-${shape.id}-${kind}` }, list)) {
            if (r.error) throw new Error(`replay of ${r.workflowId} failed: ${r.error.message}`);
          }
        };
        await replay(histories.slice(0, WARMUP_REPLAYS));
        const timed = histories.slice(WARMUP_REPLAYS);
        const cpu0 = process.cpuUsage();
        await replay(timed);
        const cpu = process.cpuUsage(cpu0);
        const events = timed.reduce((a, h) => a + (h.history.events?.length ?? 0), 0) / Math.max(timed.length, 1);

        await forEachLimit(ids, 32, async (id) => {
          await bench.client.workflow.getHandle(id).terminate('benchmark done').catch(() => undefined);
        });
        return {
          memoryPerRunMiB: (loaded - idle) / n / MiB,
          cpuPerReplayMs: (cpu.user + cpu.system) / 1000 / Math.max(timed.length, 1),
          rssIdleMiB: round(idle / MiB, 0),
          rssLoadedMiB: round(loaded / MiB, 0),
          settled,
          startSeconds: round(startSeconds, 1),
          replayed: timed.length,
          historyEvents: round(events, 1),
        };
      } finally {
        await worker.stop();
      }
    };

    const figures: Figure[] = [];
    const details: Record<string, { reelay: Measured; noop: Measured }> = {};
    try {
      // --quick: one shape is enough to prove the harness works.
      for (const shape of ctx.quick ? SHAPES.slice(0, 1) : SHAPES) {
        const reelay = await measure(shape, 'reelay');
        const noop = await measure(shape, 'noop');
        details[shape.id] = { reelay, noop };
        const memRatio = reelay.memoryPerRunMiB / noop.memoryPerRunMiB;
        const cpuRatio = reelay.cpuPerReplayMs / noop.cpuPerReplayMs;
        // What 10,000 such runs would hold in one worker, from this run's idle RSS and per-run figure.
        const at10k = reelay.rssIdleMiB + (10_000 * reelay.memoryPerRunMiB);
        figures.push(
          {
            metric: `${shape.label}: worker memory per cached run`,
            value: round(reelay.memoryPerRunMiB * 1024, 0),
            unit: 'KiB',
            reference: { label: 'no-op workflow, same shape', value: round(noop.memoryPerRunMiB * 1024, 0), unit: 'KiB' },
            ratio: round(memRatio),
            target: { text: `≤ ${TARGET_RATIO}× the no-op`, met: memRatio <= TARGET_RATIO },
            note: `${n} runs; RSS ${reelay.rssIdleMiB} → ${reelay.rssLoadedMiB} MiB; 10,000 would be about ${round(at10k, 0)} MiB${reelay.settled ? '' : '; NOT settled'}`,
          },
          {
            metric: `${shape.label}: CPU per replay`,
            value: round(reelay.cpuPerReplayMs, 1),
            unit: 'ms',
            reference: { label: 'no-op workflow, same shape', value: round(noop.cpuPerReplayMs, 1), unit: 'ms' },
            ratio: round(cpuRatio),
            target: { text: `≤ ${TARGET_RATIO}× the no-op`, met: cpuRatio <= TARGET_RATIO },
            note: `${reelay.replayed} histories of ${reelay.historyEvents} events (no-op: ${noop.historyEvents})`,
          },
        );
      }
    } finally {
      await sandbox.close();
      await bench.stop();
    }
    return { id: 'light', title: this.title, figures, details: { n, replays, shapes: details } };
  },
};
