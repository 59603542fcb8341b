/**
 * The chaos run: many pipelines across all five providers against a sandbox that injects faults, while
 * the worker is SIGKILLed and the Temporal dev server is restarted on the same SQLite file. Then it
 * checks what Reelay promises:
 *
 *   - every pipeline completed, or failed with a reason (the provider's, or OutcomeUnknown naming what to check);
 *   - no billable create happened twice (the sandbox's ledger of creates it performed, lost answers included;
 *     LipDub shots from its own list);
 *   - every delivered file is on disk with the sha256 its result claims, which is what the sandbox served
 *     (store objects) or derives from the input (text2video);
 *   - no workflow is left running.
 *
 * Outputs go to an object store (a versitygw of its own) through the store fault proxy
 * (src/dev/store-faults.ts), which answers about 15% of part uploads with 503 SlowDown, holds another 15%
 * for up to 1.5 s, and refuses 2% of object completions: every output object must still hold exactly the
 * bytes the sandbox served, and no multipart upload may be left incomplete. `--local` writes outputs to
 * a local directory instead (the run as it was before object storage).
 *
 * It prints one summary line (and, with --json, writes the details) and exits 1 on any loss.
 *
 *   npm run chaos                        the full profile: 200 pipelines, 3 worker kills, 1 server restart
 *   npm run chaos -- --profile ci        the small one CI runs: 25 pipelines, 1 kill, 1 restart
 *   options: --pipelines N --kills K --server-restarts R --seed S --timeout-minutes M --json FILE --keep --local
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { connectClient, startPipeline, type PipelineName } from '../src/client';
import { workflowBundleOptions } from '../src/codec';
import { failureMessage, outputFiles } from '../src/cli/pipelines';
import { ensureTemporalCli, freePort, startDevServer, type DevServer } from '../src/dev/temporal';
import { ensureVersitygw, startObjectStore, type ObjectStoreServer } from '../src/dev/objectstore';
import { startStoreFaultProxy, type StoreFaultLedger, type StoreFaultProxy } from '../src/dev/store-faults';
import { GetObjectCommand, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import { LipdubClient } from '../src/pipelines/lipdub/client';
import { startSandbox, type Sandbox } from '../src/sandbox';
import { sha256Hex, text2videoOutput } from '../src/sandbox/derive';
import type { FaultProfileInput, LedgerEntry } from '../src/sandbox/faults';
import { WORKFLOWS_PATH } from '../src/workers/worker';

const ROOT = path.resolve(__dirname, '..');
const PROVIDERS: PipelineName[] = ['lipdub', 'dublab', 'text2video', 'vividflow', 'aistudio'];

const PROFILES = {
  full: { pipelines: 200, kills: 3, serverRestarts: 1, timeoutMinutes: 30 },
  ci: { pipelines: 25, kills: 1, serverRestarts: 1, timeoutMinutes: 10 },
} as const;

/** Failure types that are a clear answer: the provider's job failed, or Reelay could not tell and says what to check. */
const CLEAR_FAILURES = new Set(['ProviderJobFailed', 'PartialFailure', 'OutcomeUnknown']);

/** Creates that cost money: each key may appear once in the sandbox's ledger. */
const BILLABLE = new Set([
  'lipdub POST /v1/shots/:shotId/generate',
  'dublab POST /api/v1/start-dub',
  'vividflow POST /api/v1/generate',
  'aistudio POST /api/v1/video-jobs',
]);

const TIMINGS = {
  lipdub: { shotMs: 150, trainingMs: 150, generateQueueMs: 50, generateMs: 200 },
  dublab: { queueMs: 100, processMs: 300 },
  text2video: { queueMs: 50, stageMs: 50 },
  vividflow: { processMs: 200, workers: 8 },
  aistudio: { pendingMs: 100, runMs: 200, mockRunMs: 200 },
};
const POLLING = { initialIntervalSeconds: 0.2, maxIntervalSeconds: 1, backoffCoefficient: 1.5, deadlineMinutes: 25 };

