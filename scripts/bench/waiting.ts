/**
 * Waiting at scale: N text2video pipelines (default 10,000) whose jobs at the sandbox take hours, so
 * every one sits in its polling loop on a durable timer, with one worker process. Once all are waiting
 * and their backoff has reached its cap, over a steady window: the worker's and the server's RSS, the
 * CPU they use just to keep waiting, the status calls per second that reach the provider (next to what
 * the polling asks for: N / cap), and the latency of a status query on random pipelines against the
 * target of under a second: describe alone (the server answering) and describe + the `progress` query
 * (10 s at most; the worker must answer it, replaying the run first if it was evicted from its cache). The reference is the
 * same worker and server idle, in the same run. Then every pipeline is terminated, within a bound.
 *
 * Polling: text2video's default (5 s growing ×1.5 to 30 s), which asks for N / 30 s = 333 status calls a
 * second at 10,000 pipelines. Before issue 16 each was an activity and two workflow tasks, and the dev
 * server could not keep up (the 2026-11-22 run polled every 10 min instead); now each is one attempt of a
 * retried activity. REELAY_BENCH_WAITING_INITIAL_INTERVAL / _MAX_INTERVAL (seconds) override it.
 * Sizes: REELAY_BENCH_WAITING_N (default 10000; --quick 100, without waiting for the cap).
 */
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { startPipeline } from '../../src/client';
import { startSandbox } from '../../src/sandbox';
import type { PollingConfig } from '../../src/contract/common';
import { TEXT2VIDEO_POLLING_DEFAULTS } from '../../src/pipelines/text2video/spec';
import { backoffSeconds } from '../../src/workflows/shared/polling';
import { progressQuery } from '../../src/contract/progress';
import { countOnQueue, forEachLimit, sleepMs, startWorkerProcess, workflowBundle } from './processes';
import { MiB, cpuSeconds, envWholeNumber, percentile, round, rssBytes, startBenchServer } from './support';
import type { BenchContext, BenchSection, Figure, SectionResult } from './types';

const START_CONCURRENCY = 16;
const TERMINATE_CONCURRENCY = 32;
const JOB_HOURS = 6;
const STATUS_TARGET_MS = 1000;
const QUERY_TIMEOUT_MS = 10_000;
const MAX_SETTLE_SECONDS = 180;

/** Seconds until a backoff reaches its cap: the sum of the waits before it. */
export function secondsToCap(config: PollingConfig): number {
  let total = 0;
  for (let i = 0; backoffSeconds(config, i) < config.maxIntervalSeconds; i++) total += backoffSeconds(config, i);
  return total + config.maxIntervalSeconds;
}

/** p50, p95 and max of a latency against the target; `allAnswered` false fails p95 and max (some timed out). */
function latencyFigures(metric: string, l: { p50: number; p95: number; max: number }, allAnswered: boolean): Figure[] {
  return (['p50', 'p95', 'max'] as const).map((k) => ({
    metric: `${metric}, ${k}`,
    value: l[k],
    unit: 'ms',
    target: { text: `< ${STATUS_TARGET_MS} ms`, met: l[k] < STATUS_TARGET_MS && (k === 'p50' || allAnswered) },
  }));
}

/** Mean and peak of RSS samples, in MiB. */
function rssStats(samples: number[]) {
  return { meanMiB: round(samples.reduce((a, b) => a + b, 0) / Math.max(samples.length, 1) / MiB, 0), peakMiB: round(Math.max(...samples) / MiB, 0) };
}

