/**
 * Store: a provider's 1 GiB download streamed into an S3-compatible store (versitygw, POSIX backend, on
 * loopback) through Reelay's transfer code (downloadToFile with an s3:// target: multipart upload, sha256
 * on the way), next to a plain AWS SDK v3 Upload (lib-storage, default options) of the same file from
 * local disk into the same store, in the same run. Both clients run in one child process
 * (store-worker.ts) whose RSS is sampled from /proc; growth is its peak during a transfer over its RSS at
 * rest after a warm-up round and a full GC. The sandbox's signed-URL store (the download's source) runs
 * in this process. Runs alternate which tool goes first. Not inside a Temporal activity: what is
 * measured is the transfer code the download activities call.
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { uploadToSignedUrl } from '../../src/activities/transfer';
import { ensureVersitygw, startObjectStore } from '../../src/dev/objectstore';
import { startSandbox } from '../../src/sandbox';
import { MiB, envWholeNumber, median, round, rssBytes, rssSampler, writeRandomFile } from './support';
import type { StoreBenchRequest, StoreBenchResult } from './store-worker';
import type { BenchContext, BenchSection, Figure, SectionResult } from './types';

const FULL_BYTES = 1024 * MiB;
const QUICK_BYTES = 32 * MiB;
const FULL_REPETITIONS = 3;
const RATIO_TARGET = 0.9;
const RSS_TARGET_MIB = 64;
const CONTENT_TYPE = 'video/mp4';


function ask(child: ChildProcess, msg: StoreBenchRequest | 'gc'): Promise<StoreBenchResult | undefined> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: unknown) => {
      if (msg === 'gc' && m === 'gc-done') return done(() => resolve(undefined));
      const r = m as { ok?: StoreBenchResult; error?: string };
      if (r.ok) return done(() => resolve(r.ok));
      if (r.error) return done(() => reject(new Error(r.error)));
    };
    const onExit = (code: number | null) => done(() => reject(new Error(`store bench worker exited (${code})`)));
    const done = (f: () => void) => {
      child.off('message', onMessage);
      child.off('exit', onExit);
      f();
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send(msg);
  });
}

async function runSection(ctx: BenchContext): Promise<SectionResult> {
  const size = envWholeNumber('REELAY_BENCH_STORE_MIB', (ctx.quick ? QUICK_BYTES : FULL_BYTES) / MiB, 1) * MiB;
  const reps = envWholeNumber('REELAY_BENCH_STORE_REPS', ctx.quick ? 1 : FULL_REPETITIONS, 1);
  const work = path.join(ctx.dir, 'store');
  fs.mkdirSync(work, { recursive: true });
  const source = path.join(work, 'source.mp4');
  const expectedSha = writeRandomFile(source, size);
  ctx.log(`store: ${size / MiB} MiB source written, ${reps} repetition(s)`);

  const gw = await startObjectStore({ binary: ensureVersitygw({ log: ctx.log }).path, rootDir: path.join(work, 's3'), bucket: 'bench' });
  const sandbox = await startSandbox({ dataDir: path.join(work, 'sandbox') });
  const child = fork(require.resolve('./store-worker'), [], { execArgv: ['--import', 'tsx', '--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('message', (m) => (m === 'ready' ? resolve() : reject(new Error(String(m)))));
      child.once('exit', (code) => reject(new Error(`store bench worker exited (${code})`)));
    });
    // The provider's object: the file PUT once into the sandbox's signed-URL store.
    const objectKey = 'bench/store/object.mp4';
    await uploadToSignedUrl({ source, url: sandbox.signedUrl('PUT', objectKey, CONTENT_TYPE), contentType: CONTENT_TYPE, provider: 'lipdub' });
    const base = { endpoint: gw.endpoint, credentials: gw.credentials, bucket: 'bench' };
    const request = (tool: 'reelay' | 'sdk', key: string): StoreBenchRequest =>
      tool === 'reelay' ? { ...base, tool, key, url: sandbox.signedUrl('GET', objectKey, CONTENT_TYPE) } : { ...base, tool, key, file: source };
    // Warm-up: both paths once with a small object, then a full GC; the rest RSS is measured after it.
    const warm = path.join(work, 'warm.mp4');
    writeRandomFile(warm, 8 * MiB);
    await ask(child, { ...base, tool: 'sdk', key: 'warm/sdk.mp4', file: warm });
    await ask(child, { ...request('reelay', 'warm/reelay.mp4'), url: sandbox.signedUrl('GET', objectKey, CONTENT_TYPE) });
    await ask(child, 'gc');
    await new Promise((r) => setTimeout(r, 500));
    const idleRss = rssBytes(child.pid!);

    const runs: Array<{ tool: 'reelay' | 'sdk'; rep: number; seconds: number; mibPerSecond: number; peakRssGrowthMiB: number }> = [];
    for (let rep = 0; rep < reps; rep++) {
      const order: Array<'reelay' | 'sdk'> = rep % 2 === 0 ? ['reelay', 'sdk'] : ['sdk', 'reelay'];
      for (const tool of order) {
        await ask(child, 'gc');
        const sampler = rssSampler(child.pid!, 20);
        let r: StoreBenchResult;
        try {
          r = (await ask(child, request(tool, `runs/${rep}-${tool}.mp4`)))!;
        } finally {
          sampler.stop();
        }
        if (r.bytes !== size || (r.sha256 !== undefined && r.sha256 !== expectedSha)) throw new Error(`store: ${tool} moved ${r.bytes} bytes (sha256 ${r.sha256}); expected ${size} (${expectedSha})`);
        const run = { tool, rep, seconds: round(r.seconds, 3), mibPerSecond: round(size / MiB / r.seconds, 1), peakRssGrowthMiB: round((sampler.peak() - idleRss) / MiB, 1) };
        runs.push(run);
        ctx.log(`store: ${tool} #${rep}: ${run.mibPerSecond} MiB/s, RSS +${run.peakRssGrowthMiB} MiB`);
        // Each run's object is deleted from disk: only its throughput matters, and 1 GiB objects add up.
        fs.rmSync(path.join(work, 's3', 'data', 'bench', 'runs'), { recursive: true, force: true });
      }
    }
    const med = (tool: 'reelay' | 'sdk', f: (r: (typeof runs)[number]) => number) => median(runs.filter((r) => r.tool === tool).map(f));
    const reelayTp = med('reelay', (r) => r.mibPerSecond);
    const sdkTp = med('sdk', (r) => r.mibPerSecond);
    const growth = Math.max(...runs.filter((r) => r.tool === 'reelay').map((r) => r.peakRssGrowthMiB));
    const figures: Figure[] = [
      {
        metric: `download → store, ${size / MiB} MiB, median throughput`,
        value: reelayTp,
        unit: 'MiB/s',
        reference: { label: 'AWS SDK Upload of the same file', value: sdkTp, unit: 'MiB/s' },
        ratio: round(reelayTp / sdkTp, 2),
        higherIsBetter: true,
        target: ctx.quick ? undefined : { text: `≥ ${RATIO_TARGET}× the SDK's throughput`, met: reelayTp / sdkTp >= RATIO_TARGET },
      },
      {
        metric: 'download → store, worker RSS growth (max)',
        value: growth,
        unit: 'MiB',
        reference: { label: 'SDK Upload, max', value: Math.max(...runs.filter((r) => r.tool === 'sdk').map((r) => r.peakRssGrowthMiB)), unit: 'MiB' },
        target: ctx.quick ? undefined : { text: `< ${RSS_TARGET_MIB} MiB`, met: growth < RSS_TARGET_MIB },
      },
    ];
    return { id: 'store', title: 'Store (1 GiB download streamed into S3 vs AWS SDK Upload)', figures, details: { size, reps, idleRssMiB: round(idleRss / MiB, 1), runs } };
  } finally {
    if (child.connected) child.disconnect();
    child.kill('SIGTERM');
    await sandbox.close();
    await gw.stop();
  }
}

export const storeSection: BenchSection = { id: 'store', title: 'Store (download streamed into S3)', run: runSection };
