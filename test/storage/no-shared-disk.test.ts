import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Client } from '@temporalio/client';
import { startStoreFaultProxy, type StoreFaultProxy } from '../../src/dev/store-faults';
import type { BatchPipelineResult } from '../../src/pipelines/batch/input';
import { readBatchResults } from '../../src/pipelines/batch/start';
import type { LocalizePipelineResult } from '../../src/pipelines/localize/input';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { sha256Hex, text2videoOutput } from '../../src/sandbox/derive';
import { exportWorkflow } from '../support/audit';
import { FAST_POLLING, FAST_TIMINGS, makeFile, tempDir, testClient } from '../support/harness';
import { killed } from '../support/processes';
import { isolationProblem, runIsolatedCli, spawnIsolatedWorker } from './isolated';
import { incompleteUploads, testStore, testStoreEnv, uniquePrefix } from './support';

const MiB = 1024 * 1024;

/**
 * Proof that no disk is shared (issue 13, item 7). The starter (the reelay CLI) and two workers each run
 * in a mount namespace of their own: the root file system read-only, /tmp and /dev/shm private tmpfs
 * mounts (test/storage/isolated.ts). The object store (versitygw, through the store fault proxy that
 * counts every completed object) is the only storage they share; Temporal and the sandbox providers are
 * on loopback. A localize run and a batch of 20 mixed items run across both workers while one is
 * SIGKILLed in the middle of its transfers (the sandbox serves downloads slowly). Then: every output is
 * an s3:// object whose bytes hash to what the sandbox served, no multipart upload is left incomplete,
 * no output object was completed twice, and no history holds a signed URL or a store credential.
 */
