/**
 * Job slots at scale (issue 18, item 3): the real limiter workflow at a cap of 200 with 2,000 pipelines
 * contending, through the same helper the pipelines use (scripts/bench/workflows/slots.ts).
 *
 * 200 holders take every slot and keep it; 1,800 more ask and wait (the limiter holds them all). Then the
 * holders let go at once, and the waiters drain through the slots, each holding its slot for a second.
 * Measured while they drain:
 *   - grants per second: the waiters granted over the time from the first let-go to the last grant;
 *   - slot handover: from a slot given back to the next waiter holding it (the i-th grant to a waiter
 *     against the i-th slot given back, in workflow time), p50 / p95 / max: the longest wait for a free
 *     slot. A limiter that falls behind its signals shows here first;
 *   - the limiter's own reaction: from a releaseSlot signal in its history to the next slotGranted it
 *     sends (server time), p50 / p95 / max: whether signals queue up at the limiter itself;
 *   - the limiter's own CPU per grant: its runs replayed in this process, CPU over grants;
 *   - the limiter's history: its runs (continue-as-new) and the most events any run had, and its state
 *     at the end (no holder, no waiter: nothing left behind).
 * Sizes: REELAY_BENCH_LIMITER_CAP (default 200; --quick 5), REELAY_BENCH_LIMITER_PIPELINES (default 2000;
 * --quick 25), REELAY_BENCH_LIMITER_HOLD_MS (each waiter's hold, default 1000; --quick 200).
 */
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { limiterStateQuery, limiterWorkflowId, type LimiterState } from '../../src/contract/limiter';
import { benchWorkerEnv, forEachLimit, sleepMs, startWorkerProcess, waitForClosed, workflowBundle } from './processes';
import { envWholeNumber, percentile, round, startBenchServer } from './support';
import type { BenchContext, BenchSection, Figure, SectionResult } from './types';
import type { SlotHolderInput, SlotHolderTimes } from './workflows/slots';

const PROVIDER = 'vividflow';
const START_CONCURRENCY = 16;
/** A limiter run this long would be near Temporal's warning (10,240 events); continue-as-new keeps it far under. */
const EVENTS_PER_RUN_TARGET = 10_000;

