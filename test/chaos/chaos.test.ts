import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from '../support/harness';

const ROOT = path.resolve(__dirname, '../..');

/**
 * The chaos run's small profile (npm run chaos -- --profile ci): 25 pipelines under injected 5xx, 429 and
 * lost answers, 503s and slow part uploads at the object store, a worker SIGKILL and a dev-server restart. It runs its own dev server, object store, sandbox and worker
 * process; this test checks its verdict and that the faults and events really happened.
 */
describe('chaos run (ci profile)', () => {
  it('finishes every pipeline or fails it with a reason, with no duplicate billable create and every output object verified under store faults', () => {
    const dir = tempDir('chaos');
    const report = path.join(dir, 'chaos.json');
    const run = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/chaos.ts'), '--profile', 'ci', '--json', report], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 13 * 60_000,
    });
    const summary = run.stdout.trim().split('\n').at(-1) ?? '';
    expect({ status: run.status, summary, stderrTail: run.status === 0 ? '' : run.stderr.slice(-3000) }).toMatchObject({ status: 0 });
    expect(summary).toMatch(/^chaos PASS: 25 pipelines/);
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
    };
    expect(r).toMatchObject({ ok: true, unclear: [], stuck: [], duplicates: [], badFiles: [] });
    expect(r.completed + r.failed).toBe(25);
    expect(r.files).toBeGreaterThan(0);
    expect(r.kills).toBeGreaterThanOrEqual(1);
    expect(r.serverRestarts).toBe(1);
    // The faults were really injected.
    expect(r.faults.serverError).toBeGreaterThan(0);
    expect(r.faults.rateLimit).toBeGreaterThan(0);
    // Outputs went to the object store through the store fault proxy: 503s and slow part uploads, none lost.
    expect(r.store).not.toBeNull();
    expect(r.store!.faults.partServerError).toBeGreaterThan(0);
    expect(r.store!.faults.partSlow).toBeGreaterThan(0);
    expect(r.store!.incompleteUploads).toEqual([]);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 14 * 60_000);
});
