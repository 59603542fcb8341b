import fs from 'node:fs';
import path from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { loadStorageConfig } from '../../src/config';
import { readBatchResults, retryFailedLines as retryFailed, startBatch } from '../../src/client';
import { batchProgressQuery } from '../../src/pipelines/batch/signals';
import { listObjects } from '../../src/storage/s3';
import { request } from 'undici';
import { outputLinks, storedOutputs } from '../../src/client';
// The batch functions as services import them from 'reelay'.
import { outputFiles } from '../../src/cli/pipelines';
import { parseJsonOutput, runCli } from '../support/cli';
import { startHarness, tempDir, type Harness } from '../support/harness';
import { storeEnv } from './env';
import { testStore, testStoreEnv, uniquePrefix } from './support';

const FAST = { initialIntervalSeconds: 0.05, maxIntervalSeconds: 0.1 };
const t2v = (text: string) => ({ pipeline: 'text2video', input: { text, polling: FAST } });

describe('storedOutputs', () => {
  it('finds every s3:// output a result names, with where it sits, and nothing local', () => {
    const result = {
      languages: [
        { language: 'es', video: { uri: 's3://b/p/l/es.mp4', bytes: 10, sha256: 'a'.repeat(64), path: 'ignored' }, dubbedAudio: { path: '/local/es.mp3', bytes: 1, sha256: 'b'.repeat(64) } },
      ],
      resultsPath: 's3://b/p/batch/results.jsonl',
      manifestPath: '/data/manifest.jsonl',
    };
    expect(storedOutputs(result)).toEqual([
      { label: 'languages.0.video', uri: 's3://b/p/l/es.mp4', bytes: 10, sha256: 'a'.repeat(64) },
      { label: 'resultsPath', uri: 's3://b/p/batch/results.jsonl' },
    ]);
  });
});

describe('outputFiles (reelay status, watch, start --wait)', () => {
  it('shows an output in the store by its uri, a local one by its path', () => {
    const sha = 'c'.repeat(64);
    expect(
      outputFiles({
        languages: [
          { language: 'es', video: { uri: 's3://b/p/localize-x/lipdub/es.mp4', bytes: 5, sha256: sha, providerUrl: 'https://p/o/es.mp4' } },
          { language: 'de', video: { path: '/out/localize-x/lipdub/de.mp4', bytes: 6, sha256: sha, providerUrl: 'https://p/o/de.mp4' } },
        ],
      }),
    ).toEqual([
      { label: 'es video', path: 's3://b/p/localize-x/lipdub/es.mp4', uri: 's3://b/p/localize-x/lipdub/es.mp4', bytes: 5, sha256: sha, providerUrl: 'https://p/o/es.mp4' },
      { label: 'de video', path: '/out/localize-x/lipdub/de.mp4', bytes: 6, sha256: sha, providerUrl: 'https://p/o/de.mp4' },
    ]);
  });
});

