import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startPipeline } from '../../src/client';
import { loadConfig } from '../../src/config';
import { startDashboard, type Dashboard } from '../../src/dashboard/server';
import { ensureChromium } from '../../src/dev/chromium';
import { freePort } from '../../src/dev/temporal';
import { batchProgressQuery } from '../../src/pipelines/batch/signals';
import { startBatch } from '../../src/pipelines/batch/start';
import type { batchPipeline } from '../../src/pipelines/batch/workflow';
import { BIN, ROOT, runProcess } from '../support/cli';
import { FAST_POLLING, FAST_TIMINGS, startHarness, tempDir, temporalAddress, testClient, waitForProgress, type Harness } from '../support/harness';
import { killed } from '../support/processes';

/** Screenshots of each page, kept as test artefacts (docs/images/ has two of them, for the README). */
const SHOTS = path.join(ROOT, '.reelay', 'screenshots');
const FIXTURES = path.join(ROOT, 'test', 'fixtures');
/** What the test reads of a <video> in the page (the project compiles without the DOM library). */
interface VideoElement {
  muted: boolean;
  readonly duration: number;
  readonly currentTime: number;
  readonly readyState: number;
  readonly error: { code: number; message: string } | null;
  play(): Promise<void>;
  pause(): void;
  addEventListener(type: string, listener: () => void, opts?: { once?: boolean }): void;
}

