import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from '../support/harness';

const ROOT = path.resolve(__dirname, '../..');

/**
 * The chaos run's small profile (npm run chaos -- --profile ci): 25 pipelines under injected 5xx, 429 and
 * lost answers, 503s and slow part uploads at the object store, a worker SIGKILL and a dev-server restart,
 * 4 cancels aimed at different stages, a terminate, a SIGTERM deploy, a 15 s partition between the worker
 * and the server, a full tmpfs output disk and provider clocks ±30 s off. It runs its own dev server,
 * object store, sandbox and worker processes; this test checks its verdict and that the faults and events
 * really happened.
 */
describe('chaos run (ci profile)', () => {
  it('finishes every pipeline or fails it with a reason, with no duplicate billable create, every output verified, cancelled runs reporting what the provider still runs, and no slot left with a closed run', () => {
    const dir = tempDir('chaos');
    const report = path.join(dir, 'chaos.json');
    const run = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/chaos.ts'), '--profile', 'ci', '--json', report], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 15 * 60_000,
    });
    const summary = run.stdout.trim().split('\n').at(-1) ?? '';
    // On failure, the verdict and the end of the run's log say why (a toMatchObject diff would show only the status).
    if (run.status !== 0) throw new Error(`chaos exited ${run.status ?? run.signal}: ${summary}\n${run.stderr.slice(-3000)}`);
    expect(summary).toMatch(/^chaos PASS: 25 pipelines, .* cancelled of \d+ aimed .* terminated of \d+ aimed .*, 0 slots held by closed runs .* SIGTERM deploys 1 .* partition \d+ s, .*clock skew ±30 s; highest activity attempt \d+ \(\w+\); \d+ s$/);
    const r = JSON.parse(fs.readFileSync(report, 'utf8')) as {
      ok: boolean;
      completed: number;
      failed: number;
      unclear: unknown[];
      stuck: unknown[];
      duplicates: string[];
      badFiles: unknown[];
      files: number;
      faults: Record<string, number>;
      store: { faults: { partServerError: number; partSlow: number; writeServerError: number }; incompleteUploads: string[] } | null;
      kills: number;
      serverRestarts: number;
      cancelled: number;
      cancels: { sent: number; checks: Array<{ ok: boolean; status: string }>; mismatches: unknown[] };
      terminated: Array<{ status: string; jobs: unknown[] }>;
      limiters: Array<{ workflowId: string; reclaimed: number }>;
      slotsHeldByClosed: string[];
      deploys: { count: number; drained: Array<{ code: number | null }> };
      partition: { seconds: number; cuts: number; refusedConnections: number };
      disk: { mounted: boolean; skip: string | null; filled: boolean; enospcInWorkerLog: number } | null;
      attempts: { max: { attempt: number; activityType: string } };
      outcomes: Array<{ status: string }>;
    };
    expect(r).toMatchObject({ ok: true, unclear: [], stuck: [], duplicates: [], badFiles: [] });
    const ended = (status: string) => r.outcomes.filter((o) => o.status === status).length;
    expect(r.completed + r.failed + ended('cancelled') + ended('terminated')).toBe(25);
    expect(r.files).toBeGreaterThan(0);
    expect(r.kills).toBeGreaterThanOrEqual(1);
    expect(r.serverRestarts).toBe(1);
    // Cancels: at least the one right after the start happened; every cancelled run's report matched the sandbox.
    expect(r.cancelled).toBeGreaterThanOrEqual(1);
    expect(r.cancels.checks.length).toBe(r.cancels.sent);
    expect(r.cancels.mismatches).toEqual([]);
    expect(r.cancels.checks.filter((c) => c.status === 'CANCELLED').every((c) => c.ok)).toBe(true);
    // Terminated runs' provider jobs are listed, and no limiter holds a slot for a closed run.
    // A run terminated while it waited at the provider had made a job there, which the ledger lists.
    expect(r.terminated.filter((t) => t.status === 'TERMINATED').every((t) => t.jobs.length > 0)).toBe(true);
    expect(r.limiters.length).toBeGreaterThan(0);
    expect(r.slotsHeldByClosed).toEqual([]);
    // The deploy: SIGTERM while transfers ran, and the old worker drained and exited 0.
    expect(r.deploys.count).toBe(1);
    expect(r.deploys.drained).toEqual([expect.objectContaining({ code: 0 })]);
    // The partition was cut and restored, and the worker's reconnects were refused meanwhile.
    expect(r.partition.cuts).toBe(1);
    expect(r.partition.seconds).toBeGreaterThanOrEqual(15);
    expect(r.partition.refusedConnections).toBeGreaterThan(0);
    // The full disk: filled, and downloads failed on it (or the mount was refused, and said so).
    expect(r.disk).not.toBeNull();
    if (r.disk!.mounted) {
      expect(r.disk!.filled).toBe(true);
      expect(r.disk!.enospcInWorkerLog).toBeGreaterThan(0);
    } else expect(r.disk!.skip).toMatch(/mount/);
    expect(r.attempts.max.attempt).toBeGreaterThan(1);
    // The faults were really injected.
    expect(r.faults.serverError).toBeGreaterThan(0);
    expect(r.faults.rateLimit).toBeGreaterThan(0);
    // Outputs went to the object store through the store fault proxy: 503s and slow part uploads, none lost.
    expect(r.store).not.toBeNull();
    expect(r.store!.faults.partServerError).toBeGreaterThan(0);
    expect(r.store!.faults.partSlow).toBeGreaterThan(0);
    expect(r.store!.incompleteUploads).toEqual([]);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 16 * 60_000);
});
