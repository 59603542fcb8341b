import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { startPipeline } from '../../src/client';
import { dublabOutputPlan, sha256Hex, text2videoOutput } from '../../src/sandbox/derive';
import { FAST_POLLING, FAST_TIMINGS, makeFile, startHarness, tempDir, type Harness } from '../support/harness';
import { killed, spawnWorker } from '../support/processes';

/**
 * A deploy loses no work (issue 15, item 4). SIGTERM reaches a worker in the middle of a 200 MiB download
 * and of a long status wait; it stops polling, gives running activities REELAY_SHUTDOWN_GRACE, then
 * cancels the download, which keeps its `.part` file and heartbeated checkpoint. A second worker finishes
 * both runs: the download asks the sandbox's store only for the bytes after the recorded offset
 * (Range + If-Range), and the delivered file's sha256 is exact.
 */
jest.setTimeout(240_000);

const MiB = 1 << 20;
const SOURCE_BYTES = 200 * MiB;

function walk(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

async function until<T>(what: string, f: () => T | undefined, ms = 120_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function sha256OfFile(file: string, prefix: Uint8Array = new Uint8Array()): Promise<string> {
  const hash = createHash('sha256').update(prefix);
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

describe('SIGTERM drains a worker; a second one resumes what it left', () => {
  let h: Harness;
  let dir: string;
  const workers: ChildProcess[] = [];
  beforeAll(async () => {
    // The story's job runs about 24 s (6 stages): still waiting when a busy machine brings the download to 40 MiB.
    h = await startHarness({ timings: { ...FAST_TIMINGS, text2video: { queueMs: 50, stageMs: 4000 } } });
    dir = tempDir('drain');
  });
  afterAll(async () => {
    for (const w of workers) await killed(w);
    await h?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a 200 MiB download resumes from the recorded offset and a status wait goes on, both exact', async () => {
    const source = makeFile(dir, 'keynote.mp4', SOURCE_BYTES);
    // The store sends at 40 MiB/s: the download takes about 5 s, long enough to be interrupted.
    h.sandbox.setFaults({ rules: [{ service: 'store', method: 'GET', faults: { slowDownload: 40 * MiB } }] });
    let log = '';
    const env = { ...h.env, REELAY_SHUTDOWN_GRACE: '1s', REELAY_TEST_TEMPORAL_ADDRESS: process.env.REELAY_TEST_TEMPORAL_ADDRESS, REELAY_TEST_WORKFLOW_BUNDLE: process.env.REELAY_TEST_WORKFLOW_BUNDLE };
    const first = await spawnWorker(env, { onOutput: (t) => (log += t) });
    workers.push(first);

    const dub = await startPipeline(h.client, 'dublab', { source, sourceLanguage: 'en', targetLanguages: ['es'], durationSeconds: 60, outputTypes: ['translated_mp4'], polling: FAST_POLLING }, { taskQueue: h.taskQueue });
    const story = 'A story that outlives its worker.';
    const wait = await startPipeline(h.client, 'text2video', { text: story, polling: FAST_POLLING }, { taskQueue: h.taskQueue });

    // Mid-download: the .part file holds at least 40 MiB.
    const outDir = path.join(h.outputRoot, dub.workflowId);
    const part = await until('the download to be under way', () => walk(outDir).find((f) => f.endsWith('.part') && fs.statSync(f).size >= 40 * MiB));
    const t0 = Date.now();
    first.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => first.once('exit', resolve));
    const drainedMs = Date.now() - t0;
    // It drained and exited by itself (no SIGKILL), within the grace and a margin.
    expect({ code, log: code === 0 ? '' : log }).toEqual({ code: 0, log: '' });
    expect(drainedMs).toBeLessThan(30_000);
    const kept = fs.statSync(part).size;
    expect(kept).toBeGreaterThanOrEqual(40 * MiB);
    expect((await wait.handle.describe()).status.name).toBe('RUNNING');

    h.sandbox.setFaults({});
    const second = await spawnWorker({ ...env, REELAY_SHUTDOWN_GRACE: '3m' }, { onOutput: (t) => (log += t) });
    workers.push(second);
    const [dubbed, told] = await Promise.all([dub.handle.result(), wait.handle.result()]);

    // The second request asked for the rest only, from the byte the first worker's part file ended at.
    const file = dubbed.dubs[0]!.outputs[0]!;
    const key = h.sandbox.served().filter((s) => s.bytes > 0 && s.contentType === 'video/mp4');
    const resumed = key.filter((s) => s.from !== undefined);
    expect(resumed).toHaveLength(1);
    expect(resumed[0]!.from).toBe(kept);
    const plan = dublabOutputPlan('translated_mp4', await sha256OfFile(source), 'es');
    const total = plan.prefix.length + SOURCE_BYTES;
    expect(resumed[0]!.bytes).toBe(total - kept);
    // Bytes sent in all: the whole object once, plus what the first worker received but had not written.
    const sent = key.reduce((n, s) => n + s.bytes, 0);
    expect(sent).toBeLessThan(total + 16 * MiB);

    expect(file.bytes).toBe(total);
    expect(fs.statSync(file.path).size).toBe(total);
    expect(file.sha256).toBe(await sha256OfFile(source, plan.prefix));
    expect(await sha256OfFile(file.path)).toBe(file.sha256);
    expect(fs.existsSync(part)).toBe(false);
    expect(told.output.sha256).toBe(sha256Hex(text2videoOutput(story)));
  });
});
