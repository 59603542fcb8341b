/**
 * `npm run demo`: everything local, no account needed. Builds (once) or finds the Temporal CLI, starts a
 * dev server persisted to .reelay/temporal.db (or reuses one on TEMPORAL_ADDRESS), the sandbox providers
 * and an in-process worker, then runs five pipelines side by side with live progress: LipDub into two
 * languages, DubLab into three, text2video on a short story, Vivid Flow animating a generated image and
 * AI Studio in mock mode. It prints every output with its size and sha256, and each workflow's UI link.
 *
 *   npx tsx scripts/demo.ts          keep everything running afterwards for the Temporal UI, until Ctrl-C
 *   npx tsx scripts/demo.ts --once   exit when done: 0 only if every pipeline completed
 *   npx tsx scripts/demo.ts --store  outputs, batch manifest and results go to an S3-compatible store the demo
 *                                    starts (versitygw, built once like the temporal CLI, its data in
 *                                    .reelay/s3); every output is verified by reading it back from the store
 *
 * It says where the outputs went: the local output directory (REELAY_OUTPUT_DIR), or the s3:// location
 * (REELAY_OUTPUT_URL, or --store), and how to get a link to a stored output (reelay output url).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { deflateSync } from 'node:zlib';
import { loadConfig, loadDotEnv, workflowUiLink, type ReelayConfig } from '../src/config';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { ensureVersitygw, startObjectStore, type ObjectStoreServer } from '../src/dev/objectstore';
import { createS3Client, type Store } from '../src/storage/s3';
import { s3Uri } from '../src/storage/location';
import {
  connectClient,
  startPipeline,
  type AistudioPipelineInput,
  type LocalizePipelineInput,
  type DublabPipelineInput,
  type LipdubPipelineInput,
  type Started,
  type Text2videoPipelineInput,
  type VividflowPipelineInput,
} from '../src/client';
import { installWorkerRuntime, untilSignal } from '../src/cli/context';
import { devMetricsAddress } from '../src/ops/runtime';
import { startBatch } from '../src/pipelines/batch/start';
import type { WorkflowHandle } from '@temporalio/client';
import { outputFiles, watchWorkflows, type WatchResult } from '../src/cli/pipelines';
import type { BatchPipelineResult } from '../src/pipelines/batch/input';
import { formatBytes, formatDuration, styler } from '../src/cli/render';
import { DEFAULT_PORT_BASE, startLocalStack, type LocalStack } from '../src/cli/stack';

/** A few seconds per provider step, so the bars have something to show. */
const DEMO_TIMINGS = {
  lipdub: { shotMs: 3_000, trainingMs: 3_000, generateQueueMs: 1_000, generateMs: 4_000 },
  dublab: { queueMs: 1_500, processMs: 6_000 },
  text2video: { queueMs: 1_000, stageMs: 1_500 },
  vividflow: { processMs: 6_000, workers: 1 },
  // A mockMode job runs at most a moment at the sandbox (as at AI Studio): the time is spent PENDING.
  aistudio: { pendingMs: 5_000, runMs: 5_000 },
};
/** Polling sized for those timings (the production defaults start at 10 s). */
const DEMO_POLLING = { initialIntervalSeconds: 0.5, maxIntervalSeconds: 2, backoffCoefficient: 1.5, deadlineMinutes: 10 };

const VIDEO_BYTES = 1_500_000;
const AUDIO_BYTES = 120_000;
const IMAGE_SIZE = { width: 320, height: 180 };

const STORY =
  'A lighthouse keeper finds a message in a bottle: a map of the coast, drawn by a child. ' +
  'At low tide she follows it to a cave full of glowing shells, and leaves a new map for the next finder.';

const st = styler(process.stdout);
const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
const step = (line: string) => process.stdout.write(`${st.dim(`[${elapsed().padStart(6)}]`)} ${line}\n`);