/** About 10% 5xx and 5% 429 on every provider call, 2% lost answers on every create, 2% of jobs failing. */
function chaosFaults(seed: number, jobFails: number): FaultProfileInput {
  const creates = ['/v1/video', '/v1/audio', '/v1/video/success/*', '/v1/shots/:shotId/generate', '/api/v1/init-dub-group', '/api/v1/start-dub', '/api/v1/generate', '/api/v1/video-jobs'];
  return {
    seed,
    rules: [
      { faults: { serverError: 0.1, rateLimit: { rate: 0.025, burst: 2, retryAfterSeconds: 1 }, jobFails } },
      // The object store is not a provider API: uploads and downloads see 5xx only.
      { service: 'store', faults: { rateLimit: 0, jobFails: 0 } },
      ...creates.map((route) => ({ method: 'POST', route, faults: { lostResponse: 0.02 } })),
    ],
  };
}

interface Planned {
  /** The workflow id is `<pipeline>-<key>`. */
  key: string;
  pipeline: PipelineName;
  input: Record<string, unknown>;
  /** Bytes the sandbox derives for a text2video output (no store object to compare with). */
  expectSha256?: string;
}

function plan(n: number, tag: string, inputs: { video: string; audio: string; image: string }): Planned[] {
  return Array.from({ length: n }, (_, i) => {
    const pipeline = PROVIDERS[i % PROVIDERS.length]!;
    const id = `chaos-${tag}-${i}`;
    switch (pipeline) {
      case 'lipdub':
        return { key: id, pipeline, input: { video: inputs.video, audios: [{ source: inputs.audio, language: i % 2 ? 'es-MX' : 'fr-FR' }], polling: POLLING } };
      case 'dublab':
        return {
          key: id,
          pipeline,
          input: { source: inputs.video, sourceLanguage: 'en', targetLanguages: ['es', 'de'], durationSeconds: 5, outputTypes: ['translated_mp4', 'translated_subtitle'], name: `chaos dub ${i}`, polling: POLLING },
        };
      case 'text2video': {
        const text = `Chaos story ${tag}-${i}: the lighthouse keeper writes a letter to the sea.`;
        return { key: id, pipeline, input: { text, polling: POLLING }, expectSha256: sha256Hex(text2videoOutput(text)) };
      }
      case 'vividflow':
        return { key: id, pipeline, input: { prompt: `Chaos ${tag}-${i}: waves roll toward the shore at dusk`, imagePath: inputs.image, model: 'wan2.1', seed: i, polling: POLLING } };
      default:
        return {
          key: id,
          pipeline,
          input: { prompt: `Chaos ${tag}-${i}: a paper boat on a rainy street`, mockMode: true, durationSeconds: 4, slotWait: { initialSeconds: 0.3, maxSeconds: 2 }, polling: POLLING },
        };
    }
  });
}

/** The worker as a process of its own (SIGKILL must hit the real process: `node --import tsx`, not the tsx CLI). */
class WorkerSupervisor {
  private child: ChildProcess | undefined;
  private stopping = false;
  restarts = 0;
  kills = 0;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly logFile: string,
  ) {}

  start(): void {
    const out = fs.openSync(this.logFile, 'a');
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'worker'], { cwd: ROOT, env: this.env, stdio: ['ignore', out, out] });
    fs.closeSync(out);
    this.child = child;
    child.once('exit', () => {
      if (this.stopping || this.child !== child) return;
      // Killed by us or died on its own: a new one takes over, as a process manager would.
      this.restarts++;
      setTimeout(() => !this.stopping && this.start(), 500);
    });
  }

  kill(): void {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.kills++;
    this.child.kill('SIGKILL');
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
    });
  }
}

interface Outcome {
  id: string;
  pipeline: PipelineName;
  status: 'completed' | 'failed' | 'running' | 'other';
  failureType?: string;
  failure?: string;
  files: Array<{ path: string; sha256: string; ok: boolean; why?: string }>;
}

/** The deepest ApplicationFailure type in a failure chain. */
function failureType(err: unknown): string {
  let type = 'unknown';
  for (let e = err as { type?: string; cause?: unknown; name?: string } | undefined; e; e = e.cause as typeof e) {
    if (typeof e.type === 'string' && e.type) type = e.type;
  }
  return type;
}

