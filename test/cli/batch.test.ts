import fs from 'node:fs';
import path from 'node:path';
import { parseJsonOutput, runCli } from '../support/cli';
import { FAST_POLLING, startHarness, tempDir, type Harness } from '../support/harness';

describe('reelay batch', () => {
  let h: Harness;
  let dir: string;
  beforeAll(async () => {
    h = await startHarness({ timings: { text2video: { queueMs: 10, stageMs: 10 } } });
    await h.startWorker();
    dir = tempDir('cli-batch');
  });
  afterAll(async () => {
    await h.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a manifest with bad lines, listing every one with its number and reason, and starts nothing', async () => {
    const file = path.join(dir, 'bad.jsonl');
    fs.writeFileSync(
      file,
      [
        JSON.stringify({ pipeline: 'text2video', input: { text: 'fine' } }),
        JSON.stringify({ pipeline: 'text2video', input: { text: '' } }),
        '{not json',
        JSON.stringify({ pipeline: 'bogus', input: {} }),
      ].join('\n') + '\n',
    );
    const r = await runCli(h, ['batch', 'run', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/line 2: input\.text: must not be empty/);
    expect(r.stderr).toMatch(/line 3: /);
    expect(r.stderr).toMatch(/line 4: pipeline: "bogus"/);
    expect(r.stderr).not.toMatch(/line 1:/);
    expect(h.sandbox.counters()).toEqual({});
  });

  it('runs a manifest, and reports it with batch status --json', async () => {
    const file = path.join(dir, 'good.jsonl');
    fs.writeFileSync(file, [1, 2, 3].map((n) => JSON.stringify({ pipeline: 'text2video', input: { text: `Story ${n}`, polling: FAST_POLLING } })).join('\n') + '\n');
    const started = await runCli(h, ['batch', 'run', file, '--window', '2', '--key', 'cli-good', '--watch', '--json']);
    expect(started.code).toBe(0);
    const status = await runCli(h, ['batch', 'status', 'batch-cli-good', '--json']);
    expect(status.code).toBe(0);
    const report = parseJsonOutput<{ status: string; result: { succeeded: number; total: number; failed: number } }>(status);
    expect(report.status).toBe('COMPLETED');
    expect(report.result).toMatchObject({ succeeded: 3, total: 3, failed: 0 });
  });
});
