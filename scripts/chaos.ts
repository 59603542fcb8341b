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
 * It also does what users and infrastructure do, and checks what that must leave behind:
 *
 *   - cancels (seeded choice) right after the start, while uploading, while waiting at the provider and
 *     while downloading (moments read from each run's progress query): each cancelled run's
 *     `leftAtProvider` is compared, as soon as it closes, with the sandbox's running jobs of that run
 *     (every job still running must be listed; every listed job must be one the provider made for it);
 *   - terminates while a run waits at the provider holding a limiter slot: its provider jobs are listed
 *     from the sandbox's ledger against the ids the run recorded, and after the run no limiter may hold
 *     a slot for a closed run (REELAY_LIMITER_RECLAIM_CHECK_SECONDS=5; the check waits two intervals);
 *   - SIGTERM deploys while LipDub/DubLab transfers are in flight: the old worker drains and exits 0
 *     while a new one takes over;
 *   - a network partition between the worker and the server (a TCP proxy, src/dev/tcp-proxy.ts, cut for
 *     60 s; 15 s in the ci profile);
 *   - a full local disk: some pipelines run on a second worker whose output and temp directory is a
 *     small tmpfs (needs root; skipped with a message otherwise), filled to 8 MiB free for a while;
 *   - provider clocks 30 s ahead of the worker or behind it (the sandbox's clockOffsetMs);
 *   - and it reports the highest attempt any activity reached (from the histories).
 *
 * It prints one summary line (and, with --json, writes the details) and exits 1 on any loss (2 when the
 * harness itself fails, 3 on an error nothing caught).
 *
 *   npm run chaos                        the full profile: 200 pipelines, 3 worker kills, 1 server restart,
 *                                        12 cancels, 4 terminates, 2 deploys, a 60 s partition, 10 disk pipelines
 *   npm run chaos -- --profile ci        the small one CI runs: 25 pipelines, 1 kill, 1 restart, 4 cancels,
 *                                        1 terminate, 1 deploy, a 15 s partition, 3 disk pipelines
 *   options: --pipelines N --kills K --server-restarts R --cancels C --terminates T --deploys D
 *            --partition-seconds S --disk-pipelines P --seed S --timeout-minutes M --json FILE --keep --local
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { WorkflowFailedError, WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { bundleWorkflowCode } from '@temporalio/worker';
import { connectClient, progressQuery, startPipeline, type PipelineName, type PipelineProgress } from '../src/client';
import { workflowBundleOptions } from '../src/codec';
import { failureMessage, outputFiles } from '../src/cli/pipelines';
import { ensureTemporalCli, freePort, startDevServer, type DevServer } from '../src/dev/temporal';
import { ensureVersitygw, startObjectStore, type ObjectStoreServer } from '../src/dev/objectstore';
import { mulberry32, startStoreFaultProxy, type StoreFaultLedger, type StoreFaultProxy } from '../src/dev/store-faults';
import { startTcpProxy, type TcpProxy } from '../src/dev/tcp-proxy';
import { limiterStateQuery, limiterWorkflowId, type LimiterState } from '../src/contract/limiter';
import { REELAY_JOB_IDS } from '../src/contract/search-attributes';
import { GetObjectCommand, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import { LipdubClient } from '../src/pipelines/lipdub/client';
import { startSandbox, type RunningJob, type Sandbox } from '../src/sandbox';
import { sha256Hex, text2videoOutput } from '../src/sandbox/derive';
import type { FaultProfileInput, LedgerEntry } from '../src/sandbox/faults';
import { WORKFLOWS_PATH } from '../src/workers/worker';

const ROOT = path.resolve(__dirname, '..');
const PROVIDERS: PipelineName[] = ['lipdub', 'dublab', 'text2video', 'vividflow', 'aistudio'];

const PROFILES = {
  full: { pipelines: 200, kills: 3, serverRestarts: 1, timeoutMinutes: 30, cancels: 12, terminates: 4, deploys: 2, partitionSeconds: 60, diskPipelines: 10, diskFullSeconds: 40 },
  ci: { pipelines: 25, kills: 1, serverRestarts: 1, timeoutMinutes: 10, cancels: 4, terminates: 1, deploys: 1, partitionSeconds: 15, diskPipelines: 3, diskFullSeconds: 20 },
} as const;

/** The provider clocks are this far from the worker's: ahead at some providers, behind at the others. */
const CLOCK_SKEW_MS = { lipdub: 30_000, dublab: -30_000, text2video: 30_000, vividflow: -30_000, aistudio: 30_000, store: -30_000 };

/** The least time between two chaos events. */
const EVENT_GAP_MS = 5000;

/** How often (s) the limiters look for slots held by closed runs; the end check waits two of these at most. */
const RECLAIM_CHECK_SECONDS = 5;

/** The moments a cancel aims at, in turn: a run's progress stage shows where it is. */
const CANCEL_MOMENTS = ['start', 'uploading', 'provider', 'downloading'] as const;
type Moment = (typeof CANCEL_MOMENTS)[number];
/** Stages that are not a wait at the provider (everything else a pipeline reports is). */
const NOT_AT_PROVIDER = new Set(['starting', 'validating', 'uploading', 'downloading', 'completed', 'failed', 'cancelled', 'waiting-for-slot', 'submitting', 'checking-credits']);
function atMoment(stage: string, moment: Moment): boolean {
  if (moment === 'provider') return !NOT_AT_PROVIDER.has(stage);
  return stage === moment;
}

/** A small seeded PRNG: the same seed picks the same runs to cancel and terminate (seed 0 counts as 1). */
const rng = (seed: number): (() => number) => mulberry32(seed >>> 0 || 1);

/** The provider id an item of `leftAtProvider` names: `job 12`, `shot 746176 (...)`, `generation 456 (running)`, `dub f-1 (...)`, `video 9 (...)`. */
const idOfLeft = (item: string): string => /^(?:job|shot|generation|dub|video) (\S+)/.exec(item)?.[1] ?? `unparsed: ${item}`;

/** Whether a sandbox ledger or running-job key belongs to the run: the markers each pipeline puts into what it creates. */
function ofRun(p: Planned, workflowId: string, key: string): boolean {
  switch (p.pipeline) {
    case 'lipdub':
      return key.includes(`reelay:${workflowId}:`) || key.startsWith(`${workflowId}-`);
    case 'dublab':
      return key.includes(`[reelay:${workflowId}]`);
    case 'text2video':
      return key === p.input.text;
    default:
      return key === p.input.prompt;
  }
}

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
  /** Runs on the second worker, whose local output and temp directory is the small tmpfs that fills up. */
  disk?: boolean;
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
  private readonly draining = new Set<ChildProcess>();
  restarts = 0;
  kills = 0;
  /** Every exit of the current worker process (our SIGKILLs included), seconds after the supervisor started. */
  exits: Array<{ atSeconds: number; code: number | null; signal: string | null }> = [];
  private readonly t0 = Date.now();
  deploys = 0;
  /** How each worker replaced by a deploy ended: exit code (0 = drained and stopped) or signal, and how long it took. */
  drained: Array<{ code: number | null; signal: string | null; ms: number }> = [];

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    readonly logFile: string,
  ) {}

  start(): void {
    const out = fs.openSync(this.logFile, 'a');
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'worker'], { cwd: ROOT, env: this.env, stdio: ['ignore', out, out] });
    fs.closeSync(out);
    this.child = child;
    child.once('exit', (code, signal) => {
      if (this.stopping || this.child !== child) return;
      this.exits.push({ atSeconds: Math.round((Date.now() - this.t0) / 1000), code, signal });
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

  /**
   * A deploy: SIGTERM to the running worker (it stops polling and lets running activities finish, up to
   * REELAY_SHUTDOWN_GRACE) and a new worker process started at once, as a rolling update does.
   */
  deploy(): void {
    const old = this.child;
    if (!old || old.exitCode !== null || old.signalCode !== null) return;
    this.deploys++;
    const t = Date.now();
    this.draining.add(old);
    old.once('exit', (code, signal) => {
      this.draining.delete(old);
      this.drained.push({ code, signal, ms: Date.now() - t });
    });
    this.start();
    old.kill('SIGTERM');
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const children = [this.child, ...this.draining].filter((c): c is ChildProcess => !!c && c.exitCode === null && c.signalCode === null);
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
          }),
      ),
    );
  }
}

