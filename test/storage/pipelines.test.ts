import { createHash, randomBytes } from 'node:crypto';
import { request } from 'undici';
import fs from 'node:fs';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { startPipeline } from '../../src/client';
import { ConfigError } from '../../src/config';
import { lipdubOutput, sha256Hex, text2videoOutput } from '../../src/sandbox/derive';
import { parseExpires } from '../../src/cli/commands/output';
import { createReelayWorker } from '../../src/workers/worker';
import { parseJsonOutput, runCli } from '../support/cli';
import { FAST_POLLING, makeFile, startHarness, tempDir, type Harness } from '../support/harness';
import { incompleteUploads, testStore, testStoreEnv, uniquePrefix } from './support';

/**
 * Pipelines with the object store configured (REELAY_OUTPUT_URL=s3://…, credentials from the AWS SDK
 * chain): outputs stream from the provider into the store, s3:// inputs stream from the store to the
 * provider, and a bad store stops the worker at start naming the variable.
 */
describe('pipelines with outputs and inputs in the object store', () => {
  const s3 = testStoreEnv();
  const store = testStore();
  const prefix = uniquePrefix('pipelines');
  const savedAws = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  let h: Harness;

  beforeAll(async () => {
    // The standard chain: the worker's process environment.
    process.env.AWS_ACCESS_KEY_ID = s3.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = s3.secretAccessKey;
    h = await startHarness({ timings: { text2video: { queueMs: 50, stageMs: 50 } } });
    Object.assign(h.env, { REELAY_OUTPUT_URL: `s3://${s3.bucket}/${prefix}/out`, REELAY_S3_ENDPOINT: s3.endpoint, REELAY_S3_REGION: s3.region });
    await h.startWorker();
  });
  afterAll(async () => {
    await h.close();
    store.client.destroy();
    if (savedAws.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
    else process.env.AWS_ACCESS_KEY_ID = savedAws.id;
    if (savedAws.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
    else process.env.AWS_SECRET_ACCESS_KEY = savedAws.secret;
  });

  const body = async (key: string) => {
    const res = await store.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
    return Buffer.from(await res.Body!.transformToByteArray());
  };
  const keyOf = (uri: string) => uri.slice(`s3://${s3.bucket}/`.length);

  it('delivers a text2video output into the store: uri, bytes, sha256 and etag of the object, with the run\'s metadata, nothing on local disk', async () => {
    const text = 'A story that never touched the worker\'s disk.';
    const started = await startPipeline(h.client, 'text2video', { text, polling: FAST_POLLING }, { taskQueue: h.taskQueue });
    const result = await started.handle.result();
    const expected = text2videoOutput(text);
    const out = result.output;
    expect(out.uri).toMatch(new RegExp(`^s3://${s3.bucket}/${prefix}/out/.+\\.mp4$`));
    expect(out.path).toBe(out.uri);
    expect(out).toMatchObject({ bytes: expected.length, sha256: sha256Hex(expected), contentType: 'video/mp4' });
    expect((await body(keyOf(out.uri!))).equals(expected)).toBe(true);
    const head = await store.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: keyOf(out.uri!) }));
    expect(head.ETag).toBe(`"${out.etag}"`);
    expect(head.Metadata).toMatchObject({ 'reelay-workflow-id': started.workflowId, 'reelay-provider': 'text2video' });
    expect(JSON.stringify(result)).not.toMatch(/X-Amz-Signature|sig=/);
    expect(fs.readdirSync(h.outputRoot)).toEqual([]);
    expect(await incompleteUploads(store, s3.bucket, prefix)).toEqual([]);

    // `reelay status` shows the object; `reelay output url` mints a link outside any history.
    const cliEnv = { REELAY_OUTPUT_URL: h.env.REELAY_OUTPUT_URL!, REELAY_S3_ENDPOINT: s3.endpoint, AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey };
    const status = parseJsonOutput<{ outputs: Array<{ path: string }> }>(await runCli(h, ['status', started.workflowId, '--json'], { env: cliEnv }));
    expect(status.outputs.map((o) => o.path)).toEqual([out.uri]);
    const minted = await runCli(h, ['output', 'url', started.workflowId, '--expires', '10m', '--json'], { env: cliEnv });
    const links = parseJsonOutput<Array<{ uri: string; url: string; sha256: string }>>(minted);
    expect(links).toEqual([expect.objectContaining({ uri: out.uri, sha256: out.sha256, url: expect.stringMatching(/X-Amz-Expires=600&/) })]);
    const fetched = await request(links[0]!.url);
    expect(fetched.statusCode).toBe(200);
    expect(Buffer.from(await fetched.body.arrayBuffer()).equals(expected)).toBe(true);
    // Never in the run's history.
    const history = JSON.stringify(await started.handle.fetchHistory());
    expect(history).not.toMatch(/X-Amz-Signature/);
    expect(history).not.toContain(s3.secretAccessKey);
    const bad = await runCli(h, ['output', 'url', started.workflowId, '--expires', '8d'], { env: cliEnv });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--expires: 8d is outside 1s … 7d/);
  });

  it('reads --expires as seconds, minutes, hours or days', () => {
    expect([parseExpires('90s'), parseExpires('30m'), parseExpires('1h'), parseExpires('7d'), parseExpires('120')]).toEqual([90, 1800, 3600, 604_800, 120]);
    expect(() => parseExpires('1w')).toThrow(/not a duration/);
  });

  it('streams s3:// inputs to LipDub byte-exact and delivers each language into the store', async () => {
    const video = randomBytes(300_000);
    const audio = randomBytes(40_000);
    await store.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${prefix}/in/talk.mp4`, Body: video, ContentType: 'video/mp4' }));
    await store.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${prefix}/in/es.mp3`, Body: audio, ContentType: 'audio/mpeg' }));
    const started = await startPipeline(
      h.client,
      'lipdub',
      { video: `s3://${s3.bucket}/${prefix}/in/talk.mp4`, audios: [{ source: `s3://${s3.bucket}/${prefix}/in/es.mp3`, language: 'es-MX' }], polling: FAST_POLLING },
      { taskQueue: h.taskQueue },
    );
    const result = await started.handle.result();
    const out = result.outputs[0]!;
    // The sandbox derives the output from the bytes it received: equal only if both uploads were exact.
    const expected = lipdubOutput(video, audio, 'es-MX');
    expect(out.sha256).toBe(createHash('sha256').update(expected).digest('hex'));
    expect((await body(keyOf(out.uri!))).equals(expected)).toBe(true);
    const head = await store.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: keyOf(out.uri!) }));
    expect(head.Metadata).toMatchObject({ 'reelay-workflow-id': started.workflowId, 'reelay-provider': 'lipdub', 'reelay-provider-job-id': out.generateId });
  });

  it('sends s3:// images in multipart fields byte-exact: Vivid Flow and AI Studio answer as for the same local file', async () => {
    h.sandbox.configure({ timings: { vividflow: { processMs: 100, workers: 1 }, aistudio: { pendingMs: 20, runMs: 200, mockRunMs: 200 } } });
    const dir = tempDir('stored-images');
    try {
      const localImage = makeFile(dir, 'frame.png', 150_000);
      const otherImage = makeFile(dir, 'other.png', 150_000);
      const stored = `s3://${s3.bucket}/${prefix}/in/frame.png`;
      await store.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${prefix}/in/frame.png`, Body: fs.readFileSync(localImage), ContentType: 'image/png' }));
      const run = async (pipeline: 'vividflow' | 'aistudio', image: string) => {
        const input = pipeline === 'vividflow' ? { prompt: 'the sea starts to move', imagePath: image, polling: FAST_POLLING } : { initialImage: image, mockMode: true, polling: FAST_POLLING };
        const started = await startPipeline(h.client, pipeline, input, { taskQueue: h.taskQueue });
        return (await started.handle.result()).output.sha256;
      };
      for (const pipeline of ['vividflow', 'aistudio'] as const) {
        // The sandbox derives each output from the image bytes it received.
        const [fromStore, fromFile, fromOther] = [await run(pipeline, stored), await run(pipeline, localImage), await run(pipeline, otherImage)];
        expect({ pipeline, same: fromStore === fromFile, differsForAnotherImage: fromOther !== fromFile }).toEqual({ pipeline, same: true, differsForAnotherImage: true });
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an s3:// input that does not exist, naming it, before any provider call', async () => {
    h.sandbox.resetCounters();
    const missing = `s3://${s3.bucket}/${prefix}/in/nope.mp4`;
    const started = await startPipeline(
      h.client,
      'lipdub',
      { video: missing, audios: [{ source: `s3://${s3.bucket}/${prefix}/in/es.mp3`, language: 'es-MX' }], polling: FAST_POLLING },
      { taskQueue: h.taskQueue },
    );
    const err = (await started.handle.result().then(() => undefined, (e: unknown) => e)) as WorkflowFailedError;
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(err.cause).toBeInstanceOf(ActivityFailure);
    const app = err.cause!.cause as ApplicationFailure;
    expect(app).toBeInstanceOf(ApplicationFailure);
    expect(app.type).toBe('SourceUnavailable');
    expect(app.nonRetryable).toBe(true);
    expect(app.message).toBe(`reading ${missing}: no such object at ${s3.endpoint}`);
    expect(h.sandbox.counters()['lipdub POST /v1/video'] ?? 0).toBe(0);
  });

  it('stops a worker at start when the output bucket does not exist, naming REELAY_OUTPUT_URL', async () => {
    const env = { ...h.env, REELAY_OUTPUT_URL: 's3://no-such-bucket-here/out' };
    const e = await createReelayWorker({ env, taskQueue: 'never-polled' }).then(() => undefined, (err: unknown) => err);
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).problems).toEqual([
      `REELAY_OUTPUT_URL=s3://no-such-bucket-here/out (REELAY_S3_ENDPOINT=${s3.endpoint}): writing a probe object under s3://no-such-bucket-here/out: the bucket does not exist at ${s3.endpoint}`,
    ]);
  });
});