const STACK_TRACE = /\bat [\w.<>]+ \(|\.ts:\d+:\d+/;

/** A GET sent exactly as written (fetch and browsers fold "..": this does not). */
function rawGet(url: string, pathname: string): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: pathname, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await read();
    if (ok(last)) return last;
    if (Date.now() > deadline) throw new Error(`${what}: never reached; last ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('reelay dashboard, driven in headless Chromium against the dev server and the sandbox', () => {
  let h: Harness;
  let dash: Dashboard;
  let browser: Browser;
  let page: Page;
  let inputs: string;

  beforeAll(async () => {
    const binary = ensureChromium({ log: (l) => console.log(l) });
    h = await startHarness({ timings: FAST_TIMINGS });
    await h.startWorker();
    dash = await startDashboard({ client: h.client, storage: loadConfig(h.env).storage, port: 0, taskQueue: h.taskQueue, log: () => undefined });
    browser = await chromium.launch({ executablePath: binary.path, args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    fs.mkdirSync(SHOTS, { recursive: true });
    inputs = tempDir('dash-in');
  });
  afterAll(async () => {
    await browser?.close();
    await dash?.close();
    await h?.close();
    if (inputs) fs.rmSync(inputs, { recursive: true, force: true });
  });

  it('lists a running pipeline whose bar advances without a reload, and its Current Details read as lines', async () => {
    h.sandbox.configure({ timings: { text2video: { queueMs: 300, stageMs: 900 } } });
    try {
      const started = await startPipeline(h.client, 'text2video', { text: 'A lighthouse keeper finds a message in a bottle', polling: FAST_POLLING }, { taskQueue: h.taskQueue });
      await waitForProgress(started.handle, (p) => p.percent > 0 && p.percent < 60);
      await page.goto(`${dash.url}/?queue=${encodeURIComponent(h.taskQueue)}`);
      const row = page.locator(`tr[data-workflow-id="${started.workflowId}"]`);
      const percent = async () => Number(await row.locator('progress').getAttribute('value'));
      const first = await percent();
      expect(await row.locator('td[data-label="Pipeline"]').innerText()).toBe('text2videoPipeline');
      expect(await row.locator('td[data-label="Summary"]').innerText()).toMatch(/lighthouse keeper/);
      expect(await row.locator('td[data-label="Status"]').innerText()).toBe('Running');
      await page.screenshot({ path: path.join(SHOTS, 'runs.png') });
      // The page's own script re-fetches the table from the dashboard: no reload here.
      const later = await until('the bar to advance', percent, (p) => p > first, 20_000);
      expect(later).toBeGreaterThan(first);
      const mobile = await browser.newPage({ viewport: { width: 390, height: 844 } });
      await mobile.goto(page.url());
      await mobile.screenshot({ path: path.join(SHOTS, 'runs-phone.png'), fullPage: true });
      await mobile.close();

      // The Temporal UI's Current Details: markdown whose facts are list items, one a line.
      const meta = (await started.handle.query('__temporal_workflow_metadata')) as { currentDetails?: string };
      expect(meta.currentDetails).toMatch(/^\*\*text2video: .*\*\*\n\n- \*\*Stage:\*\* [a-z-]+ \(\d+%\)\n- \*\*Provider ids:\*\* /);
      const { jobId } = await started.handle.result();

      // Search by the provider's job id (the ReelayJobIds search attribute), as support would paste it.
      const search = (id: string) => fetch(`${dash.url}/?queue=${encodeURIComponent(h.taskQueue)}&jobId=${encodeURIComponent(id)}`).then((r) => r.text());
      await until('the job id search to find the run', () => search(jobId), (t) => t.includes(started.workflowId), 10_000);
      expect(await search('no-such-job-id')).toContain('No Reelay runs match.');
    } finally {
      h.sandbox.configure({ timings: FAST_TIMINGS });
    }
  });

  it('plays a completed LipDub run\'s video from the output directory, with its log and a link to the Temporal UI', async () => {
    const video = path.join(inputs, 'talk.mp4');
    const audio = path.join(inputs, 'es.ogg');
    fs.copyFileSync(path.join(FIXTURES, 'clip.mp4'), video);
    fs.copyFileSync(path.join(FIXTURES, 'voice.ogg'), audio);
    const started = await startPipeline(h.client, 'lipdub', { video, audios: [{ source: audio, language: 'es' }], polling: FAST_POLLING }, { taskQueue: h.taskQueue });
    const result = await started.handle.result();
    expect(result.outputs[0]!.path.startsWith(h.outputRoot)).toBe(true);

    await page.goto(`${dash.url}/runs/${encodeURIComponent(started.workflowId)}`);
    expect(await page.locator('h1').innerText()).toBe(started.workflowId);
    const player = page.locator('video').first();
    expect(await player.getAttribute('src')).toBe(`/runs/${encodeURIComponent(started.workflowId)}/outputs/0`);
    const played = await player.evaluate(
      (v: VideoElement) =>
        new Promise<{ duration: number; currentTime: number; error?: string }>((resolve) => {
          const fail = () => resolve({ duration: NaN, currentTime: 0, error: `${v.error?.code} ${v.error?.message}` });
          v.addEventListener('error', fail);
          v.muted = true;
          const go = () =>
            v.play().then(
              () => {
                // Playing means the clock moves: wait (up to 5 s, a busy machine) until it has.
                const started = Date.now();
                const check = () => (v.currentTime > 0 || Date.now() - started > 5000 ? resolve({ duration: v.duration, currentTime: v.currentTime }) : setTimeout(check, 100));
                check();
              },
              (e: Error) => resolve({ duration: v.duration, currentTime: v.currentTime, error: e.message }),
            );
          if (v.readyState >= 1) void go();
          else v.addEventListener('loadedmetadata', () => void go(), { once: true });
        }),
    );
    expect(played.error).toBeUndefined();
    expect(played.duration).toBeGreaterThan(1.5);
    expect(played.duration).toBeLessThan(2.5);
    expect(played.currentTime).toBeGreaterThan(0);
    await player.evaluate((v: VideoElement) => v.pause());
    expect(await page.locator('pre.log').innerText()).toMatch(/\S/);
    expect(await page.locator('a', { hasText: 'event history of this run' }).getAttribute('href')).toMatch(new RegExp(`/workflows/${started.workflowId}/`));
    expect(await page.locator('ol.timeline li').count()).toBeGreaterThan(2);
    await page.screenshot({ path: path.join(SHOTS, 'run.png'), fullPage: true });

    // A range request (what a player seeks with) gets those bytes of the delivered file.
    const res = await fetch(`${dash.url}/runs/${encodeURIComponent(started.workflowId)}/outputs/0`, { headers: { range: 'bytes=0-7' } });
    expect(res.status).toBe(206);
    expect(Buffer.from(await res.arrayBuffer()).subarray(4, 8).toString('latin1')).toBe('free');
  });

  it('plays a localize run\'s lip-synced video with its DubLab subtitles as a track', async () => {
    const video = path.join(inputs, 'keynote.mp4');
    fs.copyFileSync(path.join(FIXTURES, 'clip.mp4'), video);
    const started = await startPipeline(h.client, 'localize', { source: video, sourceLanguage: 'en', targetLanguages: ['es'], durationSeconds: 2, polling: FAST_POLLING }, { taskQueue: h.taskQueue });
    await started.handle.result();
    await page.goto(`${dash.url}/runs/${encodeURIComponent(started.workflowId)}`);
    const player = page.locator('video').first();
    const track = player.locator('track');
    expect(await track.getAttribute('srclang')).toBe('es');
    expect(await track.getAttribute('src')).toMatch(/\/outputs\/\d+\?as=vtt$/);
    expect(await page.locator('audio').count()).toBe(1); // the dubbed audio, playable on its own
    // The browser itself parses the track the dashboard serves: its cue is the sandbox's Spanish line.
    const cues = await player.evaluate(
      (v: { textTracks: ArrayLike<{ mode: string; cues: ArrayLike<{ text: string }> | null }> }) =>
        new Promise<string[]>((resolve) => {
          const t = v.textTracks[0]!;
          t.mode = 'showing';
          const started = Date.now();
          const check = () => (t.cues?.length || Date.now() - started > 5000 ? resolve(Array.from(t.cues ?? [], (c) => c.text)) : setTimeout(check, 100));
          check();
        }),
    );
    expect(cues).toEqual(['[es] Sandbox subtitles in es']);
  });

  it('pauses and resumes a batch from its page, each behind a confirmation', async () => {
    h.sandbox.configure({ timings: { text2video: { queueMs: 0, stageMs: 250 } } });
    try {
      const manifest = path.join(inputs, 'batch.jsonl');
      fs.writeFileSync(manifest, Array.from({ length: 6 }, (_, i) => JSON.stringify({ pipeline: 'text2video', input: { text: `batch story ${i}`, polling: FAST_POLLING } })).join('\n') + '\n');
      const started = await startBatch(h.client, manifest, { taskQueue: h.taskQueue, outputRoot: h.outputRoot, window: 2 });
      await page.goto(`${dash.url}/batches/${encodeURIComponent(started.batchId)}`);
      await page.getByRole('link', { name: 'Pause' }).click();
      expect(await page.locator('h1').innerText()).toBe(`Pause: ${started.batchId}?`);
      await page.getByRole('button', { name: 'Pause' }).click();
      await page.waitForURL(/\?done=pause$/);
      const paused = await until('the batch to pause', () => started.handle.query(batchProgressQuery), (p) => p.paused && p.running === 0);
      expect(paused.done).toBeLessThan(6);
      await until('the page to show it paused', () => page.locator('#live .badge').first().innerText(), (t) => t === 'Paused', 10_000);
      await page.screenshot({ path: path.join(SHOTS, 'batch.png'), fullPage: true });
      // The list with everything this file has started so far (the README shows it).
      await page.goto(`${dash.url}/?queue=${encodeURIComponent(h.taskQueue)}`);
      await page.screenshot({ path: path.join(SHOTS, 'runs-busy.png'), fullPage: true });

      await page.goto(`${dash.url}/batches/${encodeURIComponent(started.batchId)}`);
      await page.getByRole('link', { name: 'Resume' }).click();
      await page.getByRole('button', { name: 'Resume' }).click();
      await page.waitForURL(/\?done=resume$/);
      const result = await started.handle.result();
      expect(result).toMatchObject({ status: 'completed', succeeded: 6, failed: 0 });
      await until('the page to show it completed', () => page.locator('#live .badge').first().innerText(), (t) => t === 'Completed', 10_000);
    } finally {
      h.sandbox.configure({ timings: FAST_TIMINGS });
    }
  });

  it('retries a finished batch\'s failed lines from its page', async () => {
    h.sandbox.configure({ text2video: { failTexts: ['doomed'] } });
    const manifest = path.join(inputs, 'retry.jsonl');
    fs.writeFileSync(manifest, ['a fine story', 'a doomed story'].map((text) => JSON.stringify({ pipeline: 'text2video', input: { text, polling: FAST_POLLING } })).join('\n') + '\n');
    const started = await startBatch(h.client, manifest, { taskQueue: h.taskQueue, outputRoot: h.outputRoot, window: 2 });
    expect(await started.handle.result()).toMatchObject({ status: 'completed', succeeded: 1, failed: 1, failedLines: [2] });
    h.sandbox.configure({ text2video: { failTexts: [] } });
    await page.goto(`${dash.url}/batches/${encodeURIComponent(started.batchId)}`);
    expect(await page.getByRole('link', { name: 'Pause' }).count()).toBe(0);
    await page.getByRole('link', { name: 'Retry failed' }).click();
    await page.getByRole('button', { name: 'Retry failed' }).click();
    await page.waitForURL(new RegExp(`/batches/${started.batchId}-retry-1\\?done=retry-failed$`));
    const retried = await h.client.workflow.getHandle<typeof batchPipeline>(`${started.batchId}-retry-1`).result();
    expect(retried).toMatchObject({ status: 'completed', total: 1, succeeded: 1, failed: 0 });
    // Nothing left to retry, and asking anyway is refused with a reason.
    const again = await fetch(`${dash.url}/batches/${encodeURIComponent(`${started.batchId}-retry-1`)}/retry-failed`);
    expect(again.status).toBe(409);
    expect(await again.text()).toMatch(/retry-failed is not possible/);
  });

  it('answers bad input with a clear page and status, never a stack trace', async () => {
    const unknown = await fetch(`${dash.url}/runs/lipdub-no-such-run`);
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toMatch(/no workflow with id lipdub-no-such-run/);

    // A workflow of another type (no worker needed: describe answers for it).
    const other = await h.client.workflow.start('somebodyElsesWorkflow', { taskQueue: `${h.taskQueue}-other`, workflowId: `other-${Date.now()}`, args: [] });
    try {
      const res = await fetch(`${dash.url}/runs/${other.workflowId}`);
      expect(res.status).toBe(404);
      expect(await res.text()).toMatch(/is a somebodyElsesWorkflow workflow, not a Reelay pipeline/);
      const asBatch = await fetch(`${dash.url}/batches/${other.workflowId}`);
      expect(asBatch.status).toBe(404);
    } finally {
      await other.terminate();
    }

    const badFilter = await fetch(`${dash.url}/?status=exploded`);
    expect(badFilter.status).toBe(400);
    expect(await badFilter.text()).toMatch(/status=&quot;exploded&quot; is not accepted/);

    // Leaving the output directory: spelled with "..", encoded, or through a symbolic link.
    fs.writeFileSync(path.join(h.outputRoot, 'inside.txt'), 'inside\n');
    fs.symlinkSync('/etc/hostname', path.join(h.outputRoot, 'escape'));
    expect((await rawGet(dash.url, '/files/inside.txt')).status).toBe(200);
    for (const attempt of ['/files/../../etc/passwd', '/files/%2e%2e/%2e%2e/etc/passwd', '/files/.%2E/x', '/files/escape']) {
      const r = await rawGet(dash.url, attempt);
      expect({ attempt, status: r.status }).toEqual({ attempt, status: 403 });
      expect(r.body).toMatch(/outside the output directory|is refused/);
      expect(r.body).not.toMatch(STACK_TRACE);
    }
    expect((await rawGet(dash.url, '/files/%E0%A4%A')).status).toBe(400);

    // The worker is down: the page still shows the stage the server holds (ReelayStage), as `reelay status` does.
    h.sandbox.configure({ timings: { text2video: { queueMs: 0, stageMs: 60_000 } } });
    const started = await startPipeline(h.client, 'text2video', { text: 'A story the worker leaves behind', polling: FAST_POLLING }, { taskQueue: h.taskQueue });
    // text2video's generating stage lasts a minute here: the stage cannot move on while the worker is down.
    const p = await waitForProgress(started.handle, (x) => x.stage === 'generating');
    await h.stopWorker();
    try {
      const res = await fetch(`${dash.url}/runs/${started.workflowId}`);
      expect(res.status).toBe(200);
      const body = await res.text();
      expect(body).toMatch(/No worker answered the progress query within 3 s/);
      expect(body).toContain(`${p.stage} <span class="muted">(from the server)</span>`);
      const list = await (await fetch(`${dash.url}/?queue=${encodeURIComponent(h.taskQueue)}&status=running`)).text();
      expect(list).toContain(started.workflowId);
    } finally {
      await started.handle.cancel();
      h.sandbox.configure({ timings: FAST_TIMINGS });
      await h.startWorker();
    }
  });

  it('`reelay dashboard` refuses a non-loopback bind without auth, and refuses unauthenticated requests on one', async () => {
    const env = { ...h.env, TEMPORAL_ADDRESS: temporalAddress(), TEMPORAL_NAMESPACE: 'default', NO_COLOR: '1', REELAY_DASHBOARD_TOKEN: '', REELAY_DASHBOARD_BASIC_AUTH: '' };
    const port = await freePort();
    const refused = await runProcess([process.execPath, BIN, 'dashboard', '--host', '0.0.0.0', '--port', String(port)], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--host 0\.0\.0\.0 is not a loopback address: set a bearer token/);

    const token = 'dashboard-test-token-0123456789';
    let child: ChildProcess | undefined;
    try {
      child = spawn(process.execPath, [BIN, 'dashboard', '--host', '0.0.0.0', '--port', String(port)], { cwd: ROOT, env: { ...env, REELAY_DASHBOARD_TOKEN: token }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      await until('the dashboard to start', async () => out, (o) => o.includes('Dashboard on') || child!.exitCode !== null, 30_000);
      expect(out).toMatch(/sign-in required/);
      // Loopback traffic to the 0.0.0.0 bind: the same handler a remote caller would reach.
      const base = `http://127.0.0.1:${port}`;
      const anonymous = await fetch(`${base}/`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm="Reelay dashboard"/);
      expect((await fetch(`${base}/runs/x/outputs/0`)).status).toBe(401);
      expect((await fetch(`${base}/`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status).toBe(401);
      expect((await fetch(`${base}/?queue=${encodeURIComponent(h.taskQueue)}`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      // A browser gives the token as the basic-auth password.
      const context = await browser.newContext({ httpCredentials: { username: 'producer', password: token } });
      const signedIn = await context.newPage();
      const response = await signedIn.goto(`${base}/?queue=${encodeURIComponent(h.taskQueue)}`);
      expect(response?.status()).toBe(200);
      expect(await signedIn.locator('h1').innerText()).toBe('Runs');
      await context.close();
    } finally {
      if (child) await killed(child);
    }
  });
});

describe('reelay dashboard with payload encryption on', () => {
  let h: Harness;
  let dash: Dashboard;
  let keyless: Client;
  let blind: Dashboard;

  beforeAll(async () => {
    h = await startHarness({ timings: FAST_TIMINGS }, { encryption: { REELAY_PAYLOAD_KEY: randomBytes(32).toString('base64'), REELAY_PAYLOAD_KEY_ID: 'dash-1' } });
    await h.startWorker();
    const storage = loadConfig(h.env).storage;
    // The CLI's data converter: with the key (h.client), and without one (what `reelay dashboard` has with no key set).
    dash = await startDashboard({ client: h.client, storage, port: 0, log: () => undefined });
    keyless = await testClient({});
    blind = await startDashboard({ client: keyless, storage, port: 0, log: () => undefined });
  });
  afterAll(async () => {
    await blind?.close();
    await keyless?.connection.close();
    await dash?.close();
    await h?.close();
  });

  it('reads summaries, logs and outputs through the same data converter as the CLI; without the key it says so', async () => {
    const text = 'A story only key holders may read';
    const started = await startPipeline(h.client, 'text2video', { text, polling: FAST_POLLING }, { taskQueue: h.taskQueue });
    await started.handle.result();
    const list = await (await fetch(`${dash.url}/?queue=${encodeURIComponent(h.taskQueue)}`)).text();
    expect(list).toContain(`text2video: ${text}`);
    const run = await (await fetch(`${dash.url}/runs/${started.workflowId}`)).text();
    expect(run).toContain(`text2video: ${text}`);
    expect(run).toMatch(/Delivered|Saved/);
    expect(run).toContain(`/runs/${started.workflowId}/outputs/0`);
    expect((await fetch(`${dash.url}/runs/${started.workflowId}/outputs/0`)).status).toBe(200);

    const res = await fetch(`${blind.url}/runs/${started.workflowId}`);
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).not.toContain(text);
    expect(page).toMatch(/cannot decrypt a payload encrypted with key id &quot;dash-1&quot;: no payload key is configured/);
    expect(page).toContain('Summary encrypted');
    expect(page).not.toMatch(STACK_TRACE);
  });
});