export const limiterSection: BenchSection = {
  id: 'limiter',
  title: 'Job slots at scale',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const cap = ctx.quick ? 5 : envWholeNumber('REELAY_BENCH_LIMITER_CAP', 200, 1);
    const total = Math.max(cap + 1, ctx.quick ? 25 : envWholeNumber('REELAY_BENCH_LIMITER_PIPELINES', 2000, 2));
    const holdMs = ctx.quick ? 200 : envWholeNumber('REELAY_BENCH_LIMITER_HOLD_MS', 1000, 1);
    const waiters = total - cap;
    const bench = await startBenchServer(ctx, 'limiter');
    const taskQueue = `limiter-${Date.now().toString(36)}`;
    const bundle = await workflowBundle(ctx, 'slots');
    const worker = await startWorkerProcess({
      kind: 'slots',
      env: {
        ...benchWorkerEnv({ providers: {}, address: bench.server.address, taskQueue, bundle, outputDir: path.join(ctx.dir, 'limiter', 'out') }),
        [`REELAY_${PROVIDER.toUpperCase()}_MAX_CONCURRENT_JOBS`]: String(cap),
        [`REELAY_${PROVIDER.toUpperCase()}_REQUESTS_PER_SECOND`]: '0',
      },
      logFile: path.join(ctx.dir, 'worker-limiter.log'),
    });
    const limiterId = limiterWorkflowId(PROVIDER, taskQueue);
    const limiterState = () => bench.client.workflow.getHandle(limiterId).query(limiterStateQuery).catch(() => undefined);
    const waitForLimiter = async (until: (s: LimiterState) => boolean, what: string, timeoutMs: number): Promise<LimiterState> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const s = await limiterState();
        if (s && until(s)) return s;
        if (Date.now() > deadline) throw new Error(`the limiter never had ${what}; last: holders ${s?.holders.length}, waiting ${s?.waiting.length}`);
        await sleepMs(500);
      }
    };
    const start = (id: string, input: SlotHolderInput) => bench.client.workflow.start('slotHolderBench', { taskQueue, workflowId: id, args: [input] });
    const minutes = ctx.quick ? 2 : 30;
    try {
      const t0 = Date.now();
      const holders = Array.from({ length: cap }, (_, i) => `${taskQueue}-holder-${i}`);
      await forEachLimit(holders, START_CONCURRENCY, async (id) => {
        await start(id, { provider: PROVIDER, holdMs: 3_600_000 });
      });
      await waitForLimiter((s) => s.holders.length === cap, `${cap} holders`, minutes * 60_000);
      const waiting = Array.from({ length: waiters }, (_, i) => `${taskQueue}-waiter-${i}`);
      await forEachLimit(waiting, START_CONCURRENCY, async (id) => {
        await start(id, { provider: PROVIDER, holdMs });
      });
      await waitForLimiter((s) => s.waiting.length === waiters, `${waiters} waiting`, minutes * 60_000);
      const startSeconds = (Date.now() - t0) / 1000;
      ctx.log(`limiter: ${cap} slots held, ${waiters} waiting after ${round(startSeconds, 0)} s; letting go`);

      await forEachLimit(holders, START_CONCURRENCY, async (id) => {
        await bench.client.workflow.getHandle(id).signal('letGo');
      });
      const closed = await waitForClosed(bench.client, taskQueue, total, Date.now() + minutes * 60_000, 1000);
      if (closed < total) throw new Error(`only ${closed} of ${total} slot holders closed within ${minutes} min`);

      const times: Array<SlotHolderTimes & { waiter: boolean }> = [];
      await forEachLimit([...holders, ...waiting], 32, async (id) => {
        const r = (await bench.client.workflow.getHandle(id).result()) as SlotHolderTimes;
        times.push({ ...r, waiter: id.includes('-waiter-') });
      });
      const releases = times.map((t) => t.releasedAt).sort((a, b) => a - b);
      const grants = times.filter((t) => t.waiter).map((t) => t.grantedAt).sort((a, b) => a - b);
      const handover = grants.map((g, i) => g - releases[i]!);
      const firstRelease = releases[0]!;
      const drainSeconds = (grants[grants.length - 1]! - firstRelease) / 1000;
      const grantsPerSecond = grants.length / Math.max(drainSeconds, 0.001);
      const longestWaitS = Math.max(...times.filter((t) => t.waiter).map((t) => t.grantedAt - t.askedAt)) / 1000;

      // The limiter's runs: each one's length, and when each slot came back and each grant went out
      // (server time of the releaseSlot signal and of the slotGranted signal's initiation).
      const runs: number[] = [];
      const histories: Array<{ workflowId: string; history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>> }> = [];
      const released: number[] = [];
      const granted: number[] = [];
      const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;
      for await (const run of bench.client.workflow.list({ query: `WorkflowId = '${limiterId}'` })) {
        const history = await bench.client.workflow.getHandle(limiterId, run.runId).fetchHistory();
        runs.push(history.events?.length ?? 0);
        histories.push({ workflowId: limiterId, history });
        for (const e of history.events ?? []) {
          if (e.workflowExecutionSignaledEventAttributes?.signalName === 'releaseSlot') released.push(ms(e.eventTime));
          if (e.signalExternalWorkflowExecutionInitiatedEventAttributes?.signalName === 'slotGranted') granted.push(ms(e.eventTime));
        }
      }
      released.sort((a, b) => a - b);
      granted.sort((a, b) => a - b);
      // The first `cap` grants went to the holders; the i-th grant after them answers the i-th release.
      const reaction = granted.slice(cap).map((g, i) => g - released[i]!).filter((x) => Number.isFinite(x));
      const r = (q: number) => round(percentile(reaction, q), 0);
      // A backlog grows: the reaction in the drain's second half against its first.
      const half = Math.floor(reaction.length / 2);
      const halves = [reaction.slice(0, half), reaction.slice(half)].map((xs) => round(percentile(xs, 95), 0));
      // The limiter's own CPU: its runs replayed in this process (the code a worker runs for it, nothing else).
      const replay = async () => {
        for await (const replayed of Worker.runReplayHistories({ workflowBundle: { codePath: bundle }, replayName: 'limiter-bench' }, histories)) {
          if (replayed.error) throw new Error(`replay of the limiter failed: ${replayed.error.message}`);
        }
      };
      await replay(); // warm-up: the replay worker and the bundle's first load are not the limiter's
      const cpu0 = process.cpuUsage();
      await replay();
      const cpu = process.cpuUsage(cpu0);
      const cpuPerGrantMs = (cpu.user + cpu.system) / 1000 / Math.max(granted.length, 1);
      const end = await waitForLimiter((s) => s.holders.length === 0 && s.waiting.length === 0, 'no holder and no waiter', 60_000);
      const maxEvents = Math.max(...runs);
      const p = (q: number) => round(percentile(handover, q), 0);

      const figures: Figure[] = [
        {
          metric: `grants per second, ${waiters} waiting for ${cap} slots`,
          value: round(grantsPerSecond, 1),
          unit: '/s',
          higherIsBetter: true,
          note: `${grants.length} grants in ${round(drainSeconds, 1)} s (each waiter holds its slot ${holdMs} ms, so ${round((cap * 1000) / holdMs, 0)}/s would keep every slot busy)`,
        },
        {
          metric: 'slot handover (a slot given back → the next waiter holds it), p95',
          value: p(95),
          unit: 'ms',
          note: `p50 ${p(50)} ms, longest ${p(100)} ms (the longest wait for a free slot); the longest any waiter waited in all: ${round(longestWaitS, 1)} s`,
        },
        {
          metric: "the limiter's own CPU per grant (its runs replayed)",
          value: round(cpuPerGrantMs, 2),
          unit: 'ms',
          note: `${round(1000 / Math.max(cpuPerGrantMs, 0.001), 0)} grants/s of one core${1000 / Math.max(cpuPerGrantMs, 0.001) > 2 * grantsPerSecond ? ": the limiter's code is not what bounds the rate above" : ''}`,
        },
        {
          metric: "the limiter's own reaction (its releaseSlot signal → the next slotGranted sent), p95",
          value: r(95),
          unit: 'ms',
          note: `p50 ${r(50)} ms, longest ${r(100)} ms; p95 of the drain's first / second half ${halves[0]} / ${halves[1]} ms (a backlog would grow); server time in the limiter's history`,
        },
        {
          metric: 'limiter history: most events in one run',
          value: maxEvents,
          unit: 'events',
          target: { text: `≤ ${EVENTS_PER_RUN_TARGET} (bounded by continue-as-new)`, met: maxEvents <= EVENTS_PER_RUN_TARGET },
          note: `${runs.length} runs for ${total} pipelines; at the end ${end.holders.length} holders, ${end.waiting.length} waiting, ${end.granted ?? '?'} grants in all`,
        },
      ];
      return {
        id: 'limiter',
        title: this.title,
        figures,
        details: { cap, total, holdMs, startSeconds: round(startSeconds, 1), drainSeconds: round(drainSeconds, 1), handoverMs: { p50: p(50), p95: p(95), max: p(100) }, reactionMs: { p50: r(50), p95: r(95), max: r(100), p95Halves: halves }, cpuPerGrantMs: round(cpuPerGrantMs, 3), runs, end: { holders: end.holders.length, waiting: end.waiting.length, granted: end.granted } },
      };
    } finally {
      await worker.stop();
      await bench.stop();
    }
  },
};