function ensureFile(file: string, size: number): string {
  if (!fs.existsSync(file) || fs.statSync(file).size !== size) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, randomBytes(size));
  }
  return file;
}

/** A real PNG (a sunset over the sea) that opens in any viewer; written once, then reused. */
function ensurePng(file: string, { width, height }: { width: number; height: number }): string {
  if (fs.existsSync(file) && fs.statSync(file).size > 0) return file;
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc32 = (buf: Buffer) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
  const stride = width * 3 + 1; // each row starts with filter type 0
  const raw = Buffer.alloc(stride * height);
  const horizon = Math.round(height * 0.62);
  for (let y = 0; y < height; y++) {
    const t = y / (height - 1);
    for (let x = 0; x < width; x++) {
      const sun = y < horizon && Math.hypot(x - width * 0.68, y - horizon) < height * 0.18;
      const sea = y >= horizon;
      const i = y * stride + 1 + x * 3;
      raw[i] = sun ? 255 : sea ? Math.round(30 + 40 * t) : Math.round(70 + 185 * t);
      raw[i + 1] = sun ? 214 : sea ? Math.round(60 + 30 * t) : Math.round(50 + 90 * t);
      raw[i + 2] = sun ? 110 : sea ? Math.round(110 + 40 * t) : Math.round(120 - 40 * t);
    }
  }
  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, png);
  return file;
}

