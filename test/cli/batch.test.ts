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