interface Outcome {
  id: string;
  pipeline: PipelineName;
  status: 'completed' | 'failed' | 'cancelled' | 'terminated' | 'running' | 'other';
  /** Cancelled or terminated by the run itself (then that ending is expected). */
  target?: 'cancel' | 'terminate';
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

interface Attempts {
  /** The highest attempt of any activity, which activity type and run. */
  max: { attempt: number; activityType: string; workflowId: string };
  /** The highest attempt per activity type. */
  byType: Record<string, number>;
  /** Activities of the disk pipelines whose last attempt came after one that failed on a full disk (ENOSPC). */
  diskFullRetries: number;
}

/** Scans the runs' histories: ActivityTaskStarted's attempt (the attempt that ended) and last failure. */
async function highestAttempts(client: Client, runs: Array<{ id: string; disk: boolean }>, until: number): Promise<Attempts> {
  const out: Attempts = { max: { attempt: 0, activityType: '', workflowId: '' }, byType: {}, diskFullRetries: 0 };
  for (const run of runs) {
    const history = await retrying(`history of ${run.id}`, () => client.workflow.getHandle(run.id).fetchHistory(), until);
    const types = new Map<string, string>();
    for (const e of history.events ?? []) {
      const scheduled = e.activityTaskScheduledEventAttributes;
      if (scheduled) types.set(String(e.eventId), scheduled.activityType?.name ?? '?');
      const started = e.activityTaskStartedEventAttributes;
      if (!started) continue;
      const type = types.get(String(started.scheduledEventId)) ?? '?';
      const attempt = started.attempt ?? 1;
      out.byType[type] = Math.max(out.byType[type] ?? 0, attempt);
      if (attempt > out.max.attempt) out.max = { attempt, activityType: type, workflowId: run.id };
      if (run.disk && /ENOSPC|no space left/i.test(JSON.stringify(started.lastFailure ?? ''))) out.diskFullRetries++;
    }
  }
  return out;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      profile: { type: 'string', default: 'full' },
      pipelines: { type: 'string' },
      kills: { type: 'string' },
      'server-restarts': { type: 'string' },
      cancels: { type: 'string' },
      terminates: { type: 'string' },
      deploys: { type: 'string' },
      'partition-seconds': { type: 'string' },
      'disk-pipelines': { type: 'string' },
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
  const deploys = num(values.deploys, base.deploys, 'deploys');
  const partitionSeconds = num(values['partition-seconds'], base.partitionSeconds, 'partition-seconds');
  const diskPipelines = Math.min(num(values['disk-pipelines'], base.diskPipelines, 'disk-pipelines'), Math.floor(n / 5));
  const cancels = Math.min(num(values.cancels, base.cancels, 'cancels'), Math.floor(n / 4));
  const terminates = Math.min(num(values.terminates, base.terminates, 'terminates'), Math.floor(n / 10) || 1);
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
    clockOffsetMs: CLOCK_SKEW_MS,
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
      // The ci profile uploads a few dozen parts: at 15 % a run can meet no slow part at all (one CI run did).
      firstPartFaults: ['serverError', 'slow'],
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

  // The worker reaches the server through a TCP proxy the run cuts for a while (a network partition).
  const grpcProxy: TcpProxy = await startTcpProxy({ target: server.address });
  const workerEnv = {
    ...process.env,
    ...sandbox.env(),
    TEMPORAL_ADDRESS: grpcProxy.address,
    REELAY_TASK_QUEUE: taskQueue,
    REELAY_OUTPUT_DIR: outputRoot,
    REELAY_WORKFLOW_BUNDLE: bundlePath,
    REELAY_VIVIDFLOW_REQUESTS_PER_SECOND: '500',
    // Vivid Flow through the shared limiter too (AI Studio's cap of 3 is its default), so slots meet cancels and terminates.
    REELAY_VIVIDFLOW_MAX_CONCURRENT_JOBS: '6',
    REELAY_LIMITER_RECLAIM_CHECK_SECONDS: String(RECLAIM_CHECK_SECONDS),
    REELAY_LOG_LEVEL: 'WARN',
  };
  const worker = new WorkerSupervisor({ ...workerEnv, ...storeEnv }, path.join(dir, 'worker.log'));
  worker.start();

  // Some pipelines run on a second worker whose local output and temp directory is a small tmpfs the
  // run fills up for a while: a full local disk.
  const diskQueue = `${taskQueue}-disk`;
  const diskDir = path.join(dir, 'disk');
  fs.mkdirSync(diskDir);
  let diskMounted = false;
  let diskSkip: string | undefined;
  if (diskPipelines > 0) {
    const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${values.local ? '16m' : '192m'}`, 'tmpfs', diskDir], { encoding: 'utf8' });
    if (mount.status === 0) diskMounted = true;
    else diskSkip = `mount -t tmpfs failed (${(mount.stderr || mount.error?.message || `exit ${mount.status}`).trim()}): the disk pipelines run on a plain directory, not filled`;
    if (diskSkip) log(`disk full skipped: ${diskSkip}`);
  }
  fs.mkdirSync(path.join(diskDir, 'out'));
  fs.mkdirSync(path.join(diskDir, 'tmp'));
  const diskWorker =
    diskPipelines > 0
      ? new WorkerSupervisor({ ...workerEnv, TEMPORAL_ADDRESS: server.address, REELAY_TASK_QUEUE: diskQueue, REELAY_OUTPUT_DIR: path.join(diskDir, 'out'), TMPDIR: path.join(diskDir, 'tmp') }, path.join(dir, 'worker-disk.log'))
      : undefined;
  diskWorker?.start();
  const diskFill = { filled: false, bytes: 0, freeLeft: 0, heldSeconds: 0 };
  const fillerFile = path.join(diskDir, 'filler');
  const fillDisk = () => {
    if (!diskMounted) return;
    // Leave less than one large output: the first downloads fit, the next ones hit ENOSPC mid-write.
    const leave = values.local ? 100_000 : 8 * 1024 * 1024;
    const st = fs.statfsSync(diskDir);
    const bytes = Math.max(0, st.bavail * st.bsize - leave);
    const fd = fs.openSync(fillerFile, 'w');
    const chunk = Buffer.alloc(1024 * 1024);
    for (let left = bytes; left > 0; left -= chunk.length) fs.writeSync(fd, chunk, 0, Math.min(chunk.length, left));
    fs.closeSync(fd);
    diskFill.filled = true;
    diskFill.bytes = bytes;
    diskFill.freeLeft = fs.statfsSync(diskDir).bavail * st.bsize;
    log(`filled the disk worker's tmpfs: ${(bytes / 1048576).toFixed(0)} MiB written, ${(diskFill.freeLeft / 1048576).toFixed(1)} MiB left`);
  };
  let diskFilledAt = 0;
  const freeDisk = () => {
    if (!diskFill.filled || !fs.existsSync(fillerFile)) return;
    fs.rmSync(fillerFile);
    diskFill.heldSeconds = Math.round((Date.now() - diskFilledAt) / 1000);
    log(`freed the disk worker's tmpfs after ${diskFill.heldSeconds} s`);
  };

  const client = await connectClient({ ...process.env, TEMPORAL_ADDRESS: server.address, TEMPORAL_NAMESPACE: 'default' });
  const planned = plan(n, tag, inputs);
  // Disk pipelines: one of each provider in turn, from the end of the plan (LipDub and DubLab first: their outputs are the large ones).
  for (let k = 0; k < diskPipelines; k++) planned[n - 5 * (k + 1) + (k % 5)]!.disk = true;

  // Who is cancelled, and when; who is terminated (seeded, like the faults).
  const random = rng(seed * 7919 + 17);
  const shuffled = <T>(xs: T[]): T[] => {
    const a = [...xs];
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  };
  interface Target {
    p: Planned;
    action: 'cancel' | 'terminate';
    moment: Moment;
    /** The stage its progress showed when the cancel or terminate was sent ('start': right after the start). */
    sentAt?: string;
    /** It closed before it got to the moment: nothing was sent. */
    missed?: boolean;
  }
  const targets: Target[] = [];
  const free = () => shuffled(planned.filter((p) => !p.disk && !targets.some((t) => t.p === p)));
  for (let k = 0; k < cancels; k++) {
    const moment = CANCEL_MOMENTS[k % CANCEL_MOMENTS.length]!;
    // Only LipDub and DubLab move files large enough to be caught uploading or downloading.
    const p = free().find((c) => (moment === 'uploading' || moment === 'downloading' ? c.pipeline === 'lipdub' || c.pipeline === 'dublab' : true));
    if (p) targets.push({ p, action: 'cancel', moment });
  }
  for (let k = 0; k < terminates; k++) {
    // Terminated while it waits at the provider, holding a job slot (AI Studio and Vivid Flow go through the limiter).
    const p = free().find((c) => (k % 2 === 0 ? c.pipeline === 'aistudio' : c.pipeline === 'vividflow'));
    if (p) targets.push({ p, action: 'terminate', moment: 'provider' });
  }

  const handles = new Map<string, { p: Planned; handle: WorkflowHandle }>();
  const workflowIdOf = new Map<Planned, string>();
  const act = async (t: Target, handle: WorkflowHandle, stage: string) => {
    t.sentAt = stage;
    if (t.action === 'cancel') await handle.cancel();
    else await handle.terminate('chaos: terminated mid-run');
    log(`${t.action === 'cancel' ? 'cancelled' : 'terminated'} ${handle.workflowId} at ${stage}`);
  };
  for (const p of planned) {
    const started = await startPipeline(client, p.pipeline, p.input, { taskQueue: p.disk ? diskQueue : taskQueue, key: p.key });
    handles.set(started.workflowId, { p, handle: started.handle });
    workflowIdOf.set(p, started.workflowId);
    const t = targets.find((x) => x.p === p && x.moment === 'start');
    if (t) await act(t, started.handle, 'start');
  }
  log(
    `started ${n} pipelines on ${taskQueue}: ${PROVIDERS.map((pr) => `${planned.filter((p) => p.pipeline === pr).length} ${pr}`).join(', ')}; ` +
      `${diskPipelines} of them on ${diskQueue} (tmpfs output); to cancel ${targets.filter((t) => t.action === 'cancel').length}, to terminate ${targets.filter((t) => t.action === 'terminate').length}`,
  );
  if (diskMounted) {
    fillDisk();
    diskFilledAt = Date.now();
  }

  const closed = new Set<string>();
  // Each target is watched through its progress query until it is at its moment.
  const watch = async (t: Target): Promise<void> => {
    const id = workflowIdOf.get(t.p)!;
    const { handle } = handles.get(id)!;
    while (Date.now() < deadline && !closed.has(id)) {
      let progress: PipelineProgress | undefined;
      try {
        progress = await handle.query(progressQuery);
      } catch {
        // No worker answered (killed, partitioned, restarting server), or it has just closed.
      }
      if (progress && atMoment(progress.stage, t.moment)) {
        await act(t, handle, progress.stage).catch((err: unknown) => log(`${t.action} ${id}: ${(err as Error).message}`));
        return;
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    t.missed = true;
    log(`${id} closed before it was ${t.moment === 'provider' ? 'at the provider' : t.moment}: not ${t.action === 'cancel' ? 'cancelled' : 'terminated'}`);
  };
  const watchers = targets.filter((t) => t.moment !== 'start').map(watch);

  /** A cancelled run's report against the sandbox, taken as soon as the run closed. */
  interface CancelCheck {
    id: string;
    provider: PipelineName;
    moment: Moment;
    sentAt?: string;
    status: string;
    leftAtProvider?: string[];
    /** This run's jobs the sandbox had running when the run closed. */
    runningAtClose: string[];
    /** Listed as left but no longer running by the time the sandbox was asked (jobs take a few hundred ms here). */
    endedSince: string[];
    /** Calls the cancel cut short, named in leftAtProvider (src/workflows/shared/cut-short.ts). */
    cutShort?: number;
    ok: boolean;
    why?: string;
  }
  const cancelChecks: CancelCheck[] = [];
  const checkCancelled = async (t: Target): Promise<void> => {
    const id = workflowIdOf.get(t.p)!;
    const { handle } = handles.get(id)!;
    const closedAs = await handle.result().then(
      () => 'COMPLETED',
      (err: unknown) => (err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure ? 'CANCELLED' : 'FAILED'),
    );
    const running = sandbox.running(t.p.pipeline as RunningJob['provider']).filter((j) => ofRun(t.p, id, j.key));
    const ledgerIds = new Set(sandbox.ledger().filter((e) => e.provider === t.p.pipeline && ofRun(t.p, id, e.key)).map((e) => e.id));
    // A LipDub shot is made by the upload's success, not by a create the ledger keeps: the run's shots come
    // from LipDub's own list (a listed shot that finished before this check is then still the run's).
    if (t.p.pipeline === 'lipdub') {
      // The sandbox injects its faults into this call too (a 429, a 502): asked again until it answers.
      const lipdub = LipdubClient.fromEnv(sandbox.env());
      let shots: Awaited<ReturnType<LipdubClient['listShots']>>['data'] | undefined;
      for (let tries = 1; !shots; tries++) {
        shots = await lipdub.listShots().then(
          (r) => r.data,
          async (err: unknown) => {
            if (tries >= 30) throw err;
            await new Promise((r) => setTimeout(r, 1000));
            return undefined;
          },
        );
      }
      for (const s of shots) if (s.shot_scene_name && ofRun(t.p, id, s.shot_scene_name)) ledgerIds.add(String(s.shot_id));
    }
    let progress: PipelineProgress | undefined;
    const queryDeadline = Math.min(deadline, Date.now() + 120_000);
    while (!progress && Date.now() < queryDeadline) {
      progress = await handle.query(progressQuery).catch(() => undefined);
      if (!progress) await new Promise((r) => setTimeout(r, 1000));
    }
    const c: CancelCheck = { id, provider: t.p.pipeline, moment: t.moment, sentAt: t.sentAt, status: closedAs, runningAtClose: running.map((j) => j.id), endedSince: [], ok: true };
    if (progress?.leftAtProvider) c.leftAtProvider = progress.leftAtProvider;
    if (!progress) Object.assign(c, { ok: false, why: 'no worker answered the progress query' });
    else if (closedAs === 'CANCELLED') {
      // A call the cancel cut short is named, not its job (its outcome at the provider is unknown): a job of
      // the run running unlisted is accounted for by that line.
      const cutShort = (progress.leftAtProvider ?? []).filter((item) => item.startsWith('call "'));
      const left = (progress.leftAtProvider ?? []).filter((item) => !cutShort.includes(item)).map(idOfLeft);
      const silent = cutShort.length ? [] : c.runningAtClose.filter((j) => !left.includes(j));
      c.cutShort = cutShort.length;
      const unknown = left.filter((j) => !c.runningAtClose.includes(j) && !ledgerIds.has(j) && !running.some((r) => r.id === j));
      c.endedSince = left.filter((j) => !c.runningAtClose.includes(j) && !unknown.includes(j));
      if (progress.stage !== 'cancelled') Object.assign(c, { ok: false, why: `ended cancelled but its progress says ${progress.stage}` });
      else if (silent.length) Object.assign(c, { ok: false, why: `still running at the provider but not in leftAtProvider: ${silent.join(', ')}` });
      else if (unknown.length) Object.assign(c, { ok: false, why: `leftAtProvider names jobs the provider never created for this run: ${unknown.join(', ')}` });
    } else if (closedAs === 'COMPLETED' && c.runningAtClose.length) {
      // The cancel came after the last step: nothing of it may still run.
      Object.assign(c, { ok: false, why: `completed, yet the provider still runs ${c.runningAtClose.join(', ')}` });
    }
    cancelChecks.push(c);
  };
  const cancelChecksDone = targets
    .filter((t) => t.action === 'cancel')
    .map(async (t) => {
      const started = Date.now();
      while (!t.sentAt && !t.missed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      if (t.sentAt) await checkCancelled(t).catch((err: unknown) => log(`checking ${workflowIdOf.get(t.p)}: ${(err as Error).message} (${Date.now() - started} ms)`));
    });

  // Chaos events at fractions of the work done: kills and deploys spread over the run, the server restart
  // in the middle, the partition early enough that plenty is in flight.
  type EventKind = 'kill' | 'restart' | 'deploy' | 'partition';
  const events: Array<{ at: number; what: EventKind }> = [
    ...Array.from({ length: kills }, (_, k) => ({ at: (k + 1) / (kills + 1.5), what: 'kill' as const })),
    ...Array.from({ length: serverRestarts }, (_, k) => ({ at: (k + 1) / (serverRestarts + 1) + 0.05, what: 'restart' as const })),
    ...Array.from({ length: deploys }, (_, k) => ({ at: (k + 0.6) / (deploys + 1), what: 'deploy' as const })),
    ...(partitionSeconds > 0 ? [{ at: 0.2, what: 'partition' as const }] : []),
  ].sort((a, b) => a.at - b.at);
  let serverRestartsDone = 0;
  const deploysInFlight: number[] = [];
  const partition = { cuts: 0, seconds: 0, connectionsBefore: 0, connectionsAfter: 0, refused: 0 };
  let partitionOver: Promise<void> | undefined;
  let deployWaitSince = 0;
  /** Runs of LipDub and DubLab (large files) now uploading or downloading, by their progress. */
  const transfersInFlight = async (): Promise<number> => {
    const open = [...handles.values()].filter(({ p, handle }) => (p.pipeline === 'lipdub' || p.pipeline === 'dublab') && !p.disk && !closed.has(handle.workflowId)).slice(0, 12);
    const stages = await Promise.all(open.map(({ handle }) => handle.query(progressQuery).then((pr) => pr.stage, () => undefined)));
    return stages.filter((st) => st === 'uploading' || st === 'downloading').length;
  };
  const runEvent = async (what: EventKind): Promise<boolean> => {
    if (what === 'kill') {
      worker.kill();
      log(`SIGKILL the worker (${closed.size}/${n} closed)`);
    } else if (what === 'restart') {
      log(`restarting the Temporal dev server (${closed.size}/${n} closed)`);
      await server.stop();
      server = await startServer();
      grpcProxy.retarget(server.address);
      serverRestartsDone++;
      log(`Temporal dev server back on ${server.address}`);
    } else if (what === 'deploy') {
      // Wait (up to 30 s) for a moment when transfers are in flight.
      deployWaitSince ||= Date.now();
      const inFlight = await transfersInFlight();
      if (inFlight === 0 && Date.now() - deployWaitSince < 30_000 && closed.size < n) return false;
      deployWaitSince = 0;
      deploysInFlight.push(inFlight);
      worker.deploy();
      log(`deploy: SIGTERM the worker and start a new one, ${inFlight} LipDub/DubLab transfers in flight (${closed.size}/${n} closed)`);
    } else {
      partition.connectionsBefore = grpcProxy.stats().connections;
      grpcProxy.cut();
      partition.cuts++;
      const cutAt = Date.now();
      log(`network partition: the worker's connection to the server is cut for ${partitionSeconds} s (${closed.size}/${n} closed)`);
      partitionOver = new Promise<void>((resolve) =>
        setTimeout(() => {
          grpcProxy.restore();
          partition.seconds = Math.round((Date.now() - cutAt) / 1000);
          partition.refused = grpcProxy.stats().refused;
          log(`network partition over after ${partition.seconds} s (${partition.refused} connection attempts refused)`);
          resolve();
        }, partitionSeconds * 1000),
      );
    }
    return true;
  };
  const queues = `(TaskQueue = '${taskQueue}'${diskPipelines ? ` OR TaskQueue = '${diskQueue}'` : ''})`;
  let lastNote = 0;
  let lastEventAt = 0;
  while (closed.size < n && Date.now() < deadline) {
    try {
      for await (const wf of client.workflow.list({ query: `${queues} AND ExecutionStatus != 'Running'` })) {
        if (handles.has(wf.workflowId)) closed.add(wf.workflowId);
      }
    } catch {
      // The server is restarting: try again.
    }
    const done = closed.size / n;
    // At most one event every few seconds, so that each meets the others' aftermath rather than piling up.
    while (events.length && done >= events[0]!.at && Date.now() - lastEventAt >= EVENT_GAP_MS) {
      if (!(await runEvent(events[0]!.what))) break;
      events.shift();
      lastEventAt = Date.now();
    }
    // The disk stays full for the profile's time, and longer (up to three times that) until a download has met it.
    if (diskFilledAt && !diskFill.heldSeconds) {
      const held = Date.now() - diskFilledAt;
      const met = diskWorker && fs.existsSync(diskWorker.logFile) && fs.readFileSync(diskWorker.logFile, 'utf8').includes('ENOSPC');
      if (held >= base.diskFullSeconds * 1000 && (met || held >= 3 * base.diskFullSeconds * 1000)) freeDisk();
    }
    if (Date.now() - lastNote > 10_000) {
      lastNote = Date.now();
      log(`${closed.size}/${n} closed`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  // Events still due (a run faster than its schedule) happen now, so the profile's counts always hold.
  for (const ev of events) {
    while (!(await runEvent(ev.what))) await new Promise((r) => setTimeout(r, 1000));
  }
  await partitionOver;
  freeDisk();
  await Promise.all(watchers);
  await Promise.all(cancelChecksDone);
  partition.connectionsAfter = grpcProxy.stats().connections;
  // Outcomes.
  // What the sandbox served of each object. A resumed download was served in pieces (a body cut short, then
  // a range): its whole object is read again through a signed URL; otherwise the largest whole serve is it.
  const servedLog = sandbox.served();
  const served = new Map<string, { sha256: string }>();
  for (const o of servedLog) {
    if (o.from !== undefined) continue;
    const seen = servedLog.find((x) => x.key === o.key && x.from === undefined && x.bytes > o.bytes);
    if (!seen) served.set(o.key, o);
  }
  for (const key of new Set(servedLog.filter((o) => o.from !== undefined).map((o) => o.key))) {
    const url = sandbox.signedUrl('GET', key, '', 600);
    const sha = await retrying(
      `read ${key} from the sandbox`,
      async () => {
        const res = await fetch(url);
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        return sha256Hex(Buffer.from(await res.arrayBuffer()));
      },
      deadline + 60_000,
    );
    served.set(key, { sha256: sha });
  }
  const outcomes: Outcome[] = [];
  for (const { p, handle } of handles.values()) {
    const desc = await retrying(`describe ${handle.workflowId}`, () => handle.describe(), deadline + 60_000);
    const target = targets.find((t) => t.p === p && t.sentAt);
    const o: Outcome = { id: handle.workflowId, pipeline: p.pipeline, status: 'other', files: [], ...(target ? { target: target.action } : {}) };
    let result: unknown;
    if (desc.status.name === 'RUNNING') o.status = 'running';
    else if (desc.status.name === 'CANCELLED' && target?.action === 'cancel') o.status = 'cancelled';
    else if (desc.status.name === 'TERMINATED' && target?.action === 'terminate') o.status = 'terminated';
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
      } else if (!values.local && !p.disk) why = 'delivered to a local file, not to the object store';
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

  // Terminated runs clean nothing up: list what each left at the provider from the sandbox's ledger and
  // running jobs, against the job ids the run had recorded (its ReelayJobIds search attribute).
  const terminated: Array<{ id: string; provider: PipelineName; sentAt?: string; status: string; jobs: Array<{ id: string; endpoint?: string; running: boolean; knownToRun: boolean }> }> = [];
  for (const t of targets.filter((x) => x.action === 'terminate' && x.sentAt)) {
    const id = workflowIdOf.get(t.p)!;
    const { handle } = handles.get(id)!;
    const desc = await retrying(`describe ${id}`, () => handle.describe(), deadline + 60_000);
    const known = new Set((desc.typedSearchAttributes.get(REELAY_JOB_IDS) ?? []).map(String));
    const running = sandbox.running(t.p.pipeline as RunningJob['provider']).filter((j) => ofRun(t.p, id, j.key));
    const jobs = new Map<string, { id: string; endpoint?: string; running: boolean; knownToRun: boolean }>();
    for (const e of sandbox.ledger()) {
      if (e.provider === t.p.pipeline && ofRun(t.p, id, e.key)) jobs.set(e.id, { id: e.id, endpoint: e.endpoint, running: false, knownToRun: known.has(e.id) });
    }
    for (const j of running) jobs.set(j.id, { ...(jobs.get(j.id) ?? { id: j.id, knownToRun: known.has(j.id) }), running: true });
    terminated.push({ id, provider: t.p.pipeline, sentAt: t.sentAt, status: desc.status.name, jobs: [...jobs.values()] });
  }

  // Limiter slots: every holder must be a running run; slots of closed runs (terminated above) are
  // reclaimed every RECLAIM_CHECK_SECONDS, so wait up to two checks (and a little) for them to go.
  const limiters: Array<{ provider: string; taskQueue: string; state?: LimiterState; closedHolders: string[] }> = [];
  const slotDeadline = Date.now() + (2 * RECLAIM_CHECK_SECONDS + 5) * 1000;
  for (;;) {
    limiters.length = 0;
    for (const provider of PROVIDERS) {
      for (const queue of diskPipelines ? [taskQueue, diskQueue] : [taskQueue]) {
        const handle = client.workflow.getHandle(limiterWorkflowId(provider, queue));
        let state: LimiterState | undefined;
        try {
          state = await handle.query(limiterStateQuery);
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) continue;
          state = await retrying(`query ${handle.workflowId}`, () => handle.query(limiterStateQuery), Date.now() + 30_000);
        }
        const closedHolders: string[] = [];
        for (const h of state.holders) {
          const d = await client.workflow
            .getHandle(h.requesterId, h.requesterRunId)
            .describe()
            .catch(() => undefined);
          if (d?.status.name !== 'RUNNING') closedHolders.push(`${h.requesterId} (${d?.status.name ?? 'not found'})`);
        }
        limiters.push({ provider, taskQueue: queue, state, closedHolders });
      }
    }
    if (limiters.every((l) => l.closedHolders.length === 0) || Date.now() > slotDeadline) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  const slotsHeldByClosed = limiters.flatMap((l) => l.closedHolders.map((h) => `${limiterWorkflowId(l.provider, l.taskQueue)}: ${h}`));
  const slotsReclaimed = limiters.reduce((a, l) => a + (l.state?.reclaimed ?? 0), 0);

  // The highest attempt any activity reached, from the histories (ActivityTaskStarted carries the attempt
  // that ended, and the previous attempt's failure); and how often a full disk was the reason.
  const attempts = await highestAttempts(client, [...handles.values()].map(({ p, handle }) => ({ id: handle.workflowId, disk: !!p.disk })), deadline + 120_000);

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
  const cancelled = outcomes.filter((o) => o.status === 'cancelled').length;
  const terminatedCount = outcomes.filter((o) => o.status === 'terminated').length;
  const cancelMismatches = cancelChecks.filter((c) => !c.ok);
  const cutShortCalls = cancelChecks.reduce((n, c) => n + (c.cutShort ?? 0), 0);
  const cancelsSent = targets.filter((t) => t.action === 'cancel' && t.sentAt).length;
  const cancelTargets = targets.filter((t) => t.action === 'cancel').length;
  const cancelsMissed = targets.filter((t) => t.action === 'cancel' && t.missed).length;
  const workerExitsOnItsOwn = worker.restarts - worker.kills;
  const leftMatched = cancelChecks.filter((c) => c.ok && c.status === 'CANCELLED').length;
  const endedSince = cancelChecks.reduce((a, c) => a + c.endedSince.length, 0);
  const terminatedJobs = terminated.flatMap((t) => t.jobs);
  const badDrains = worker.drained.filter((d) => d.code !== 0);
  const diskLogRetries = diskWorker && fs.existsSync(diskWorker.logFile) ? fs.readFileSync(diskWorker.logFile, 'utf8').split('\n').filter((l) => /ENOSPC/.test(l)).length : 0;
  const lost = unclear.length + stuck.length + badFiles.length + duplicates.length + incompleteUploads.length + cancelMismatches.length + slotsHeldByClosed.length;
  const missing: string[] = [];
  if (worker.kills < kills) missing.push(`${worker.kills}/${kills} SIGKILLs`);
  if (serverRestartsDone < serverRestarts) missing.push(`${serverRestartsDone}/${serverRestarts} server restarts`);
  if (worker.deploys < deploys) missing.push(`${worker.deploys}/${deploys} deploys`);
  if (worker.drained.length < worker.deploys) missing.push(`${worker.deploys - worker.drained.length} deployed-away workers still running`);
  if (badDrains.length) missing.push(`deployed-away workers that did not stop cleanly: ${badDrains.map((d) => d.signal ?? `exit ${d.code}`).join(', ')}`);
  if (partitionSeconds > 0 && partition.cuts < 1) missing.push('no partition');
  if (diskMounted && !diskFill.filled) missing.push('the disk was not filled');
  if (cancelChecks.length < cancelsSent) missing.push(`${cancelsSent - cancelChecks.length} cancelled runs not checked`);
  const ok = lost === 0 && missing.length === 0;

  const summary =
    `chaos ${ok ? 'PASS' : 'FAIL'}: ${n} pipelines, ${completed} completed, ${failed.length} failed with a reason ` +
    `(${[...failureCounts].map(([t, c]) => `${t} ${c}`).join(', ') || 'none'}), ${unclear.length} failed unclearly, ${stuck.length} stuck; ` +
    `${cancelled} cancelled of ${cancelTargets} aimed (${cancelsMissed} closed before their moment; leftAtProvider matched the sandbox for ${leftMatched}/${cancelled}, ${endedSince} listed jobs ended since, ${cutShortCalls} calls cut short by the cancel; ${cancelMismatches.length} mismatches), ` +
    `${terminatedCount} terminated of ${targets.filter((t) => t.action === 'terminate').length} aimed (${terminatedJobs.length} provider jobs listed, ${terminatedJobs.filter((j) => j.running).length} still running), ` +
    `${slotsHeldByClosed.length} slots held by closed runs (${slotsReclaimed} reclaimed); ` +
    `${duplicates.length} duplicate billable creates (${ledger.length} creates performed, ${freeResubmits} free text2video resubmits); ` +
    `${files.length - badFiles.length}/${files.length} files sha256-verified; ` +
    `faults injected: ${Object.entries(faults).map(([k, v]) => `${k} ${v}`).join(', ')}; ` +
    (storeFaults
      ? `store: part 503s ${storeFaults.partServerError}, slow parts ${storeFaults.partSlow}, refused completions ${storeFaults.writeServerError}, ` +
        `${incompleteUploads.length} incomplete uploads, ${rewritten} objects written again after a kill; `
      : 'outputs local; ') +
    `worker SIGKILLs ${worker.kills} (exits on its own ${workerExitsOnItsOwn}), SIGTERM deploys ${worker.deploys} (${deploysInFlight.reduce((a, c) => a + c, 0)} transfers in flight, ${worker.drained.length - badDrains.length} old workers drained), ` +
    `server restarts ${serverRestartsDone}, partition ${partition.seconds} s, ` +
    (diskMounted ? `disk full ${diskFill.heldSeconds} s (${diskLogRetries} attempts failed with ENOSPC), ` : diskSkip ? 'disk full skipped, ' : '') +
    `clock skew ±${CLOCK_SKEW_MS.lipdub / 1000} s; ` +
    `highest activity attempt ${attempts.max.attempt} (${attempts.max.activityType}); ` +
    (missing.length ? `MISSING: ${missing.join(', ')}; ` : '') +
    `${((Date.now() - t0) / 1000).toFixed(0)} s`;

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
          workerExitsOnItsOwn,
          workerExits: worker.exits,
          serverRestarts: serverRestartsDone,
          cancelled,
          cancels: { sent: cancelsSent, missed: targets.filter((t) => t.action === 'cancel' && t.missed).map((t) => workflowIdOf.get(t.p)), checks: cancelChecks, mismatches: cancelMismatches },
          terminated,
          limiters: limiters.map((l) => ({ workflowId: limiterWorkflowId(l.provider, l.taskQueue), holders: l.state?.holders.length ?? 0, reclaimed: l.state?.reclaimed ?? 0, closedHolders: l.closedHolders })),
          slotsHeldByClosed,
          deploys: { count: worker.deploys, transfersInFlight: deploysInFlight, drained: worker.drained },
          partition: { seconds: partition.seconds, cuts: partition.cuts, refusedConnections: partition.refused, connectionsBefore: partition.connectionsBefore, connectionsAfter: partition.connectionsAfter },
          disk: diskPipelines ? { mounted: diskMounted, skip: diskSkip ?? null, pipelines: diskPipelines, ...diskFill, enospcRetries: attempts.diskFullRetries, enospcInWorkerLog: diskLogRetries } : null,
          clockSkewMs: CLOCK_SKEW_MS,
          attempts,
          missing,
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
  for (const c of cancelMismatches) log(`cancel mismatch: ${c.id} (${c.moment}, sent at ${c.sentAt}): ${c.why}`);
  for (const h of slotsHeldByClosed) log(`slot held by a closed run: ${h}`);
  for (const m of missing) log(`missing: ${m}`);

  await client.connection.close();
  await worker.stop();
  await diskWorker?.stop();
  await grpcProxy.close();
  await server.stop();
  await sandbox.close();
  s3?.destroy();
  await storeProxy?.close();
  await objectStore?.stop();
  if (diskMounted && !values.keep) spawnSync('umount', [diskDir]);
  else if (diskMounted) log(`left the tmpfs mounted on ${diskDir} (--keep): umount it when done`);
  if (!values.keep) fs.rmSync(dir, { recursive: true, force: true });
  else log(`kept ${dir}`);
  process.stdout.write(summary + '\n');
  return ok ? 0 : 1;
}

// Anything that escapes (an error event, a promise nobody awaited) says so and exits 3, not a bare 1.
for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
  process.on(event, (err: unknown) => {
    process.stderr.write(`chaos: ${event}: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(3);
  });
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`chaos: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(2);
  },
);
