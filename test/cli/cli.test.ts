import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { progressQuery, startPipeline } from '../../src/client';
import { FAST_POLLING, makeFile, startHarness, tempDir, temporalAddress, type Harness } from '../support/harness';

/**
 * The `reelay` CLI as a user runs it: a real child process (bin/reelay, which loads tsx in-process, and
 * once through `npx tsx src/cli/main.ts`), against the test dev server and this file's own task queue,
 * with the pipelines run by the harness's in-process worker. Child processes start in parallel where the
 * cases are independent: each one costs a second or two of TypeScript loading.
 */

const ROOT = path.resolve(__dirname, '../..');
const BIN = path.join(ROOT, 'bin', 'reelay');
const FAST_TIMINGS = {
  lipdub: { shotMs: 150, trainingMs: 150, generateQueueMs: 50, generateMs: 150 },
  dublab: { queueMs: 50, processMs: 150 },
};
const POLL_FLAGS = ['--poll-initial', String(FAST_POLLING.initialIntervalSeconds), '--poll-max', String(FAST_POLLING.maxIntervalSeconds)];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('reelay CLI', () => {
  let h: Harness;
  let dir: string;
  let video: string;
  let es: string;
  let fr: string;

  function run(args: string[], { command = [process.execPath, BIN] } = {}): Promise<Run> {
    return new Promise((resolve, reject) => {
      const child = spawn(command[0]!, [...command.slice(1), ...args], {
        cwd: ROOT,
        env: {
          ...process.env,
          TEMPORAL_ADDRESS: temporalAddress(),
          TEMPORAL_NAMESPACE: 'default',
          REELAY_TASK_QUEUE: h.taskQueue,
          REELAY_OUTPUT_DIR: h.outputRoot,
          NO_COLOR: '1',
          REELAY_DEBUG: '',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  const json = <T = Record<string, unknown>>(r: Run): T => {
    try {
      return JSON.parse(r.stdout) as T;
    } catch {
      throw new Error(`stdout is not JSON (exit ${r.code}):\n${r.stdout}\nstderr:\n${r.stderr}`);
    }
  };

  beforeAll(async () => {
    h = await startHarness({ timings: FAST_TIMINGS });
    await h.startWorker();
    dir = tempDir('cli-in');
    video = makeFile(dir, 'talk.mp4', 200_000);
    es = makeFile(dir, 'es.mp3', 20_000);
    fr = makeFile(dir, 'fr.mp3', 30_000);
  });
  afterAll(async () => {
    await h?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers --help for every command with exit 0', async () => {
    const commands = ['start', 'status', 'watch', 'list', 'cancel', 'worker', 'sandbox', 'dev'];
    const [top, viaTsx, ...each] = await Promise.all([
      run(['--help']),
      run(['start', '--help'], { command: ['npx', 'tsx', 'src/cli/main.ts'] }),
      ...commands.map((c) => run([c, '--help'])),
    ]);
    expect(top.code).toBe(0);
    for (const c of commands) expect(top.stdout).toContain(c);
    expect(viaTsx.code).toBe(0);
    expect(viaTsx.stdout).toContain('--audio LANG=PATH|URL');
    each.forEach((r, i) => {
      expect({ command: commands[i], code: r.code, stderr: r.stderr }).toEqual({ command: commands[i], code: 0, stderr: '' });
      expect(r.stdout).toContain(`reelay ${commands[i]}`);
      expect(r.stdout).toContain('--help');
    });
  });

  it('refuses bad input with exit 2, one line naming the field, and starts nothing', async () => {
    const traversal = path.join(dir, 'traversal.json');
    fs.writeFileSync(traversal, JSON.stringify({ video, audios: [{ source: es, language: 'es', outputName: '../../etc/passwd' }] }));
    const cases: Array<[string, string[], RegExp]> = [
      ['missing file', ['start', 'lipdub', '--video', path.join(dir, 'nope.mp4'), '--audio', `es=${es}`], /input\.video: .*nope\.mp4 does not exist/],
      ['bad language', ['start', 'lipdub', '--video', video, '--audio', `xx-ZZ=${es}`], /input\.audios\.0\.language: .*"xx"/],
      ['traversal in output name', ['start', 'lipdub', '--input', traversal], /input\.audios\.0\.outputName: must be a file name/],
      ['both video and shot id', ['start', 'lipdub', '--video', video, '--shot-id', '12', '--audio', `es=${es}`], /input\.video: give exactly one of video or shotId/],
      ['source among targets', ['start', 'dublab', '--source', video, '--source-lang', 'en', '--target-lang', 'es,en', '--duration', '3'], /input\.targetLanguages: must not include the source language/],
      ['malformed flag', ['start', 'lipdub', '--video', video, '--audio', 'es'], /--audio: expected LANG=PATH\|URL/],
    ];
    const results = await Promise.all(cases.map(([, args]) => run([...args, '--wait'])));
    results.forEach((r, i) => {
      const [name, , pattern] = cases[i]!;
      expect({ name, code: r.code }).toEqual({ name, code: 2 });
      expect(r.stderr).toMatch(pattern);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stdout).toBe('');
    });

    const started = [];
    for await (const wf of h.client.workflow.list({ query: `TaskQueue = '${h.taskQueue}'` })) started.push(wf.workflowId);
    expect(started).toEqual([]);
    expect(Object.values(h.sandbox.counters()).reduce((a, b) => a + b, 0)).toBe(0);
  });

  describe('with finished pipelines', () => {
    let lipdub: { workflowId: string; status: string; outputs: Array<{ label: string; path: string; bytes: number; sha256: string }> };

    beforeAll(async () => {
      const [l, d] = await Promise.all([
        run(['start', 'lipdub', '--video', video, '--audio', `es-MX=${es}`, '--audio', `fr-FR=${fr}`, '--no-maintain-expression', ...POLL_FLAGS, '--wait', '--json']),
        run(['start', 'dublab', '--source', video, '--source-lang', 'en', '--target-lang', 'es,de', '--duration', '4', '--output-type', 'translated_mp4', '--output-type', 'translated_subtitle', ...POLL_FLAGS, '--wait', '--json']),
      ]);
      lipdub = json(l);
      expect({ code: l.code, stderr: l.stderr }).toEqual({ code: 0, stderr: '' });
      const dublab = json<{ status: string; outputs: unknown[] }>(d);
      expect(d.code).toBe(0);
      expect(dublab.status).toBe('COMPLETED');
      expect(dublab.outputs).toHaveLength(4);
    });

    it('start --wait --json completes and prints each output with its size and sha256', () => {
      expect(lipdub.workflowId).toMatch(/^lipdub-talk-/);
      expect(lipdub.status).toBe('COMPLETED');
      expect(lipdub.outputs.map((o) => o.label).sort()).toEqual(['es-MX', 'fr-FR']);
      for (const o of lipdub.outputs) {
        expect(o.path.startsWith(h.outputRoot)).toBe(true);
        const bytes = fs.readFileSync(o.path);
        expect(bytes.length).toBe(o.bytes);
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(o.sha256);
      }
    });

    it('status --json, list --json and watch report the completed pipeline', async () => {
      const [status, listed, watched] = await Promise.all([
        run(['status', lipdub.workflowId, '--json']),
        run(['list', '--provider', 'lipdub', '--status', 'completed', '--task-queue', h.taskQueue, '--json']),
        run(['watch', lipdub.workflowId]),
      ]);
      const s = json<{ status: string; type: string; provider: string; progress: { stage: string; percent: number; providerIds: Record<string, string> }; outputs: Array<{ path: string }> }>(status);
      expect(status.code).toBe(0);
      expect(s.status).toBe('COMPLETED');
      expect(s.type).toBe('lipdubPipeline');
      expect(s.provider).toBe('lipdub');
      expect(s.progress.stage).toBe('completed');
      expect(s.progress.percent).toBe(100);
      expect(s.progress.providerIds.shotId).toMatch(/\d+/);
      expect(s.outputs.map((o) => o.path).sort()).toEqual(lipdub.outputs.map((o) => o.path).sort());

      const rows = json<Array<{ workflowId: string; status: string; type: string; summary?: string }>>(listed);
      expect(listed.code).toBe(0);
      expect(rows.map((r) => r.workflowId)).toEqual([lipdub.workflowId]);
      expect(rows[0]).toMatchObject({ status: 'COMPLETED', type: 'lipdubPipeline' });
      expect(rows[0]!.summary).toContain('es-MX, fr-FR');

      expect(watched.code).toBe(0);
      expect(watched.stdout).toContain(`${lipdub.workflowId} COMPLETED`);
      expect(watched.stdout).toContain('100%');
    });
  });

  it('cancel --wait stops a running pipeline and says what was left at the provider', async () => {
    h.sandbox.configure({ timings: { lipdub: { shotMs: 120_000 } } });
    try {
      const started = await startPipeline(h.client, 'lipdub', { video, audios: [{ source: es, language: 'es' }], polling: FAST_POLLING }, { taskQueue: h.taskQueue });
      for (let i = 0; i < 100; i++) {
        const p = await started.handle.query(progressQuery).catch(() => undefined);
        if (p?.stage === 'waiting-for-shot') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const r = await run(['cancel', started.workflowId, '--wait', '--json']);
      const out = json<{ status: string; leftAtProvider: string[] }>(r);
      expect(r.code).toBe(0);
      expect(out.status).toBe('CANCELLED');
      expect(out.leftAtProvider.join(' ')).toMatch(/^shot \d+/);
      expect((await started.handle.describe()).status.name).toBe('CANCELLED');

      const again = await run(['cancel', started.workflowId]);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/not running \(it is CANCELLED\)/);
    } finally {
      h.sandbox.configure({ timings: FAST_TIMINGS });
    }
  });
});