export const waitingSection: BenchSection = {
  id: 'waiting',
  title: 'Waiting at scale',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const n = ctx.quick ? 100 : envWholeNumber('REELAY_BENCH_WAITING_N', 10_000, 1);
    const defaults = TEXT2VIDEO_POLLING_DEFAULTS;
    const initial = envWholeNumber('REELAY_BENCH_WAITING_INITIAL_INTERVAL', defaults.initialIntervalSeconds, 1);
    const polling: PollingConfig = {
      ...defaults,
      initialIntervalSeconds: initial,
      maxIntervalSeconds: Math.max(initial, envWholeNumber('REELAY_BENCH_WAITING_MAX_INTERVAL', defaults.maxIntervalSeconds, 1)),
    };
    // Without a second poll before the window, nothing changes while we wait: a short settle will do.
    const settleSeconds = ctx.quick ? 3 : initial >= MAX_SETTLE_SECONDS ? 20 : Math.min(secondsToCap(polling), MAX_SETTLE_SECONDS);
    const capReached = !ctx.quick && secondsToCap(polling) <= settleSeconds;
    const windowMs = ctx.quick ? 10_000 : 120_000;
    const querySamples = ctx.quick ? 10 : 100;
    const load0 = os.loadavg();
    const bench = await startBenchServer(ctx, 'waiting');
    const sandbox = await startSandbox({ timings: { text2video: { queueMs: JOB_HOURS * 3_600_000, stageMs: 0 } } });
    const taskQueue = `waiting-${Date.now().toString(36)}`;
    const bundle = await workflowBundle(ctx, 'reelay');
    const worker = await startWorkerProcess({
      kind: 'reelay',
      env: {
        ...process.env,
        ...sandbox.env(),
        TEMPORAL_ADDRESS: bench.server.address,
        REELAY_TASK_QUEUE: taskQueue,
        REELAY_WORKFLOW_BUNDLE: bundle,
        REELAY_OUTPUT_DIR: path.join(ctx.dir, 'waiting', 'out'),
        REELAY_LOG_LEVEL: 'WARN',
      },
      logFile: path.join(ctx.dir, 'worker-waiting.log'),
    });
    try {
      await sleepMs(3000);
      const idle = { workerMiB: round(rssBytes(worker.pid) / MiB, 0), serverMiB: round(rssBytes(bench.pid) / MiB, 0) };
      ctx.log(`idle: worker ${idle.workerMiB} MiB, server ${idle.serverMiB} MiB; starting ${n} pipelines (${START_CONCURRENCY} at a time)`);

      // Start them, with the worker running, as a caller would.
      const ids: string[] = new Array<string>(n);
      const t0 = Date.now();
      let lastNote = t0;
      await forEachLimit(
        Array.from({ length: n }, (_, i) => i),
        START_CONCURRENCY,
        async (i) => {
          const started = await startPipeline(bench.client, 'text2video', { text: `Waiting story ${taskQueue} ${i}: a slow tide.`, polling }, { taskQueue, key: `${taskQueue}-${i}` });
          ids[i] = started.workflowId;
          if (Date.now() - lastNote > 15_000) {
            lastNote = Date.now();
            ctx.log(`started ${i + 1}/${n}`);
          }
        },
      );
      const startSeconds = (Date.now() - t0) / 1000;
      ctx.log(`started ${n} in ${startSeconds.toFixed(1)} s (${(n / startSeconds).toFixed(1)}/s); waiting for every job to be submitted`);

      // All waiting: every pipeline has its job at the sandbox; then the backoff reaches its cap.
      const submitDeadline = Date.now() + (ctx.quick ? 30_000 : 30 * 60_000);
      while (sandbox.stats().text2video.jobs < n && Date.now() < submitDeadline) await sleepMs(500);
      const submitted = sandbox.stats().text2video.jobs;
      const allSubmittedSeconds = (Date.now() - t0) / 1000;
      ctx.log(`${submitted}/${n} jobs submitted ${allSubmittedSeconds.toFixed(1)} s after the first start; letting the polling backoff reach its cap`);
      // At most 3 min: with a cap of many minutes the window opens before every pipeline reaches it.
      await sleepMs(settleSeconds * 1000);

      // The steady window.
      const statusKey = 'text2video GET /api/v1/status/:jobId';
      const polls0 = sandbox.counters()[statusKey] ?? 0;
      const cpu0 = { worker: cpuSeconds(worker.pid), server: cpuSeconds(bench.pid) };
      const w0 = Date.now();
      const rss = { worker: [] as number[], server: [] as number[] };
      const sampler = setInterval(() => {
        rss.worker.push(rssBytes(worker.pid));
        rss.server.push(rssBytes(bench.pid));
      }, 1000);
      const latencies: Array<{ describeMs: number; queryMs: number; totalMs: number; error?: string }> = [];
      try {
        // Bounded: a status query that takes its full 10 s many times over must not stretch the window forever.
        for (let s = 0; s < querySamples && Date.now() < w0 + 2 * windowMs; s++) {
          const id = ids[Math.floor(Math.random() * n)]!;
          const handle = bench.client.workflow.getHandle(id);
          const a = performance.now();
          let b = Number.NaN;
          try {
            await handle.describe();
            b = performance.now();
            await bench.client.connection.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => handle.query(progressQuery));
            const c = performance.now();
            latencies.push({ describeMs: round(b - a, 1), queryMs: round(c - b, 1), totalMs: round(c - a, 1) });
          } catch (err) {
            // A query that timed out still tells how fast the server described the workflow.
            latencies.push({ describeMs: round(b - a, 1), queryMs: Number.NaN, totalMs: round(performance.now() - a, 1), error: (err as Error).message });
          }
          const due = w0 + ((s + 1) * windowMs) / querySamples;
          if (due > Date.now()) await sleepMs(due - Date.now());
        }
      } finally {
        clearInterval(sampler);
      }
      const windowSeconds = (Date.now() - w0) / 1000;
      const cpu = { worker: cpuSeconds(worker.pid) - cpu0.worker, server: cpuSeconds(bench.pid) - cpu0.server };
      const pollsPerSecond = ((sandbox.counters()[statusKey] ?? 0) - polls0) / windowSeconds;
      const running = await countOnQueue(bench.client, taskQueue, 'Running');
      const totals = latencies.map((l) => l.totalMs);
      const queries = latencies.map((l) => l.queryMs).filter(Number.isFinite);
      const errors = latencies.filter((l) => l.error);
      const status = { p50: percentile(totals, 50), p95: percentile(totals, 95), max: Math.max(...totals) };
      const describes = latencies.map((l) => l.describeMs).filter(Number.isFinite);
      const describe = { p50: percentile(describes, 50), p95: percentile(describes, 95), max: Math.max(...describes) };
      const workerRss = rssStats(rss.worker);
      const serverRss = rssStats(rss.server);
      // What polling at the cap asks for, if the worker and server keep up: n / cap.
      const pollsExpected = n / polling.maxIntervalSeconds;
      ctx.log(
        `steady (${windowSeconds.toFixed(0)} s, ${running} running): worker ${workerRss.meanMiB} MiB, server ${serverRss.meanMiB} MiB; ` +
          `CPU cores worker ${(cpu.worker / windowSeconds).toFixed(2)}, server ${(cpu.server / windowSeconds).toFixed(2)}; ` +
          `status calls ${pollsPerSecond.toFixed(1)}/s (cap asks ${pollsExpected.toFixed(0)}/s); status query p50 ${status.p50} ms p95 ${status.p95} ms max ${status.max} ms, ${errors.length} errors; describe alone p50 ${describe.p50} ms p95 ${describe.p95} ms`,
      );

      // Terminate them all, within a bound.
      const tt = Date.now();
      const terminateDeadline = tt + (ctx.quick ? 20_000 : 10 * 60_000);
      let terminated = 0;
      await forEachLimit(ids, TERMINATE_CONCURRENCY, async (id) => {
        if (Date.now() > terminateDeadline) return;
        try {
          await bench.client.workflow.getHandle(id).terminate('benchmark done');
          terminated++;
        } catch {
          // Already closed (or the deadline is near): nothing to do.
        }
      });
      const terminateSeconds = (Date.now() - tt) / 1000;
      ctx.log(`terminated ${terminated}/${n} in ${terminateSeconds.toFixed(1)} s`);

      return {
        id: 'waiting',
        title: this.title,
        figures: [
          {
            metric: `worker RSS, ${n} pipelines waiting`,
            value: workerRss.meanMiB,
            unit: 'MiB',
            reference: { label: 'same worker idle', value: idle.workerMiB, unit: 'MiB' },
            ratio: round(workerRss.meanMiB / idle.workerMiB),
            note: `peak ${workerRss.peakMiB} MiB`,
          },
          {
            metric: `server RSS, ${n} pipelines waiting`,
            value: serverRss.meanMiB,
            unit: 'MiB',
            reference: { label: 'same server idle', value: idle.serverMiB, unit: 'MiB' },
            ratio: round(serverRss.meanMiB / idle.serverMiB),
            note: `peak ${serverRss.peakMiB} MiB`,
          },
          // The server alone: describe reads the workflow's state (status, stage and job ids in its search
          // attributes), which is what `reelay status` falls back to when no worker answers in 3 s.
          ...latencyFigures('describe (the server alone)', describe, true),
          // With the progress query, the worker must answer: a run it evicted is replayed first.
          ...latencyFigures('status query (describe + progress)', status, errors.length === 0),
          {
            metric: 'provider status calls while waiting',
            value: round(pollsPerSecond, 1),
            unit: '/s',
            reference: { label: `${n} / ${polling.maxIntervalSeconds} s cap${capReached ? '' : ', not reached in this run'}`, value: round(pollsExpected, 1), unit: '/s' },
            ...(capReached ? { ratio: round(pollsPerSecond / pollsExpected), higherIsBetter: true, note: 'below 1×: the worker and server cannot keep up with the polling' } : {}),
          },
          { metric: 'worker CPU while waiting', value: round(cpu.worker / windowSeconds), unit: 'cores' },
          { metric: 'server CPU while waiting', value: round(cpu.server / windowSeconds), unit: 'cores' },
          { metric: `starting ${n} pipelines`, value: round(startSeconds, 1), unit: 's', note: `${round(n / startSeconds, 1)}/s, ${START_CONCURRENCY} at a time, worker running` },
          { metric: `terminating ${n} pipelines`, value: round(terminateSeconds, 1), unit: 's', note: `${terminated} terminated, ${TERMINATE_CONCURRENCY} at a time` },
        ],
        details: {
          n,
          polling,
          settleSeconds,
          // The SDK's default for the worker: from the V8 heap limit (node's default here).
          maxCachedWorkflows: Math.max(Math.floor((Math.max(v8.getHeapStatistics().heap_size_limit / MiB - 200, 0) * 600) / 1024), 10),
          loadAverage: { atStart: load0.map((l) => round(l)), atEnd: os.loadavg().map((l) => round(l)) },
          jobHours: JOB_HOURS,
          idle,
          submitted,
          allSubmittedSeconds: round(allSubmittedSeconds, 1),
          windowSeconds: round(windowSeconds, 1),
          running,
          cpuSeconds: { worker: round(cpu.worker), server: round(cpu.server) },
          rss: { worker: workerRss, server: serverRss },
          query: { p50: percentile(queries, 50), p95: percentile(queries, 95), max: Math.max(...queries) },
          errors: errors.slice(0, 5),
          latencies,
          startSeconds: round(startSeconds, 1),
          terminated,
          terminateSeconds: round(terminateSeconds, 1),
        },
      };
    } finally {
      await worker.stop();
      await sandbox.close();
      await bench.stop();
    }
  },
};