function sha256File(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { once: { type: 'boolean' }, store: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true });
  if (values.help) {
    process.stdout.write(
      'Usage: npm run demo [-- --once] [-- --store]\n' +
        '  --once   exit when the pipelines are done (0 only if all completed), stopping everything\n' +
        '  --store  send outputs, the batch manifest and its results to an S3-compatible store the demo starts (versitygw)\n',
    );
    return 0;
  }
  loadDotEnv();
  let objectStore: ObjectStoreServer | undefined;
  if (values.store) {
    // The demo's own S3-compatible server; its credentials are the harness's test-only ones.
    const binary = ensureVersitygw({ log: step });
    const root = path.resolve(process.env.REELAY_STATE_DIR?.trim() || '.reelay', 's3');
    fs.mkdirSync(root, { recursive: true });
    objectStore = await startObjectStore({ binary: binary.path, rootDir: root, bucket: 'reelay-demo', logFile: path.join(root, 'versitygw.log') });
    Object.assign(process.env, {
      REELAY_OUTPUT_URL: 's3://reelay-demo/outputs',
      REELAY_S3_ENDPOINT: objectStore.endpoint,
      REELAY_S3_REGION: objectStore.region,
      AWS_ACCESS_KEY_ID: objectStore.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: objectStore.credentials.secretAccessKey,
    });
    step(`Object store: versitygw on ${objectStore.endpoint}, bucket reelay-demo (data in ${path.relative(process.cwd(), root)})`);
  }
  // Metrics and probes are on in the demo (REELAY_METRICS_ADDR, else 127.0.0.1:9464 or a free port).
  process.env.REELAY_METRICS_ADDR = await devMetricsAddress();
  const config = loadConfig();
  const where = outputsWhere(config);
  step(`Outputs go to ${where}`);
  const store: Store | undefined = config.storage.output.kind === 's3' ? { settings: config.storage.s3, client: createS3Client(config.storage.s3) } : undefined;
  await installWorkerRuntime(config.logLevel ?? 'WARN', { metrics: true, logFormat: config.logFormat });
  const signal = untilSignal();

  process.stdout.write(st.bold('Reelay demo: LipDub, DubLab, text2video, Vivid Flow and AI Studio pipelines on a local Temporal, against the sandbox providers\n\n'));
  const taskQueue = `reelay-demo-${randomUUID().slice(0, 8)}`;
  const out = config.outputDir;
  const stack: LocalStack = await Promise.race([
    startLocalStack({ config, portBase: DEFAULT_PORT_BASE, timings: DEMO_TIMINGS, taskQueue, outputRoot: out, log: step, fallbackToFreePorts: true, dashboardPort: 8240 }),
    signal.then(() => Promise.reject(new Error('interrupted while starting'))),
  ]);

  if (stack.dashboard) step(`Dashboard on ${stack.dashboard.url}: the runs below, live, with their logs and outputs`);
  if (stack.worker.worker.metricsAddress) step(`Metrics on http://${stack.worker.worker.metricsAddress}/metrics (probes: /healthz, /readyz)`);
  let code = 1;
  try {
    const dir = path.join(config.stateDir, 'demo-inputs');
    const video = ensureFile(path.join(dir, 'talk.mp4'), VIDEO_BYTES);
    const es = ensureFile(path.join(dir, 'es-MX.mp3'), AUDIO_BYTES);
    const fr = ensureFile(path.join(dir, 'fr-FR.mp3'), AUDIO_BYTES + 7_000);
    const image = ensurePng(path.join(dir, 'sunset.png'), IMAGE_SIZE);
    step(
      `Demo inputs in ${path.relative(process.cwd(), dir)}: talk.mp4 (${formatBytes(VIDEO_BYTES)} of random bytes), es-MX.mp3, fr-FR.mp3, ` +
        `sunset.png (${IMAGE_SIZE.width}×${IMAGE_SIZE.height} PNG, ${formatBytes(fs.statSync(image).size)})`,
    );

    const client = await connectClient();
    const lipdubInput: LipdubPipelineInput = {
      video,
      audios: [
        { source: es, language: 'es-MX' },
        { source: fr, language: 'fr-FR' },
      ],
      projectName: 'Reelay demo',
      polling: DEMO_POLLING,
    };
    const dublabInput: DublabPipelineInput = {
      source: video,
      sourceLanguage: 'en',
      targetLanguages: ['es', 'de', 'ja'],
      durationSeconds: 12,
      outputTypes: ['translated_mp4', 'translated_mp3', 'translated_subtitle'],
      name: 'Reelay demo',
      polling: DEMO_POLLING,
    };
    const text2videoInput: Text2videoPipelineInput = { text: STORY, outputName: 'lighthouse.mp4', polling: DEMO_POLLING };
    const vividflowInput: VividflowPipelineInput = {
      prompt: 'The sun sinks slowly into the sea while small waves roll toward the shore',
      imagePath: image,
      model: 'wan2.1',
      cfg: 8,
      seed: 7,
      outputName: 'sunset.mp4',
      polling: DEMO_POLLING,
    };
    const aistudioInput: AistudioPipelineInput = {
      prompt: 'A paper boat sails down a rainy city street at dusk, neon signs reflected in the puddles',
      mockMode: true,
      durationSeconds: 4,
      outputName: 'paper-boat.mp4',
      polling: DEMO_POLLING,
    };
    const localizeInput: LocalizePipelineInput = {
      source: video,
      sourceLanguage: 'en',
      targetLanguages: ['es', 'fr'],
      durationSeconds: 12,
      polling: DEMO_POLLING,
    };
    // A small batch: a manifest of text2video stories and AI Studio (mock) shots, run 4 at a time.
    const batchManifest = path.join(dir, 'batch.jsonl');
    const batchLines = Array.from({ length: 8 }, (_, i) =>
      i % 4 === 3
        ? { pipeline: 'aistudio', input: { prompt: `Batch shot ${i + 1}: a kite over the dunes`, mockMode: true, polling: DEMO_POLLING } }
        : { pipeline: 'text2video', input: { text: `Batch story ${i + 1}: the lighthouse keeper writes a letter.`, polling: DEMO_POLLING } },
    );
    fs.writeFileSync(batchManifest, batchLines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    /** A pipeline or the batch, as the watcher sees them: any workflow handle. */
    type DemoRun = Omit<Started, 'handle'> & { handle: WorkflowHandle };
    const startDemoBatch = async (): Promise<DemoRun> => {
      const b = await startBatch(client, batchManifest, { taskQueue, window: 4 });
      return { workflowId: b.batchId, runId: b.runId, uiUrl: '', handle: b.handle };
    };
    const start = async (label: string, go: () => Promise<DemoRun>) => ({ label, started: await go() });
    const runs = await Promise.all([
      start('LipDub es-MX, fr-FR', () => startPipeline(client, 'lipdub', lipdubInput, { taskQueue })),
      start('DubLab es, de, ja', () => startPipeline(client, 'dublab', dublabInput, { taskQueue })),
      start('text2video story', () => startPipeline(client, 'text2video', text2videoInput, { taskQueue })),
      start('Vivid Flow wan2.1', () => startPipeline(client, 'vividflow', vividflowInput, { taskQueue })),
      start('AI Studio (mock)', () => startPipeline(client, 'aistudio', aistudioInput, { taskQueue })),
      start('Localize en → es, fr', () => startPipeline(client, 'localize', localizeInput, { taskQueue })),
      start('Batch of 8 (window 4)', startDemoBatch),
    ]);
    step(`Started ${runs.length} pipelines on task queue ${taskQueue}:`);
    for (const r of runs) process.stdout.write(`           ${r.started.workflowId}\n`);
    process.stdout.write('\n');

    const labelWidth = Math.max(...runs.map((r) => r.label.length)) + 1;
    const watching = watchWorkflows(
      client,
      runs.map((r) => ({ handle: r.started.handle, label: r.label.padEnd(labelWidth) })),
      { logLines: 1, intervalMs: 500 },
    );
    const results = await Promise.race([watching, signal.then(() => undefined)]);
    if (!results) {
      process.stdout.write('\nInterrupted; stopping (the workflows stay in Temporal and resume with a worker).\n');
      await client.connection.close();
      await stack.stop();
      await objectStore?.stop();
      return 130;
    }
    process.stdout.write('\n');
    code = await report(
      results,
      runs.map((r) => r.started),
      stack,
      store,
    );
    process.stdout.write(`Outputs went to ${where}.\n`);
    if (store) process.stdout.write(`A link to any run's stored outputs, for people and services: npx reelay output url <workflow id> --expires 1h\n`);
    await client.connection.close();
  } catch (err) {
    await stack.stop();
    await objectStore?.stop();
    throw err;
  }

  if (values.once) {
    step(`Done in ${formatDuration(Date.now() - t0)}; stopping ${started(stack)}.`);
    await stack.stop();
    await objectStore?.stop();
    return code;
  }
  process.stdout.write(
    (stack.dashboard ? `\n${st.bold('Open the dashboard')} at ${stack.dashboard.url} to watch them, read their logs and play their outputs.` : '') +
    `\n${st.bold('Open the Temporal UI')} at ${stack.temporal.uiUrl} to see the five workflows: their histories, summaries and the\n` +
      `"progress" query (the worker keeps running to answer it). Ctrl-C stops ${started(stack)}.\n`,
  );
  const sig = await signal;
  step(`${sig}: stopping…`);
  await stack.stop();
  await objectStore?.stop();
  step('Stopped.');
  return code;
}

