/**
 * Transfers: a 1 GiB upload (PUT to a signed URL) and download (GET) through Reelay's streaming transfer
 * code, next to `curl` against the same sandbox object store endpoint, same file, same run.
 *
 * Reelay's side is a real Temporal worker in a process of its own (transfers-worker.ts) on a dev server
 * of the bench's: a one-activity workflow runs uploadToSignedUrl / downloadToFile with
 * activityTransferHooks (heartbeats with bytes done, cancellation), as the pipelines' activities do. Its
 * RSS is sampled from /proc; growth is counted from its idle RSS after a small warm-up round trip (the
 * first task builds the workflow sandbox and loads the HTTP client). The sandbox store runs in this
 * process and `curl` in its own, so neither counts. Throughput is bytes over the transfer's own time:
 * measured inside the activity for Reelay (workflow round trips excluded; in the JSON as `wallSeconds`),
 * curl's `%{time_total}` for curl. Runs alternate which tool goes first and `sync` before each, so
 * neither inherits the other's dirty pages.
 */
import { spawn, spawnSync, fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { MiB, cpuSeconds, envWholeNumber, median, round, rssBytes, rssSampler, startBenchServer, type BenchServer, writeRandomFile } from './support';
import type { BenchTransferRequest, BenchTransferResult, BenchWorkerConfig } from './transfers-worker';
import type { benchTransfer } from './transfers-workflow';
import type { BenchContext, BenchSection, Figure, SectionResult } from './types';

const FULL_BYTES = 1024 * MiB;
const QUICK_BYTES = 32 * MiB;
const FULL_REPETITIONS = 3;
const CONTENT_TYPE = 'video/mp4';
const OBJECT_KEY = 'bench/transfers/object.mp4';
const RSS_SAMPLE_MS = 20;
const WARMUP_BYTES = 8 * MiB;
const RATIO_TARGET = 0.9;
const RSS_TARGET_MIB = 64;

type Kind = 'upload' | 'download';
type Tool = 'reelay' | 'curl';

interface Run {
  kind: Kind;
  tool: Tool;
  rep: number;
  bytes: number;
  /** The transfer's own time (inside the activity; curl's time_total). */
  seconds: number;
  mibPerSecond: number;
  /** Reelay: workflow start to result; curl: spawn to exit. */
  wallSeconds: number;
  /** CPU the client used: the worker process for Reelay (workflow tasks included), curl's own for curl. */
  clientCpuSeconds: number;
  /** Reelay only: the worker's RSS right before the transfer and its peak during it. */
  restRssBytes?: number;
  peakRssBytes?: number;
  /** Reelay only: the peak over the worker's lowest RSS at rest (see `baselineRss`). */
  peakRssGrowthMiB?: number;
  /** CPU the store (this process) used during the run. */
  storeCpuSeconds: number;
}


function run(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The activity worker's process, started at once so its module loading overlaps the dev server's start. */
function forkWorkerProcess(): ChildProcess {
  // REELAY_BENCH_CPU_PROF=DIR profiles the worker (node --cpu-prof), written when it exits.
  const prof = process.env.REELAY_BENCH_CPU_PROF;
  return fork(require.resolve('./transfers-worker'), [], {
    execArgv: ['--import', 'tsx', '--expose-gc', ...(prof ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(prof)}`] : [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

async function configureWorkerProcess(child: ChildProcess, config: BenchWorkerConfig): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    child.once('message', (m) => (m === 'ready' ? resolve() : reject(new Error(`transfers worker said ${String(m)}`))));
    child.once('exit', (code) => reject(new Error(`transfers worker exited (${code}) before it was ready`)));
    child.once('error', reject);
    child.send(config);
  });
}

async function stopWorkerProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.connected) child.disconnect();
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

async function runSection(ctx: BenchContext): Promise<SectionResult> {
  // REELAY_BENCH_TRANSFERS_MIB / _REPS override the size and repetitions (profiling runs).
  const size = envWholeNumber('REELAY_BENCH_TRANSFERS_MIB', (ctx.quick ? QUICK_BYTES : FULL_BYTES) / MiB, 1) * MiB;
  const reps = envWholeNumber('REELAY_BENCH_TRANSFERS_REPS', ctx.quick ? 1 : FULL_REPETITIONS, 1);
  const curlVersion = spawnSync('curl', ['--version'], { encoding: 'utf8' });
  if (curlVersion.status !== 0) throw new Error('transfers: curl is not on PATH (it is the reference); install it (apt-get install -y curl)');

  const work = path.join(ctx.dir, 'transfers');
  const outDir = path.join(work, 'out');
  fs.mkdirSync(outDir, { recursive: true });
  const source = path.join(work, 'source.mp4');
  const expectedSha = writeRandomFile(source, size);
  ctx.log(`transfers: ${size / MiB} MiB source written, ${reps} repetition(s)`);

  const child = forkWorkerProcess();
  let sandbox: Sandbox | undefined;
  let server: BenchServer | undefined;
  try {
    const quiet = { info() {}, warn() {}, error: (m: string) => ctx.log(m), debug() {}, trace() {}, log() {} };
    const [sb, srv, bundle] = await Promise.all([
      startSandbox({ dataDir: path.join(work, 'store') }),
      startBenchServer(ctx, 'transfers'),
      bundleWorkflowCode({ workflowsPath: require.resolve('./transfers-workflow'), logger: quiet as never }),
    ]);
    sandbox = sb;
    server = srv;
    ctx.log('transfers: dev server up, workflow bundled');
    const taskQueue = 'bench-transfers';
    const bundlePath = path.join(work, 'workflows.js');
    fs.writeFileSync(bundlePath, bundle.code);
    await configureWorkerProcess(child, { address: server.server.address, taskQueue, bundlePath, outputRoot: outDir });
    const workerPid = child.pid!;
    ctx.log('transfers: worker ready');
    const client = server.client;
    const runs: Run[] = [];
    let seq = 0;

    // A warm-up round trip of a small file first: the worker builds its workflow sandbox and loads the
    // HTTP client on its first task, which is start-up, not what a transfer costs.
    const startupRss = rssBytes(workerPid);
    const warmSource = path.join(work, 'warmup.mp4');
    writeRandomFile(warmSource, WARMUP_BYTES);
    const warmKey = 'bench/transfers/warmup.mp4';
    const warmUrls = { put: sb.signedUrl('PUT', warmKey, CONTENT_TYPE), get: sb.signedUrl('GET', warmKey, CONTENT_TYPE) };
    await client.workflow.execute<typeof benchTransfer>('benchTransfer', { taskQueue, workflowId: 'bench-transfer-warmup-upload', args: [{ kind: 'upload', source: warmSource, url: warmUrls.put, contentType: CONTENT_TYPE }] });
    await client.workflow.execute<typeof benchTransfer>('benchTransfer', { taskQueue, workflowId: 'bench-transfer-warmup-download', args: [{ kind: 'download', url: warmUrls.get, name: 'warmup.mp4' }] });
    // The baseline is the worker at rest: a full collection, so the warm-up's garbage does not inflate it.
    await new Promise<void>((resolve) => {
      child.on('message', function done(m) {
        if (m !== 'gc-done') return;
        child.off('message', done);
        resolve();
      });
      child.send('gc');
    });
    await new Promise((r) => setTimeout(r, 500));
    const idleRss = rssBytes(workerPid);
    ctx.log('transfers: warmed up');

    const reelay = async (kind: Kind, rep: number): Promise<Run> => {
      const req: BenchTransferRequest =
        kind === 'upload'
          ? { kind, source, url: sb.signedUrl('PUT', OBJECT_KEY, CONTENT_TYPE), contentType: CONTENT_TYPE }
          : { kind, url: sb.signedUrl('GET', OBJECT_KEY, CONTENT_TYPE), name: 'reelay.mp4' };
      const restRssBytes = rssBytes(workerPid);
      const sampler = rssSampler(workerPid, RSS_SAMPLE_MS);
      const cpu0 = cpuSeconds(workerPid);
      const store0 = cpuSeconds();
      const t0 = performance.now();
      let r: BenchTransferResult;
      try {
        r = await client.workflow.execute<typeof benchTransfer>('benchTransfer', { taskQueue, workflowId: `bench-transfer-${seq++}-${kind}`, args: [req] });
      } finally {
        sampler.stop();
      }
      const wallSeconds = (performance.now() - t0) / 1000;
      if (r.bytes !== size || r.sha256 !== expectedSha) throw new Error(`transfers: Reelay ${kind} moved ${r.bytes} bytes, sha256 ${r.sha256}; expected ${size}, ${expectedSha}`);
      return {
        kind,
        tool: 'reelay',
        rep,
        bytes: r.bytes,
        seconds: r.seconds,
        mibPerSecond: size / MiB / r.seconds,
        wallSeconds,
        clientCpuSeconds: cpuSeconds(workerPid) - cpu0,
        restRssBytes,
        peakRssBytes: sampler.peak(),
        storeCpuSeconds: cpuSeconds() - store0,
      };
    };

    const curl = async (kind: Kind, rep: number): Promise<Run> => {
      const common = ['-sS', '--fail', '-w', '%{time_total} %{size_upload} %{size_download}'];
      const args =
        kind === 'upload'
          ? // `Expect:` off: Node answers 100-continue at once anyway, this only saves the round trip.
            [...common, '-T', source, '-H', `content-type: ${CONTENT_TYPE}`, '-H', 'Expect:', '-o', '/dev/null', sb.signedUrl('PUT', OBJECT_KEY, CONTENT_TYPE)]
          : [...common, '-o', path.join(outDir, 'curl.mp4'), sb.signedUrl('GET', OBJECT_KEY, CONTENT_TYPE)];
      const store0 = cpuSeconds();
      const t0 = performance.now();
      // Through bash, whose `times` prints its children's CPU (user, system) on its last line.
      const res = await run('bash', ['-c', 'curl "$@"; code=$?; times >&2; exit $code', 'curl', ...args]);
      const wallSeconds = (performance.now() - t0) / 1000;
      if (res.code !== 0) throw new Error(`transfers: curl ${kind} failed (${res.code}): ${res.stderr.trim()}`);
      const clientCpuSeconds = [...(res.stderr.trim().split('\n').at(-1) ?? '').matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, m) => sum + Number(m[1]) * 60 + Number(m[2]), 0);
      const [time, up, down] = res.stdout.trim().split(' ').map(Number) as [number, number, number];
      const bytes = kind === 'upload' ? up : down;
      if (bytes !== size) throw new Error(`transfers: curl ${kind} moved ${bytes} bytes, expected ${size}`);
      return { kind, tool: 'curl', rep, bytes, seconds: time, mibPerSecond: size / MiB / time, wallSeconds, clientCpuSeconds, storeCpuSeconds: cpuSeconds() - store0 };
    };

    const measure = async (kind: Kind, tool: Tool, rep: number) => {
      spawnSync('sync');
      const r = await (tool === 'reelay' ? reelay : curl)(kind, rep);
      if (kind === 'download') {
        // What the store served was whole: it hashes every byte it sends.
        const served = sb.served().at(-1);
        if (served?.sha256 !== expectedSha) throw new Error(`transfers: the store served ${served?.sha256} for ${tool}'s download, expected ${expectedSha}`);
        fs.rmSync(path.join(outDir, `${tool}.mp4`), { force: true });
      }
      ctx.log(
        `transfers: ${kind} ${tool.padEnd(6)} #${rep + 1}: ${r.mibPerSecond.toFixed(0)} MiB/s, client CPU ${r.clientCpuSeconds.toFixed(2)} s` +
          (r.peakRssBytes !== undefined ? `, worker RSS ${(r.peakRssBytes / MiB).toFixed(1)} MiB at peak` : '') +
          `, store CPU ${r.storeCpuSeconds.toFixed(2)} s`,
      );
      runs.push(r);
    };

    for (let rep = 0; rep < reps; rep++) {
      const order: Tool[] = rep % 2 === 0 ? ['reelay', 'curl'] : ['curl', 'reelay'];
      for (const kind of ['upload', 'download'] as const) {
        for (const tool of order) await measure(kind, tool, rep);
      }
    }

    // Growth is counted from the lowest RSS the worker had at rest (after the warm-up and a full GC, or
    // right before any transfer): RSS that V8 gives back late must not make a later transfer look free.
    const baselineRss = Math.min(idleRss, ...runs.flatMap((r) => (r.restRssBytes !== undefined ? [r.restRssBytes] : [])));
    for (const r of runs) if (r.peakRssBytes !== undefined) r.peakRssGrowthMiB = (r.peakRssBytes - baselineRss) / MiB;
    const gib = size / 2 ** 30;
    const figures: Figure[] = [];
    for (const kind of ['upload', 'download'] as const) {
      const mine = median(runs.filter((r) => r.kind === kind && r.tool === 'reelay').map((r) => r.mibPerSecond));
      const ref = median(runs.filter((r) => r.kind === kind && r.tool === 'curl').map((r) => r.mibPerSecond));
      const ratio = mine / ref;
      figures.push({
        metric: `${kind} ${size / MiB} MiB, throughput (median of ${reps})`,
        value: round(mine, 1),
        unit: 'MiB/s',
        reference: { label: `curl ${kind === 'upload' ? '-T' : '-o'}, same endpoint`, value: round(ref, 1), unit: 'MiB/s' },
        ratio: round(ratio, 3),
        higherIsBetter: true,
        target: { text: `≥ ${RATIO_TARGET}× curl`, met: ratio >= RATIO_TARGET },
      });
    }
    for (const kind of ['upload', 'download'] as const) {
      const mine = median(runs.filter((r) => r.kind === kind && r.tool === 'reelay').map((r) => r.clientCpuSeconds / gib));
      const ref = median(runs.filter((r) => r.kind === kind && r.tool === 'curl').map((r) => r.clientCpuSeconds / gib));
      figures.push({
        metric: `${kind}: client CPU per GiB (median of ${reps})`,
        value: round(mine, 2),
        unit: 's',
        reference: { label: 'curl', value: round(ref, 2), unit: 's' },
        ratio: round(mine / ref, 2),
        note: 'Reelay: the worker process (sha256 of every byte, workflow tasks); the store\'s CPU is in the JSON',
      });
    }
    for (const kind of ['upload', 'download'] as const) {
      const growth = Math.max(...runs.filter((r) => r.kind === kind && r.tool === 'reelay').map((r) => r.peakRssGrowthMiB!));
      figures.push({
        metric: `${kind}: worker peak RSS growth (max of ${reps})`,
        value: round(growth, 1),
        unit: 'MiB',
        target: { text: `< ${RSS_TARGET_MIB} MiB`, met: growth < RSS_TARGET_MIB },
        note: `over the worker's lowest RSS at rest, ${round(baselineRss / MiB, 1)} MiB (after a ${WARMUP_BYTES / MiB} MiB warm-up round trip and a full GC, or before a transfer), sampled every ${RSS_SAMPLE_MS} ms`,
      });
    }
    return {
      id: 'transfers',
      title: 'Transfers vs curl',
      figures,
      details: {
        bytes: size,
        repetitions: reps,
        curl: curlVersion.stdout.split('\n')[0],
        workerStartupRssMiB: round(startupRss / MiB, 1),
        workerIdleRssMiB: round(idleRss / MiB, 1),
        workerBaselineRssMiB: round(baselineRss / MiB, 1),
        runs: runs.map(({ restRssBytes, peakRssBytes, ...r }) => ({
          ...r,
          mibPerSecond: round(r.mibPerSecond, 1),
          restRssMiB: restRssBytes === undefined ? undefined : round(restRssBytes / MiB, 1),
          peakRssMiB: peakRssBytes === undefined ? undefined : round(peakRssBytes / MiB, 1),
          peakRssGrowthMiB: r.peakRssGrowthMiB === undefined ? undefined : round(r.peakRssGrowthMiB, 1),
        })),
      },
    };
  } finally {
    await stopWorkerProcess(child);
    await server?.stop();
    await sandbox?.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

export const transfersSection: BenchSection = { id: 'transfers', title: 'Transfers vs curl', run: runSection };
