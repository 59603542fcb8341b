import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { progressQuery, startPipeline } from '../../src/client';
import { buildInput } from '../../src/cli/commands/start';
import { parseJsonOutput, runCli, type CliRun } from '../support/cli';
import { FAST_POLLING, FAST_TIMINGS, makeFile, startHarness, tempDir, type Harness } from '../support/harness';

/**
 * The `reelay` CLI as a user runs it (its refusals of bad flags and inputs are in test/bad-input/cli.test.ts): a real child process (bin/reelay, which loads tsx in-process, and
 * once through `npx tsx src/cli/main.ts`), against the test dev server and this file's own task queue,
 * with the pipelines run by the harness's in-process worker. Child processes start in parallel where the
 * cases are independent: each one costs a second or two of TypeScript loading.
 */

const POLL_FLAGS = ['--poll-initial', String(FAST_POLLING.initialIntervalSeconds), '--poll-max', String(FAST_POLLING.maxIntervalSeconds)];

type Run = CliRun;

describe('reelay CLI', () => {
  let h: Harness;
  let dir: string;
  let video: string;
  let es: string;
  let fr: string;
  let image: string;
  let story: string;

  const run = (args: string[], opts: { command?: string[] } = {}): Promise<Run> => runCli(h, args, opts);
  const json = parseJsonOutput;

  beforeAll(async () => {
    h = await startHarness({ timings: FAST_TIMINGS });
    await h.startWorker();
    dir = tempDir('cli-in');
    video = makeFile(dir, 'talk.mp4', 200_000);
    es = makeFile(dir, 'es.mp3', 20_000);
    fr = makeFile(dir, 'fr.mp3', 30_000);
    image = makeFile(dir, 'cat.png', 5_000);
    story = path.join(dir, 'story.txt');
    fs.writeFileSync(story, 'A fox finds a lantern in the snow and follows its light home.\n');
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
    for (const flag of ['--text-file PATH', '--max-resubmits N', '--image-url URL', '--cfg N', '--camera-motion TEXT', '--reference-image PATH', '--mock-mode', '--output-name FILE']) {
      expect(viaTsx.stdout).toContain(flag);
    }
    for (const pipeline of ['text2video', 'vividflow', 'aistudio']) expect(viaTsx.stdout).toContain(`reelay start ${pipeline} `);
    each.forEach((r, i) => {
      expect({ command: commands[i], code: r.code, stderr: r.stderr }).toEqual({ command: commands[i], code: 0, stderr: '' });
      expect(r.stdout).toContain(`reelay ${commands[i]}`);
      expect(r.stdout).toContain('--help');
    });
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

  describe('with finished generation pipelines (text2video, vividflow, aistudio)', () => {
    type Done = { workflowId: string; status: string; outputs: Array<{ label: string; path: string; bytes: number; sha256: string; providerUrl?: string }>; result: Record<string, unknown> };
    const done: Record<'text2video' | 'vividflow' | 'veo' | 'aistudio', Done> = {} as never;

    beforeAll(async () => {
      const starts = {
        text2video: ['start', 'text2video', '--text-file', story, '--max-resubmits', '1', '--output-name', 'fox.mp4'],
        vividflow: ['start', 'vividflow', '--prompt', 'The cat turns its head', '--image', image, '--cfg', '9.5', '--width', '640', '--height', '360', '--length', '49', '--steps', '12', '--seed', '3', '--negative-prompt', 'blur', '--output-name', 'cat.mp4'],
        veo: ['start', 'vividflow', '--prompt', 'Waves roll in', '--image-url', 'gs://bucket/beach.png', '--model', 'veo3.1', '--duration', '6', '--resolution', '1080p', '--camera-motion', 'Pan (right)', '--subject-animation', 'none', '--environmental-animation', 'spray', '--enhance-prompt'],
        aistudio: ['start', 'aistudio', '--prompt', 'A paper boat on a rainy street', '--mock-mode', '--duration', '8', '--aspect-ratio', '9:16', '--resolution', '1080p', '--generate-audio', '--initial-image', image, '--end-frame', image, '--reference-image', image, '--reference-image', image, '--reference-image', image],
      };
      const names = Object.keys(starts) as Array<keyof typeof starts>;
      const results = await Promise.all(names.map((n) => run([...starts[n], ...POLL_FLAGS, '--wait', '--json'])));
      results.forEach((r, i) => {
        expect({ name: names[i], code: r.code, stderr: r.stderr }).toEqual({ name: names[i], code: 0, stderr: '' });
        done[names[i]!] = json<Done>(r);
      });
    });

    it('start --wait --json completes each with its one output on disk', () => {
      expect(done.text2video.workflowId).toMatch(/^text2video-a-fox-finds-/);
      expect(done.vividflow.workflowId).toMatch(/^vividflow-the-cat-turns-/);
      expect(done.aistudio.workflowId).toMatch(/^aistudio-a-paper-boat-/);
      for (const [name, d] of Object.entries(done)) {
        expect({ name, status: d.status, outputs: d.outputs.length }).toEqual({ name, status: 'COMPLETED', outputs: 1 });
        const [o] = d.outputs;
        expect(o!.label).toBe('video');
        expect(o!.path.startsWith(h.outputRoot)).toBe(true);
        expect(o!.providerUrl).toMatch(/^https?:\/\//);
        const bytes = fs.readFileSync(o!.path);
        expect(bytes.length).toBe(o!.bytes);
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(o!.sha256);
        expect(d.result.jobId).toEqual(expect.any(String));
      }
      expect(path.basename(done.text2video.outputs[0]!.path)).toBe('fox.mp4');
      expect(path.basename(done.vividflow.outputs[0]!.path)).toBe('cat.mp4');
      expect(path.basename(done.aistudio.outputs[0]!.path)).toBe('video.mp4');
      expect(done.text2video.result.resubmits).toBe(0);
      expect(done.aistudio.result.slotWaits).toBe(0);
    });

    it('sends each flag to the provider as the field it names (the sandbox writes what it received into the video)', () => {
      const delivered = (d: Done) => fs.readFileSync(d.outputs[0]!.path, 'utf8');
      expect(delivered(done.text2video)).toContain('A fox finds a lantern in the snow and follows its light home.');
      const wan = delivered(done.vividflow);
      expect(wan).toContain(`image_sha256=${createHash('sha256').update(fs.readFileSync(image)).digest('hex')}`);
      for (const line of ['cfg="9.5"', 'width="640"', 'height="360"', 'length="49"', 'steps="12"', 'seed="3"', 'negative_prompt="blur"']) expect(wan).toContain(line);
      const veo = delivered(done.veo);
      expect(veo).toContain('image_url=gs://bucket/beach.png');
      for (const line of ['model="veo3.1"', 'duration_seconds="6"', 'resolution="1080p"', 'camera_motion="Pan (right)"', 'subject_animation="none"', 'environmental_animation="spray"', 'enhance_prompt="true"']) {
        expect(veo).toContain(line);
      }
      const studio = delivered(done.aistudio);
      expect(studio).toMatch(/^REELAY-SANDBOX aistudio model=veo-3\.1-fast-generate-preview resolution=1080p aspectRatio=9:16 durationSeconds=8 /);
      for (const line of ['mockMode="true"', 'generateAudio="true"', 'file initialImage sha256=', 'file endFrame sha256=', 'file referenceImages[2] sha256=']) expect(studio).toContain(line);
    });

    it('status, list and watch render them', async () => {
      const [status, human, listed, watched] = await Promise.all([
        run(['status', done.vividflow.workflowId, '--json']),
        run(['status', done.aistudio.workflowId]),
        run(['list', '--provider', 'text2video', '--task-queue', h.taskQueue, '--json']),
        run(['watch', done.text2video.workflowId]),
      ]);
      const s = json<{ status: string; type: string; provider: string; outputs: Array<{ path: string; sha256: string }>; progress: { percent: number } }>(status);
      expect(status.code).toBe(0);
      expect(s).toMatchObject({ status: 'COMPLETED', type: 'vividflowPipeline', provider: 'vividflow' });
      expect(s.progress.percent).toBe(100);
      expect(s.outputs).toEqual([expect.objectContaining({ path: done.vividflow.outputs[0]!.path, sha256: done.vividflow.outputs[0]!.sha256 })]);

      expect(human.code).toBe(0);
      expect(human.stdout).toContain(`${done.aistudio.workflowId}  COMPLETED`);
      expect(human.stdout).toMatch(/Result: +jobId=\S+.*slotWaits=0/);
      expect(human.stdout).toContain(done.aistudio.outputs[0]!.path);
      expect(human.stdout).toContain(done.aistudio.outputs[0]!.sha256);
      expect(human.stdout).toContain('served by the provider at http');

      const rows = json<Array<{ workflowId: string; type: string; status: string }>>(listed);
      expect(rows).toEqual([expect.objectContaining({ workflowId: done.text2video.workflowId, type: 'text2videoPipeline', status: 'COMPLETED' })]);

      expect(watched.code).toBe(0);
      expect(watched.stdout).toContain(`${done.text2video.workflowId} COMPLETED`);
      expect(watched.stdout).toContain(done.text2video.outputs[0]!.path);
    });
  });

  it('maps the flags of the new pipelines onto the input, over an --input file', () => {
    const file = path.join(dir, 'vivid.json');
    fs.writeFileSync(file, JSON.stringify({ prompt: 'from file', imageUrl: 'gs://b/x.png', cfg: 3, polling: { backoffCoefficient: 2 } }));
    expect(buildInput('vividflow', { input: file, image: './cat.png', cfg: '9', 'enhance-prompt': true, 'poll-max': '4' })).toEqual({
      prompt: 'from file',
      imagePath: './cat.png',
      cfg: 9,
      enhancePrompt: true,
      polling: { backoffCoefficient: 2, maxIntervalSeconds: 4 },
    });
    expect(buildInput('aistudio', { prompt: 'p', 'mock-mode': true, 'generate-audio': true, duration: '4', 'reference-image': ['a.png', 'b.png'], 'aspect-ratio': '9:16', 'output-name': 'x.mp4' })).toEqual({
      prompt: 'p',
      mockMode: true,
      generateAudio: true,
      durationSeconds: 4,
      referenceImages: ['a.png', 'b.png'],
      aspectRatio: '9:16',
      outputName: 'x.mp4',
    });
    expect(buildInput('text2video', { 'text-file': story, 'max-resubmits': '2' })).toEqual({ text: fs.readFileSync(story, 'utf8'), maxResubmits: 2 });
    expect(buildInput('localize', { source: 'talk.mp4', 'source-lang': 'en', 'target-lang': ['es,de', 'ja'], duration: '30', 'no-subtitles': true })).toEqual({
      source: 'talk.mp4',
      sourceLanguage: 'en',
      targetLanguages: ['es', 'de', 'ja'],
      durationSeconds: 30,
      subtitles: false,
    });
    expect(() => buildInput('localize', { prompt: 'p' })).toThrow('--prompt is not an option of localize pipelines');
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