describe('a batch whose manifest and results live in the object store', () => {
  let h: Harness;
  let dir: string;
  let prefix: string;
  const saved: Record<string, string | undefined> = {};

  beforeAll(async () => {
    prefix = uniquePrefix('batch');
    h = await startHarness({ timings: { text2video: { queueMs: 0, stageMs: 0 }, aistudio: { pendingMs: 0, runMs: 0, mockRunMs: 0 } } });
    const env = storeEnv(prefix);
    Object.assign(h.env, env);
    // The in-process worker's store client reads credentials through the AWS SDK chain (process.env).
    for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const) {
      saved[name] = process.env[name];
      process.env[name] = env[name];
    }
    await h.startWorker();
    dir = tempDir('batch-store');
  });
  afterAll(async () => {
    await h.close();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs from the store: manifest, one result object per line, results.jsonl; retry-failed reads only the store', async () => {
    h.sandbox.configure({ text2video: { failTexts: ['FAIL'] } });
    const file = path.join(dir, 'mixed.jsonl');
    fs.writeFileSync(
      file,
      [
        t2v('first story'),
        { pipeline: 'aistudio', input: { prompt: 'a mock veo job', mockMode: true, polling: FAST, slotWait: { initialSeconds: 0.05, maxSeconds: 0.1 } } },
        t2v('this one will FAIL'),
        t2v('last story'),
      ]
        .map((l) => JSON.stringify(l))
        .join('\n') + '\n',
    );
    const storage = loadStorageConfig(h.env);
    const store = testStore();
    const s = testStoreEnv();
    // The starter has no output root of its own: the configuration says s3://, so the manifest goes to the store.
    const started = await startBatch(h.client, file, { taskQueue: h.taskQueue, storage, store, key: `store-${Date.now()}` });
    expect(started.manifestPath).toBe(`s3://${s.bucket}/${prefix}/${started.batchId}/manifest.jsonl`);
    const result = await started.handle.result();
    expect(result).toMatchObject({ status: 'completed', total: 4, succeeded: 3, failed: 1, failedLines: [3], manifestPath: started.manifestPath });
    expect(result.resultsPath).toBe(`s3://${s.bucket}/${prefix}/${started.batchId}/results.jsonl`);

    // Nothing of the batch's bookkeeping is on the worker's disk.
    expect(fs.existsSync(path.join(h.outputRoot, started.batchId, 'manifest.jsonl'))).toBe(false);
    expect(fs.existsSync(path.join(h.outputRoot, started.batchId, 'results.jsonl'))).toBe(false);

    const keys = (await listObjects(store, { kind: 's3', bucket: s.bucket, key: `${prefix}/${started.batchId}` })).map((o) => o.key.slice(prefix.length + 1));
    expect(keys).toEqual(
      expect.arrayContaining([
        `${started.batchId}/manifest.jsonl`,
        `${started.batchId}/results.jsonl`,
        ...[1, 2, 3, 4].map((n) => `${started.batchId}/results/${String(n).padStart(6, '0')}.json`),
      ]),
    );
    const records = await readBatchResults(result.resultsPath!, { store });
    expect(records.map((r) => [r.line, r.status])).toEqual([
      [1, 'completed'],
      [2, 'completed'],
      [3, 'failed'],
      [4, 'completed'],
    ]);
    const rendered = await store.client.send(new GetObjectCommand({ Bucket: s.bucket, Key: `${prefix}/${started.batchId}/results.jsonl` }));
    const renderedLines = ((await rendered.Body?.transformToString()) ?? '').trim().split('\n').map((l) => JSON.parse(l) as { line: number });
    expect(renderedLines.map((r) => r.line)).toEqual([1, 2, 3, 4]);
    expect((await started.handle.query(batchProgressQuery)).resultsPath).toBe(result.resultsPath);

    // retry-failed: the selected lines become a manifest beside the original, in the store; the retry's
    // records replace line 3's and the original's results.jsonl is rendered again.
    h.sandbox.configure({ text2video: { failTexts: [] } });
    const retry = await retryFailed(h.client, started.batchId);
    if (!('handle' in retry)) throw new Error('retryFailed started nothing');
    const retried = await retry.handle.result();
    expect(retried).toMatchObject({ status: 'completed', total: 1, succeeded: 1, resultsPath: result.resultsPath });
    expect(retried.manifestPath).toBe(`s3://${s.bucket}/${prefix}/${started.batchId}/manifest-${retry.batchId}.jsonl`);
    expect((await readBatchResults(result.resultsPath!, { store })).map((r) => r.status)).toEqual(['completed', 'completed', 'completed', 'completed']);
    // From a machine that never saw a worker's disk: the CLI with only Temporal and the store configured.
    const elsewhere = { ...storeEnv(prefix), REELAY_OUTPUT_DIR: path.join(dir, 'not-here') } as Record<string, string>;
    const cliResults = await runCli(h, ['batch', 'results', started.batchId, '--json'], { env: elsewhere });
    expect(cliResults.code).toBe(0);
    const listed = parseJsonOutput<{ records: Array<{ line: number; status: string }> }>(cliResults);
    expect(listed.records.map((r) => r.status)).toEqual(['completed', 'completed', 'completed', 'completed']);

    // Links: minted outside the workflow, for the batch's results.jsonl and its manifest.
    const links = await outputLinks(h.client, started.batchId, { store, expiresInSeconds: 600 });
    expect(links.map((l) => l.label).sort()).toEqual(['manifestPath', 'resultsPath']);
    const link = links.find((l) => l.label === 'resultsPath')!;
    expect(link.url).toMatch(/X-Amz-Signature=/);
    const res = await request(link.url);
    expect(res.statusCode).toBe(200);
    expect((await res.body.text()).trim().split('\n')).toHaveLength(4);
    const cliLinks = await runCli(h, ['output', 'url', started.batchId, '--expires', '15m', '--json'], { env: elsewhere });
    expect(cliLinks.code).toBe(0);
    const printed = parseJsonOutput<Array<{ label: string; url: string; expiresAt: string }>>(cliLinks);
    expect(printed.map((l) => l.label).sort()).toEqual(['manifestPath', 'resultsPath']);
    expect(Date.parse(printed[0]!.expiresAt) - Date.now()).toBeLessThanOrEqual(15 * 60_000);
    expect(printed[0]!.url).toMatch(/X-Amz-Expires=900&/);
    // Never in the batch's own history: the links exist only where they were printed.
    const history = JSON.stringify(await started.handle.fetchHistory());
    expect(history).not.toMatch(/X-Amz-Signature|X-Amz-Credential/);

    const again = await store.client.send(new GetObjectCommand({ Bucket: s.bucket, Key: `${prefix}/${started.batchId}/results.jsonl` }));
    expect(((await again.Body?.transformToString()) ?? '').trim().split('\n').map((l) => (JSON.parse(l) as { status: string }).status)).toEqual([
      'completed',
      'completed',
      'completed',
      'completed',
    ]);
  });

  it('refuses to start when the store will not take the manifest, naming the variable, and starts nothing', async () => {
    const s = testStoreEnv();
    const file = path.join(dir, 'one.jsonl');
    fs.writeFileSync(file, JSON.stringify(t2v('x')) + '\n');
    const storage = loadStorageConfig({ ...h.env, REELAY_OUTPUT_URL: `s3://no-such-bucket-${Date.now()}/p` });
    const key = `nobucket-${Date.now()}`;
    await expect(startBatch(h.client, file, { taskQueue: h.taskQueue, storage, store: testStore(), key })).rejects.toThrow(
      /REELAY_OUTPUT_URL=s3:\/\/no-such-bucket-\d+\/p: .*bucket does not exist.*nothing was started/,
    );
    await expect(h.client.workflow.getHandle(`batch-${key}`).describe()).rejects.toThrow();
    const denied = loadStorageConfig({ ...h.env, REELAY_OUTPUT_URL: `s3://${s.bucket}/p` });
    const wrong = testStore({ accessKeyId: 'nobody', secretAccessKey: 'wrong-secret' });
    await expect(startBatch(h.client, file, { taskQueue: h.taskQueue, storage: denied, store: wrong, key })).rejects.toThrow(/REELAY_OUTPUT_URL=.*refused the credentials/);
  });
});