function sha256File(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** The sha256 of an object (`s3://bucket/key`), read straight from the store (not through the fault proxy); undefined if absent. */
async function sha256Object(s3: S3Client, uri: string): Promise<string | undefined> {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!m) return undefined;
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: m[1], Key: m[2] }));
    const hash = createHash('sha256');
    for await (const chunk of res.Body as AsyncIterable<Buffer>) hash.update(chunk);
    return hash.digest('hex');
  } catch {
    return undefined;
  }
}

async function retrying<T>(what: string, fn: () => Promise<T>, deadline: number): Promise<T> {
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      profile: { type: 'string', default: 'full' },
      pipelines: { type: 'string' },
      kills: { type: 'string' },
      'server-restarts': { type: 'string' },
      seed: { type: 'string', default: '1' },
      'job-fails': { type: 'string', default: '0.02' },
      'timeout-minutes': { type: 'string' },
      json: { type: 'string' },
      keep: { type: 'boolean' },
      local: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(fs.readFileSync(__filename, 'utf8').split('*/')[0]!.replace(/^\/\*\*|^ \* ?/gm, '') + '\n');
    return 0;
  }
  const base = PROFILES[values.profile as keyof typeof PROFILES];
  if (!base) throw new Error(`--profile must be one of ${Object.keys(PROFILES).join(', ')}`);
  const num = (v: string | undefined, d: number, name: string) => {
    const n = v === undefined ? d : Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number`);
    return n;
  };
  const n = num(values.pipelines, base.pipelines, 'pipelines');
  const kills = num(values.kills, base.kills, 'kills');
  const serverRestarts = num(values['server-restarts'], base.serverRestarts, 'server-restarts');
  const seed = num(values.seed, 1, 'seed');
  const jobFails = num(values['job-fails'], 0.02, 'job-fails');
  const timeoutMs = num(values['timeout-minutes'], base.timeoutMinutes, 'timeout-minutes') * 60_000;
  const t0 = Date.now();
  const deadline = t0 + timeoutMs;
  const log = (line: string) => process.stderr.write(`[chaos ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${line}\n`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reelay-chaos-'));
  const tag = `${seed}-${Date.now().toString(36)}`;
  const taskQueue = `chaos-${tag}`;
  const outputRoot = path.join(dir, 'out');
  log(`working in ${dir}`);

  const cli = ensureTemporalCli({ log });
  const ports = { port: await freePort(), uiPort: await freePort() };
  const dbFile = path.join(dir, 'temporal.db');
  const startServer = () => startDevServer({ cliPath: cli.path, dbFile, ...ports, logFile: path.join(dir, 'temporal.log') });
  let server: DevServer = await startServer();
  log(`Temporal dev server on ${server.address} (${dbFile})`);

  const bundlePath = path.join(dir, 'workflows.js');
  // With payload encryption configured (REELAY_PAYLOAD_KEY), the run is encrypted end to end too.
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, ...workflowBundleOptions(process.env), logger: { info: () => undefined, warn: () => undefined, error: log, debug: () => undefined, trace: () => undefined, log: () => undefined } });
  fs.writeFileSync(bundlePath, code);

  const sandbox: Sandbox = await startSandbox({
    timings: TIMINGS,
    dublab: { credits: 1_000_000 },
    vividflow: { hourlyLimit: 1_000_000, dailyLimit: 1_000_000 },
    aistudio: { tokens: 1_000_000 },
    faults: chaosFaults(seed, jobFails),
  });
  const inputsDir = path.join(dir, 'in');
  fs.mkdirSync(inputsDir);
  const inputs = {
    video: path.join(inputsDir, 'talk.mp4'),
    audio: path.join(inputsDir, 'line.mp3'),
    image: path.join(inputsDir, 'frame.png'),
  };
  // Outputs that embed the video (LipDub, DubLab's translated_mp4) span three 8 MiB parts: multipart uploads
  // whose parts meet the store's faults.
  fs.writeFileSync(inputs.video, Buffer.alloc(values.local ? 300_000 : 17 * 1024 * 1024 + 300_000, 7));
  fs.writeFileSync(inputs.audio, Buffer.alloc(40_000, 3));
  fs.writeFileSync(inputs.image, Buffer.from('89504e470d0a1a0a', 'hex'));

  // The object store the outputs go to, behind the fault proxy.
  let objectStore: ObjectStoreServer | undefined;
  let storeProxy: StoreFaultProxy | undefined;
  let storeEnv: Record<string, string> = {};
  const outputPrefix = `chaos-${tag}`;
  if (!values.local) {
    objectStore = await startObjectStore({ binary: ensureVersitygw({ log }).path, rootDir: path.join(dir, 's3'), logFile: path.join(dir, 'versitygw.log') });
    storeProxy = await startStoreFaultProxy({
      target: objectStore.endpoint,
      seed,
      partServerErrorRate: 0.15,
      partSlowRate: 0.15,
      partSlowMs: { min: 200, max: 1500 },
      writeServerErrorRate: 0.02,
    });
    storeEnv = {
      REELAY_OUTPUT_URL: `s3://${objectStore.bucket}/${outputPrefix}`,
      REELAY_S3_ENDPOINT: storeProxy.endpoint,
      REELAY_S3_REGION: objectStore.region,
      AWS_ACCESS_KEY_ID: objectStore.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: objectStore.credentials.secretAccessKey,
    };
    log(`outputs to s3://${objectStore.bucket}/${outputPrefix} on versitygw ${objectStore.endpoint}, through the store fault proxy ${storeProxy.endpoint}`);
  }
  const s3: S3Client | undefined = objectStore?.client();

  const worker = new WorkerSupervisor(
    {
      ...process.env,
      ...sandbox.env(),
      ...storeEnv,
      TEMPORAL_ADDRESS: server.address,
      REELAY_TASK_QUEUE: taskQueue,
      REELAY_OUTPUT_DIR: outputRoot,
      REELAY_WORKFLOW_BUNDLE: bundlePath,
      REELAY_VIVIDFLOW_REQUESTS_PER_SECOND: '500',
      REELAY_LOG_LEVEL: 'WARN',
    },
    path.join(dir, 'worker.log'),
  );
  worker.start();

  const client = await connectClient({ ...process.env, TEMPORAL_ADDRESS: server.address, TEMPORAL_NAMESPACE: 'default' });
  const planned = plan(n, tag, inputs);
  const handles = new Map<string, { p: Planned; handle: WorkflowHandle }>();
  for (const p of planned) {
    const started = await startPipeline(client, p.pipeline, p.input, { taskQueue, key: p.key });
    handles.set(started.workflowId, { p, handle: started.handle });
  }
  log(`started ${n} pipelines on ${taskQueue}: ${PROVIDERS.map((pr) => `${planned.filter((p) => p.pipeline === pr).length} ${pr}`).join(', ')}`);

  // Chaos events at fractions of the work done: kills spread over the run, the server restart in the middle.
  const events: Array<{ at: number; what: 'kill' | 'restart' }> = [
    ...Array.from({ length: kills }, (_, k) => ({ at: (k + 1) / (kills + 1.5), what: 'kill' as const })),
    ...Array.from({ length: serverRestarts }, (_, k) => ({ at: (k + 1) / (serverRestarts + 1) + 0.05, what: 'restart' as const })),
  ].sort((a, b) => a.at - b.at);
  let serverRestartsDone = 0;
  const closed = new Set<string>();
  let lastNote = 0;
  while (closed.size < n && Date.now() < deadline) {
    try {
      for await (const wf of client.workflow.list({ query: `TaskQueue = '${taskQueue}' AND ExecutionStatus != 'Running'` })) {
        if (handles.has(wf.workflowId)) closed.add(wf.workflowId);
      }
    } catch {
      // The server is restarting: try again.
    }
    const done = closed.size / n;
    while (events.length && done >= events[0]!.at) {
      const ev = events.shift()!;
      if (ev.what === 'kill') {
        worker.kill();
        log(`SIGKILL the worker (${closed.size}/${n} closed)`);
      } else {
        log(`restarting the Temporal dev server (${closed.size}/${n} closed)`);
        await server.stop();
        server = await startServer();
        serverRestartsDone++;
        log(`Temporal dev server back on ${server.address}`);
      }
    }
    if (Date.now() - lastNote > 10_000) {
      lastNote = Date.now();
      log(`${closed.size}/${n} closed`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  // Events still due (a run faster than its schedule) happen now, so the profile's counts always hold.
  for (const ev of events) {
    if (ev.what === 'kill') worker.kill();
    else {
      await server.stop();
      server = await startServer();
      serverRestartsDone++;
    }
  }

  // Outcomes.
  const served = new Map(sandbox.served().map((o) => [o.key, o]));
  const outcomes: Outcome[] = [];
  for (const { p, handle } of handles.values()) {
    const desc = await retrying(`describe ${handle.workflowId}`, () => handle.describe(), deadline + 60_000);
    const o: Outcome = { id: handle.workflowId, pipeline: p.pipeline, status: 'other', files: [] };
    let result: unknown;
    if (desc.status.name === 'RUNNING') o.status = 'running';
    else if (desc.status.name === 'COMPLETED') {
      o.status = 'completed';
      result = await handle.result();
    } else if (desc.status.name === 'FAILED') {
      o.status = 'failed';
      try {
        await handle.result();
      } catch (err) {
        o.failureType = failureType(err instanceof WorkflowFailedError ? err.cause : err);
        o.failure = failureMessage(err);
        // A partial failure still delivered files: they must be right too.
        const details = (err as WorkflowFailedError).cause as { details?: unknown[] } | undefined;
        result = details?.details?.[0];
      }
    }
    for (const f of outputFiles(result)) {
      let why: string | undefined;
      const key = f.providerUrl ? new URL(f.providerUrl).pathname.replace(/^\/o\//, '') : undefined;
      if (f.uri) {
        const stored = s3 ? await sha256Object(s3, f.uri) : undefined;
        if (!stored) why = 'missing in the object store';
        else if (stored !== f.sha256) why = 'sha256 in the object store differs from the result';
      } else if (!values.local) why = 'delivered to a local file, not to the object store';
      else if (!fs.existsSync(f.path)) why = 'missing on disk';
      else if (sha256File(f.path) !== f.sha256) why = 'sha256 on disk differs from the result';
      else if (key && served.has(key)) {
        if (served.get(key)!.sha256 !== f.sha256) why = 'sha256 differs from what the sandbox served';
      } else if (p.expectSha256) {
        if (p.expectSha256 !== f.sha256) why = 'sha256 differs from what the sandbox derives for this text';
      } else why = `the sandbox has no record of serving ${f.providerUrl ?? f.path}`;
      o.files.push({ path: f.path, sha256: f.sha256, ok: !why, ...(why ? { why } : {}) });
    }
    outcomes.push(o);
  }

  // Duplicates: billable creates by key in the ledger, and LipDub shots by their scene marker.
  const ledger: LedgerEntry[] = sandbox.ledger();
  const byKey = new Map<string, number>();
  for (const e of ledger) {
    const k = `${e.provider} ${e.endpoint}`;
    if (!BILLABLE.has(k)) continue;
    const id = `${k} ${e.shotId ?? ''} ${e.key}`;
    byKey.set(id, (byKey.get(id) ?? 0) + 1);
  }
  const duplicates = [...byKey].filter(([, c]) => c > 1).map(([k, c]) => `${k} ×${c}`);
  const faults = sandbox.faultStats().total;
  sandbox.setFaults({});
  const lipdub = LipdubClient.fromEnv(sandbox.env());
  const shots = (await lipdub.listShots()).data;
  const shotsByScene = new Map<string, number>();
  for (const s of shots) if (s.shot_scene_name) shotsByScene.set(s.shot_scene_name, (shotsByScene.get(s.shot_scene_name) ?? 0) + 1);
  duplicates.push(...[...shotsByScene].filter(([, c]) => c > 1).map(([k, c]) => `lipdub shot ${k} ×${c}`));
  const t2vTexts = new Map<string, number>();
  for (const e of ledger) if (e.provider === 'text2video') t2vTexts.set(e.key, (t2vTexts.get(e.key) ?? 0) + 1);
  const freeResubmits = [...t2vTexts.values()].reduce((a, c) => a + c - 1, 0);

  // The object store: no multipart upload left incomplete, and what the fault proxy did.
  let storeLedger: StoreFaultLedger | undefined;
  const incompleteUploads: string[] = [];
  if (s3 && objectStore?.bucket) {
    storeLedger = storeProxy!.ledger();
    const res = await s3.send(new ListMultipartUploadsCommand({ Bucket: objectStore.bucket, Prefix: outputPrefix }));
    for (const u of res.Uploads ?? []) incompleteUploads.push(`${u.Key}#${u.UploadId}`);
  }
  const storeFaults = storeLedger?.faults;
  const rewritten = storeLedger ? Object.entries(storeLedger.completed).filter(([, c]) => c > 1).length : 0;

  const completed = outcomes.filter((o) => o.status === 'completed').length;
  const failed = outcomes.filter((o) => o.status === 'failed');
  const unclear = failed.filter((o) => !CLEAR_FAILURES.has(o.failureType ?? ''));
  const stuck = outcomes.filter((o) => o.status === 'running' || o.status === 'other');
  const files = outcomes.flatMap((o) => o.files);
  const badFiles = files.filter((f) => !f.ok);
  const failureCounts = new Map<string, number>();
  for (const o of failed) failureCounts.set(o.failureType ?? 'unknown', (failureCounts.get(o.failureType ?? 'unknown') ?? 0) + 1);
  const lost = unclear.length + stuck.length + badFiles.length + duplicates.length + incompleteUploads.length;
  const ok = lost === 0 && worker.kills >= kills && serverRestartsDone >= serverRestarts;

  const summary =
    `chaos ${ok ? 'PASS' : 'FAIL'}: ${n} pipelines, ${completed} completed, ${failed.length} failed with a reason ` +
    `(${[...failureCounts].map(([t, c]) => `${t} ${c}`).join(', ') || 'none'}), ${unclear.length} failed unclearly, ${stuck.length} stuck; ` +
    `${duplicates.length} duplicate billable creates (${ledger.length} creates performed, ${freeResubmits} free text2video resubmits); ` +
    `${files.length - badFiles.length}/${files.length} files sha256-verified; ` +
    `faults injected: ${Object.entries(faults).map(([k, v]) => `${k} ${v}`).join(', ')}; ` +
    (storeFaults
      ? `store: part 503s ${storeFaults.partServerError}, slow parts ${storeFaults.partSlow}, refused completions ${storeFaults.writeServerError}, ` +
        `${incompleteUploads.length} incomplete uploads, ${rewritten} objects written again after a kill; `
      : 'outputs local; ') +
    `worker SIGKILLs ${worker.kills}, server restarts ${serverRestartsDone}; ${((Date.now() - t0) / 1000).toFixed(0)} s`;

  if (values.json) {
    fs.writeFileSync(
      values.json,
      JSON.stringify(
        {
          ok,
          summary,
          pipelines: n,
          completed,
          failed: failed.length,
          unclear,
          stuck,
          duplicates,
          freeResubmits,
          files: files.length,
          badFiles,
          faults,
          store: storeLedger ? { faults: storeLedger.faults, requests: storeLedger.requests, incompleteUploads, objectsWrittenAgain: rewritten } : null,
          kills: worker.kills,
          serverRestarts: serverRestartsDone,
          failures: Object.fromEntries(failureCounts),
          outcomes,
        },
        null,
        2,
      ),
    );
  }
  for (const o of unclear) log(`unclear failure: ${o.id}: ${o.failure}`);
  for (const o of stuck) log(`stuck: ${o.id} (${o.status})`);
  for (const d of duplicates) log(`duplicate: ${d}`);
  for (const f of badFiles) log(`bad file: ${f.path}: ${f.why}`);
  for (const u of incompleteUploads) log(`incomplete multipart upload left: ${u}`);

  await client.connection.close();
  await worker.stop();
  await server.stop();
  await sandbox.close();
  s3?.destroy();
  await storeProxy?.close();
  await objectStore?.stop();
  if (!values.keep) fs.rmSync(dir, { recursive: true, force: true });
  else log(`kept ${dir}`);
  process.stdout.write(summary + '\n');
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`chaos: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(2);
  },
);