describe('no shared disk: a starter and two workers that share only the object store', () => {
  const problem = isolationProblem();
  const s = testStoreEnv();
  const store = testStore();
  let sandbox: Sandbox;
  let proxy: StoreFaultProxy;
  let client: Client;
  let dir: string;
  const workers: ChildProcess[] = [];
  const log: string[] = [];
  const signatures = new Set<string>();
  const getsInFlight = { now: 0, max: 0 };

  beforeAll(async () => {
    if (problem) return;
    dir = tempDir('no-shared-disk');
    sandbox = await startSandbox({ timings: FAST_TIMINGS });
    // Downloads of 12 MiB outputs take seconds, so a worker is killed in the middle of some.
    sandbox.setFaults({ rules: [{ service: 'store', method: 'GET', faults: { slowDownload: 4 * MiB } }] });
    sandbox.use(async (ctx, next) => {
      if (ctx.service === 'store') for (const name of ['sig', 'X-Amz-Signature']) {
        const v = ctx.query.get(name);
        if (v) signatures.add(v);
      }
      const get = ctx.service === 'store' && ctx.method === 'GET';
      if (get) {
        getsInFlight.now++;
        getsInFlight.max = Math.max(getsInFlight.max, getsInFlight.now);
        ctx.res.once('close', () => getsInFlight.now--);
      }
      await next();
    });
    proxy = await startStoreFaultProxy({ target: s.endpoint });
    client = await testClient();
  });
  afterAll(async () => {
    await Promise.all(workers.map(killed));
    await client?.connection.close();
    await proxy?.close();
    await sandbox?.close();
    store.client.destroy();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs a localize pipeline and a batch of 20 across both, one SIGKILLed mid-transfer, every output verified in the store', async () => {
    if (problem) throw new Error(`this machine cannot isolate processes: ${problem}`);
    const prefix = uniquePrefix('nsd');
    const queue = `nsd-${Date.now()}`;
    const tag = prefix.split('/').pop()!;

    // The user's inputs, in their bucket.
    const inputs = `${prefix}/inputs`;
    const put = async (name: string, file: string, contentType: string) => {
      await store.client.send(new PutObjectCommand({ Bucket: s.bucket, Key: `${inputs}/${name}`, Body: fs.readFileSync(file), ContentType: contentType }));
      return `s3://${s.bucket}/${inputs}/${name}`;
    };
    const video = await put('talk.mp4', makeFile(dir, 'talk.mp4', 12 * MiB + 7), 'video/mp4');
    const audio = await put('es.mp3', makeFile(dir, 'es.mp3', 300_000), 'audio/mpeg');

    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      ...sandbox.env(),
      REELAY_TASK_QUEUE: queue,
      REELAY_OUTPUT_URL: `s3://${s.bucket}/${prefix}/out`,
      REELAY_S3_ENDPOINT: proxy.endpoint,
      REELAY_S3_REGION: s.region,
      AWS_ACCESS_KEY_ID: s.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s.secretAccessKey,
      REELAY_VIVIDFLOW_REQUESTS_PER_SECOND: '50',
      TEMPORAL_ADDRESS: process.env.REELAY_TEST_TEMPORAL_ADDRESS,
      TEMPORAL_NAMESPACE: 'default',
      REELAY_TEST_TEMPORAL_ADDRESS: process.env.REELAY_TEST_TEMPORAL_ADDRESS,
      NO_COLOR: '1',
    };
    const onOutput = (t: string) => log.push(t);
    workers.push(...(await Promise.all([spawnIsolatedWorker(env, process.env.REELAY_TEST_WORKFLOW_BUNDLE!, onOutput), spawnIsolatedWorker(env, process.env.REELAY_TEST_WORKFLOW_BUNDLE!, onOutput)])));

    // The starter: the CLI in a namespace of its own, its manifest and input in its private /tmp.
    const poll = FAST_POLLING;
    const items = [
      ...Array.from({ length: 8 }, (_, i) => ({ pipeline: 'text2video', input: { text: `Story ${i} ${tag}`, polling: poll } })),
      ...Array.from({ length: 4 }, (_, i) => ({ pipeline: 'aistudio', input: { prompt: `mock ${i} ${tag}`, mockMode: true, polling: poll, slotWait: { initialSeconds: 0.05, maxSeconds: 0.2 } } })),
      ...Array.from({ length: 4 }, (_, i) => ({
        pipeline: 'dublab',
        input: { source: video, sourceLanguage: 'en', targetLanguages: [['fr', 'it', 'pt', 'nl'][i]], durationSeconds: 10, outputTypes: ['translated_mp4'], polling: poll },
      })),
      ...Array.from({ length: 2 }, (_, i) => ({ pipeline: 'vividflow', input: { prompt: `waves ${i} ${tag}`, imageUrl: `gs://bucket/still-${i}.png`, polling: poll } })),
      ...Array.from({ length: 2 }, (_, i) => ({ pipeline: 'lipdub', input: { video, audios: [{ source: audio, language: ['es-MX', 'fr-FR'][i] }], polling: poll } })),
    ];
    expect(items).toHaveLength(20);
    const batchKey = `nsd-${tag}`;
    const startedBatch = await runIsolatedCli(env, { 'batch.jsonl': items.map((l) => JSON.stringify(l)).join('\n') + '\n' }, ['batch', 'run', 'batch.jsonl', '--key', batchKey, '--window', '20', '--json']);
    expect({ code: startedBatch.code, stderr: startedBatch.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    const localizeInput = { source: video, sourceLanguage: 'en', targetLanguages: ['es', 'de'], durationSeconds: 10, polling: poll };
    const startedLocalize = await runIsolatedCli(env, { 'job.json': JSON.stringify(localizeInput) }, ['start', 'localize', '--input', 'job.json', '--key', `nsd-${tag}`, '--json']);
    expect({ code: startedLocalize.code, stderr: startedLocalize.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    const batchId = `batch-${batchKey}`;
    const localizeId = `localize-nsd-${tag}`;

    // SIGKILL one worker while downloads are streaming into the store.
    const deadline = Date.now() + 60_000;
    while (getsInFlight.now < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(getsInFlight.now).toBeGreaterThanOrEqual(2);
    await new Promise((r) => setTimeout(r, 700));
    const victim = workers[0]!;
    await killed(victim);

    const batch = (await client.workflow.getHandle(batchId).result()) as BatchPipelineResult;
    const localize = (await client.workflow.getHandle(localizeId).result()) as LocalizePipelineResult;
    expect(batch).toMatchObject({ status: 'completed', total: 20, succeeded: 20, failed: 0 });
    expect(localize.languages.map((l) => l.status)).toEqual(['delivered', 'delivered']);

    // Every output is an object in the store, byte-exact with what the sandbox served.
    const records = await readBatchResults(batch.resultsPath!, { store });
    expect(records).toHaveLength(20);
    const outputs: Array<{ uri: string; sha256: string; bytes: number; providerUrl?: string }> = [];
    const collect = (v: unknown): void => {
      if (!v || typeof v !== 'object') return;
      const o = v as Record<string, unknown>;
      if (typeof o.sha256 === 'string' && typeof o.bytes === 'number') {
        expect(o.uri).toEqual(expect.stringMatching(new RegExp(`^s3://${s.bucket}/${prefix}/out/`)));
        outputs.push(o as (typeof outputs)[number]);
        return;
      }
      for (const x of Object.values(o)) collect(x);
    };
    // text2video serves its video from its own /download, not the store: its bytes are derived from the text.
    const derived = new Map<string, string>();
    for (const r of records) {
      const before = outputs.length;
      collect(r.result);
      const item = items[r.line - 1]!;
      if (item.pipeline === 'text2video') for (const o of outputs.slice(before)) derived.set(o.uri, sha256Hex(text2videoOutput((item.input as { text: string }).text)));
    }
    collect(localize.languages);
    expect(outputs.length).toBeGreaterThanOrEqual(20 + 2 * 2);
    const served = new Map(sandbox.served().map((x) => [x.key, x]));
    const big = outputs.filter((o) => o.bytes > 5 * MiB);
    expect(big.length).toBeGreaterThanOrEqual(6);
    for (const o of outputs) {
      const key = o.uri.slice(`s3://${s.bucket}/`.length);
      const res = await store.client.send(new GetObjectCommand({ Bucket: s.bucket, Key: key }));
      const hash = createHash('sha256');
      let bytes = 0;
      for await (const c of res.Body as AsyncIterable<Buffer>) {
        hash.update(c);
        bytes += c.length;
      }
      expect({ uri: o.uri, sha256: hash.digest('hex'), bytes }).toEqual({ uri: o.uri, sha256: o.sha256, bytes: o.bytes });
      const servedKey = o.providerUrl ? decodeURIComponent(new URL(o.providerUrl).pathname.replace(/^\/o\//, '')) : undefined;
      const expected = derived.get(o.uri) ?? (servedKey ? served.get(servedKey)?.sha256 : undefined);
      expect({ uri: o.uri, served: expected }).toEqual({ uri: o.uri, served: o.sha256 });
      // Written once: one CompleteMultipartUpload (or PutObject) for this object, whatever was killed.
      expect({ uri: o.uri, completed: proxy.ledger().completed[`${s.bucket}/${key}`] }).toEqual({ uri: o.uri, completed: 1 });
    }
    expect(await incompleteUploads(store, s.bucket, prefix)).toEqual([]);

    // A transfer really was cut: some activity ran again after its worker stopped heartbeating.
    const ids = [batchId, localizeId];
    const exported = await Promise.all(ids.map((id) => exportWorkflow(client, id)));
    const histories = exported.flatMap((e) => e.histories);
    const retried = histories.flatMap((h) =>
      ((h.history as { events?: Array<{ activityTaskStartedEventAttributes?: { attempt?: number; lastFailure?: { message?: string } } }> }).events ?? [])
        .map((e) => e.activityTaskStartedEventAttributes)
        .filter((a) => (a?.attempt ?? 1) > 1 && /heartbeat/i.test(a?.lastFailure?.message ?? '')),
    );
    expect(retried.length).toBeGreaterThan(0);

    // No signed URL, no store credential in any history (with every child's), description or outcome.
    const text = exported.map((e) => [e.rawHistoryText, e.rawDescribeText, e.outcomeText, e.progressText].join('\n')).join('\n');
    expect(text).not.toMatch(/[?&](sig|X-Amz-Signature|X-Amz-Credential|X-Goog-Signature)=/i);
    expect(signatures.size).toBeGreaterThan(0);
    for (const sig of signatures) expect(text.includes(sig)).toBe(false);
    expect(text.includes(s.secretAccessKey)).toBe(false);
    expect(text.includes(s.accessKeyId)).toBe(false);

    // The surviving worker wrote nothing on its own disk: its private /tmp/out is empty.
    const survivor = workers[1]!;
    const privateOut = `/proc/${survivor.pid}/root/tmp/out`;
    expect(fs.readdirSync(privateOut)).toEqual([]);
  }, 4 * 60_000);
});