/** What this process started, and so stops; a reused Temporal server is left alone. */
function started(stack: LocalStack): string {
  return stack.temporal.reused ? 'the worker and the sandbox (not the Temporal server, which was already running)' : 'the worker, the sandbox and the Temporal dev server';
}

/** Where this configuration sends outputs, for people: a local directory or an s3:// location. */
function outputsWhere(config: ReelayConfig): string {
  const out = config.storage.output;
  if (out.kind === 's3') return `${s3Uri(out)}/<workflow id>/ (${config.storage.outputVar}${config.storage.s3.endpoint ? ` on ${config.storage.s3.endpoint}` : ''})`;
  return `${path.relative(process.cwd(), config.outputDir) || '.'}/<workflow id>/ (REELAY_OUTPUT_DIR)`;
}

/** The sha256 of a stored object, read back from the store; undefined when it cannot be read. */
async function sha256Stored(store: Store, uri: string): Promise<string | undefined> {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!m) return undefined;
  try {
    const res = await store.client.send(new GetObjectCommand({ Bucket: m[1], Key: m[2] }));
    const hash = createHash('sha256');
    for await (const chunk of res.Body as AsyncIterable<Buffer>) hash.update(chunk);
    return hash.digest('hex');
  } catch {
    return undefined;
  }
}

