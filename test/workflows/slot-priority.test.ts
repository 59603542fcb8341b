import fs from 'node:fs';
import path from 'node:path';
import { startPipeline } from '../../src/client';
import { limiterStateQuery, limiterWorkflowId, type LimiterState } from '../../src/contract/limiter';
import { startBatch } from '../../src/pipelines/batch/start';
import { FAST_POLLING, startHarness, tempDir, waitForProgress, type Harness } from '../support/harness';

/**
 * Job slots by priority, then round-robin across callers (src/contract/slot-order.ts), through the real
 * limiter workflow on a real dev server. AI Studio is capped at one job in flight. A first pipeline holds
 * the slot with a job that would run for ten minutes, until the test has every other request waiting;
 * then jobs become quick and the holder is cancelled: the order the limiter grants from there on is the
 * order under test.
 */

const LONG_JOB = { aistudio: { pendingMs: 50, runMs: 600_000, mockRunMs: 600_000 } };
const QUICK_JOB = { aistudio: { runMs: 200, mockRunMs: 200 } };

async function capOneHarness(): Promise<Harness> {
  const h = await startHarness({ timings: LONG_JOB });
  h.env.REELAY_AISTUDIO_MAX_CONCURRENT_JOBS = '1';
  await h.startWorker();
  return h;
}

async function limiterState(h: Harness): Promise<LimiterState | undefined> {
  return h.client.workflow.getHandle(limiterWorkflowId('aistudio', h.taskQueue)).query(limiterStateQuery).catch(() => undefined);
}

async function waitForLimiter(h: Harness, until: (s: LimiterState) => boolean, what: string, timeoutMs = 90_000): Promise<LimiterState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await limiterState(h);
    if (s && until(s)) return s;
    if (Date.now() > deadline) throw new Error(`the limiter never had ${what}; last: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const job = (prompt: string, extra: Record<string, unknown> = {}) => ({ prompt, mockMode: true, polling: FAST_POLLING, ...extra });

describe('job slots go to the highest priority first', () => {
  let h: Harness;
  let dir: string;
  beforeAll(async () => {
    h = await capOneHarness();
    dir = tempDir('slot-priority');
  });
  afterAll(async () => {
    await h.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('twenty low-priority batch items wait; a high-priority pipeline started after them gets the next slot', async () => {
    const manifest = path.join(dir, 'low.jsonl');
    fs.writeFileSync(manifest, Array.from({ length: 20 }, (_, i) => JSON.stringify({ pipeline: 'aistudio', input: job(`low ${i}`) })).join('\n') + '\n');
    const batch = await startBatch(h.client, manifest, { taskQueue: h.taskQueue, outputRoot: h.outputRoot, window: 20, priority: 5 });
    // One item holds the slot (its job runs for ten minutes), nineteen wait.
    const blocked = await waitForLimiter(h, (s) => s.holders.length === 1 && s.waiting.length === 19, 'one holder and nineteen waiting');
    expect(blocked.waiting.every((w) => w.priority === 5)).toBe(true);
    const holder = blocked.holders[0]!.requesterId;

    const high = await startPipeline(h.client, 'aistudio', job('urgent', { priority: 1 }), { taskQueue: h.taskQueue });
    await waitForLimiter(h, (s) => s.waiting.some((w) => w.requesterId === high.handle.workflowId), 'the urgent request waiting');

    h.sandbox.configure({ timings: QUICK_JOB });
    await h.client.workflow.getHandle(holder).cancel();

    const result = await high.handle.result();
    expect(result.jobId).toBeDefined();
    const after = await waitForLimiter(h, (s) => (s.recentGrants?.length ?? 0) >= 2, 'two grants');
    const grants = after.recentGrants!.map((g) => g.requesterId);
    expect(grants[0]).toBe(holder);
    expect(grants[1]).toBe(high.handle.workflowId);
    expect(after.recentGrants![1]).toMatchObject({ priority: 1 });
    expect(after.recentGrants![2]).toMatchObject({ priority: 5 });

    await batch.handle.cancel();
  });
});

describe('callers take turns within a priority', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await capOneHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('three requests from caller A, then three from caller B: after the holder, slots alternate A, B, A, B, A, B', async () => {
    const start = (prompt: string, caller: string) => startPipeline(h.client, 'aistudio', job(prompt, { caller }), { taskQueue: h.taskQueue });
    const blocker = await start('the holder', 'someone-else');
    await waitForProgress(blocker.handle, (p) => p.providerIds.jobId !== undefined);

    const started = [];
    for (const caller of ['team-a', 'team-b']) {
      for (let i = 0; i < 3; i++) {
        started.push(await start(`${caller} ${i}`, caller));
        // Each request reaches the limiter before the next starts: the waiting list is A, A, A, B, B, B.
        await waitForLimiter(h, (s) => s.waiting.length === started.length, `${started.length} waiting`);
      }
    }
    const queued = (await limiterState(h))!.waiting.map((w) => w.caller);
    expect(queued).toEqual(['team-a', 'team-a', 'team-a', 'team-b', 'team-b', 'team-b']);

    h.sandbox.configure({ timings: QUICK_JOB });
    await blocker.handle.cancel();
    const results = await Promise.all(started.map((s) => s.handle.result()));
    expect(results.every((r) => r.jobId !== undefined)).toBe(true);

    const after = await waitForLimiter(h, (s) => (s.recentGrants?.length ?? 0) >= 7, 'seven grants');
    expect(after.recentGrants!.slice(1).map((g) => g.caller)).toEqual(['team-a', 'team-b', 'team-a', 'team-b', 'team-a', 'team-b']);
    expect(after.holders).toEqual([]);
  });
});

describe('grants survive the limiter continuing as new', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ timings: { aistudio: { pendingMs: 20, runMs: 150, mockRunMs: 150 } } });
    h.env.REELAY_AISTUDIO_MAX_CONCURRENT_JOBS = '3';
    await h.startWorker();
  });
  afterAll(async () => {
    await h.close();
  });

  it('a limiter that continues as new every 4 signals still grants every slot once: 15 pipelines on 3 slots all complete', async () => {
    // Started before any pipeline asks, with a tiny run length: the pipelines' signal-with-start finds it running.
    await h.client.workflow.start('providerLimiterWorkflow', {
      workflowId: limiterWorkflowId('aistudio', h.taskQueue),
      taskQueue: h.taskQueue,
      args: [{ provider: 'aistudio', capacity: 3, holders: [], waiting: [], expired: 0, reclaimed: 0, signalsPerRun: 4 } satisfies LimiterState],
    });
    const started = await Promise.all(
      Array.from({ length: 15 }, (_, i) => startPipeline(h.client, 'aistudio', job(`turn ${i}`), { taskQueue: h.taskQueue })),
    );
    const results = await Promise.all(started.map((s) => s.handle.result()));
    expect(results.every((r) => r.jobId !== undefined)).toBe(true);

    const end = await waitForLimiter(h, (s) => s.holders.length === 0 && s.waiting.length === 0, 'no holder and no waiter');
    expect(end.granted).toBe(15);
    let runs = 0;
    for await (const _ of h.client.workflow.list({ query: `WorkflowId = '${limiterWorkflowId('aistudio', h.taskQueue)}'` })) runs++;
    // 30 signals (an acquire and a release each) at 4 or more a run: signals that arrive in one workflow
    // task are all taken before the run ends (a fresh clone's CI run saw 4 runs), and the releases come in
    // at least five waves of three. Several runs, so grants crossed continue-as-new more than once.
    expect(runs).toBeGreaterThanOrEqual(3);
  });
});