async function report(results: WatchResult[], started: Array<{ workflowId: string; runId: string }>, stack: LocalStack, store: Store | undefined): Promise<number> {
  let ok = true;
  for (const r of results) {
    const s = started.find((x) => x.workflowId === r.workflowId)!;
    const link = workflowUiLink({ uiUrl: stack.temporal.uiUrl, namespace: stack.temporal.namespace }, s.workflowId, s.runId);
    const mark = r.status === 'COMPLETED' ? st.green('✓') : st.red('✗');
    process.stdout.write(`${mark} ${st.bold(r.workflowId)} ${r.status}\n`);
    if (r.status !== 'COMPLETED') {
      ok = false;
      process.stdout.write(`    ${r.failure ?? ''}\n`);
    }
    const batch = r.result as Partial<BatchPipelineResult> | undefined;
    if (batch && typeof batch.succeeded === 'number') {
      // A batch delivers through its children; its own result is the counts and where results.jsonl is.
      if (batch.failed || batch.status !== 'completed') ok = false;
      process.stdout.write(`    ${batch.succeeded} of ${batch.total} items succeeded, ${batch.failed} failed; per-item results: ${batch.resultsPath ?? ''}\n`);
      process.stdout.write(`    Temporal UI: ${link}\n\n`);
      continue;
    }
    const files = outputFiles(r.result);
    if (r.status === 'COMPLETED' && !files.length) {
      ok = false;
      process.stdout.write(`    ${st.red('no output file in the result')}\n`);
    }
    for (const f of files) {
      const inStore = f.uri !== undefined;
      const verified = inStore ? store !== undefined && (await sha256Stored(store, f.uri!)) === f.sha256 : fs.existsSync(f.path) && sha256File(f.path) === f.sha256;
      if (!verified) ok = false;
      const place = inStore ? 'in the store' : 'on disk';
      process.stdout.write(
        `    ${f.label.padEnd(24)} ${inStore ? f.uri : path.relative(process.cwd(), f.path)}\n` +
          `    ${''.padEnd(24)} ${f.bytes} bytes  sha256 ${f.sha256} ${verified ? st.green(`(verified ${place})`) : st.red(`(MISMATCH ${place})`)}\n`,
      );
    }
    process.stdout.write(`    Temporal UI: ${link}\n\n`);
  }
  const counters = stack.sandbox.counters();
  const calls = Object.values(counters).reduce((a, b) => a + b, 0);
  const byService = new Map<string, number>();
  for (const [key, n] of Object.entries(counters)) {
    const service = key.split(' ')[0]!;
    byService.set(service, (byService.get(service) ?? 0) + n);
  }
  process.stdout.write(`Sandbox served ${calls} provider calls (${[...byService].map(([service, n]) => `${service} ${n}`).join(', ')}).\n`);
  const completed = results.filter((r) => r.status === 'COMPLETED').length;
  process.stdout.write(
    ok
      ? st.green(`All ${results.length} pipelines completed in ${elapsed()}.\n`)
      : st.red(`${completed} of ${results.length} pipelines completed; not every output was delivered and verified (${elapsed()}).\n`),
  );
  return ok ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
    setTimeout(() => process.exit(code), 500).unref();
  },
  (err: unknown) => {
    process.stderr.write(`demo: ${(err as Error).message}\n`);
    if (process.env.REELAY_DEBUG === '1' && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exitCode = 1;
    setTimeout(() => process.exit(1), 500).unref();
  },
);
