import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { CreateMultipartUploadCommand, GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { StoreError } from '../../src/storage/errors';
import { SHA256_TAG, outputMetadata, partSizeFor, writeObject, type MultipartCheckpoint } from '../../src/storage/writer';
import { deterministicBody, deterministicSha256, incompleteUploads, testStore, testStoreEnv, uniquePrefix } from './support';

const MiB = 1024 * 1024;
const ROOT = path.resolve(__dirname, '../..');

/**
 * The streaming writer: a body goes into one object through a multipart upload, hashed and counted on the
 * way, visible only when complete, and no attempt — failed, cancelled or killed — leaves an incomplete
 * multipart upload once the next attempt ran.
 */
describe('streaming a body into the store', () => {
  const env = testStoreEnv();
  const store = testStore();
  afterAll(() => store.client.destroy());
  const at = (key: string) => ({ kind: 's3' as const, bucket: env.bucket, key });

  async function objectSha(key: string): Promise<{ sha256: string; bytes: number }> {
    const res = await store.client.send(new GetObjectCommand({ Bucket: env.bucket, Key: key }));
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const c of res.Body as AsyncIterable<Buffer>) {
      hash.update(c);
      bytes += c.length;
    }
    return { sha256: hash.digest('hex'), bytes };
  }

  it('writes a multi-part body: bytes, sha256 and etag match the stored object, with Content-Type, metadata and the sha256 tag', async () => {
    const key = `${uniquePrefix('multi')}/lipdub-talk/es.mp4`;
    const bytes = 17 * MiB + 321;
    const checkpoints: MultipartCheckpoint[] = [];
    const progress: number[] = [];
    const result = await writeObject(
      store,
      {
        target: at(key),
        body: deterministicBody('multi', bytes),
        contentType: 'video/mp4',
        metadata: outputMetadata({ workflowId: 'lipdub-talk', provider: 'lipdub', providerJobId: 'gen-42' }),
        expectedBytes: bytes,
        partSizeBytes: 5 * MiB,
      },
      { onCheckpoint: (cp) => checkpoints.push(cp), onProgress: (done) => progress.push(done) },
    );
    const sha256 = deterministicSha256('multi', bytes);
    expect(result).toEqual({ uri: `s3://${env.bucket}/${key}`, bytes, sha256, etag: expect.stringMatching(/^[0-9a-f]{32}-4$/), contentType: 'video/mp4', partsReused: 0 });
    expect(await objectSha(key)).toEqual({ sha256, bytes });
    const head = await store.client.send(new HeadObjectCommand({ Bucket: env.bucket, Key: key }));
    expect(head.ETag).toBe(`"${result.etag}"`);
    expect(head.ContentType).toBe('video/mp4');
    expect(head.Metadata).toEqual({ 'reelay-workflow-id': 'lipdub-talk', 'reelay-provider': 'lipdub', 'reelay-provider-job-id': 'gen-42' });
    const tags = await store.client.send(new GetObjectTaggingCommand({ Bucket: env.bucket, Key: key }));
    expect(tags.TagSet).toEqual([{ Key: SHA256_TAG, Value: sha256 }]);
    // One checkpoint per part, each listing every part done so far.
    expect(checkpoints.map((c) => c.parts.length).sort((a, b) => a - b)).toEqual([1, 2, 3, 4]);
    expect(checkpoints.at(-1)!.parts.map((p) => p.bytes).reduce((a, b) => a + b)).toBe(bytes);
    expect(progress.at(-1)).toBe(bytes);
    expect(await incompleteUploads(store, env.bucket, key)).toEqual([]);
  });

  it('writes a body smaller than one part in one PUT, sha256 in the metadata too; an empty body too', async () => {
    const key = `${uniquePrefix('small')}/subs.vtt`;
    const body = Buffer.from('WEBVTT\n\n00:00.000 --> 00:01.000\nhola\n');
    const result = await writeObject(store, { target: at(key), body: [body], contentType: 'text/vtt', metadata: outputMetadata({ workflowId: 'dublab-ü', provider: 'dublab' }) });
    const sha256 = createHash('sha256').update(body).digest('hex');
    expect(result).toMatchObject({ bytes: body.length, sha256, etag: expect.stringMatching(/^[0-9a-f]{32}$/) });
    const head = await store.client.send(new HeadObjectCommand({ Bucket: env.bucket, Key: key }));
    expect(head.Metadata).toEqual({ 'reelay-workflow-id': 'dublab-%C3%BC', 'reelay-provider': 'dublab', [SHA256_TAG]: sha256 });
    expect(head.ETag).toBe(`"${result.etag}"`);
    const empty = await writeObject(store, { target: at(`${key}.empty`), body: [] });
    expect(empty).toMatchObject({ bytes: 0, sha256: createHash('sha256').digest('hex') });
    expect(await objectSha(`${key}.empty`)).toEqual({ bytes: 0, sha256: empty.sha256 });
  });

  it('a source that breaks off mid-way fails with its own error and leaves neither an object nor an incomplete upload', async () => {
    const key = `${uniquePrefix('broken')}/out.mp4`;
    const attempt = writeObject(store, { target: at(key), body: deterministicBody('broken', 30 * MiB, { failAfterBytes: 12 * MiB }), partSizeBytes: 5 * MiB });
    await expect(attempt).rejects.toThrow(/^the connection dropped$/);
    expect(await incompleteUploads(store, env.bucket, key)).toEqual([]);
    await expect(store.client.send(new HeadObjectCommand({ Bucket: env.bucket, Key: key }))).rejects.toMatchObject({ name: 'NotFound' });
  });

  it('a body shorter than its announced length fails and leaves nothing', async () => {
    const key = `${uniquePrefix('short')}/out.mp4`;
    const e = await writeObject(store, { target: at(key), body: deterministicBody('short', 11 * MiB), expectedBytes: 12 * MiB, partSizeBytes: 5 * MiB }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(StoreError);
    expect((e as StoreError).message).toBe(`writing s3://${env.bucket}/${key}: the source ended after ${11 * MiB} of ${12 * MiB} bytes`);
    expect(await incompleteUploads(store, env.bucket, key)).toEqual([]);
    await expect(store.client.send(new HeadObjectCommand({ Bucket: env.bucket, Key: key }))).rejects.toMatchObject({ name: 'NotFound' });
  });

  it('a cancelled write aborts its upload', async () => {
    const key = `${uniquePrefix('cancel')}/out.mp4`;
    const controller = new AbortController();
    const attempt = writeObject(
      store,
      { target: at(key), body: deterministicBody('cancel', 40 * MiB, { delayMs: 5 }), partSizeBytes: 5 * MiB },
      { signal: controller.signal, onCheckpoint: () => controller.abort() },
    );
    await expect(attempt).rejects.toThrow();
    expect(await incompleteUploads(store, env.bucket, key)).toEqual([]);
  });

  it('credentials the store refuses are reported as such and leave nothing', async () => {
    const refused = testStore({ accessKeyId: 'nobody-knows-me', secretAccessKey: 'not-the-secret-at-all' });
    const key = `${uniquePrefix('refused')}/out.mp4`;
    const e = await writeObject(refused, { target: at(key), body: deterministicBody('r', 12 * MiB), partSizeBytes: 5 * MiB }).catch((err: unknown) => err);
    refused.client.destroy();
    expect(e).toBeInstanceOf(StoreError);
    expect((e as StoreError).fault).toBe('bad-credentials');
    expect(await incompleteUploads(store, env.bucket, key)).toEqual([]);
  });

  /** Run write-child.ts and SIGKILL it once it reported `parts` parts; resolves with its last checkpoint. */
  function killMidUpload(key: string, seed: string, bytes: number, parts: number): Promise<MultipartCheckpoint | undefined> {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/storage/write-child.ts'), key, seed, String(bytes)], {
      cwd: ROOT,
      env: process.env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let last: MultipartCheckpoint | undefined;
    let buffered = '';
    return new Promise((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        buffered += d.toString();
        let nl: number;
        while ((nl = buffered.indexOf('\n')) !== -1) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (line === 'DONE') return reject(new Error('the child finished before it was killed'));
          last = JSON.parse(line) as MultipartCheckpoint;
          if (parts === 0 || last.parts.length >= parts) child.kill('SIGKILL');
        }
      });
      child.once('exit', (_code, signal) => (signal === 'SIGKILL' ? resolve(last) : reject(new Error(`the child exited with ${_code}`))));
    });
  }

  it('after a worker is killed mid-upload, the next attempt resumes from the checkpoint: parts with the same bytes are not sent again', async () => {
    const key = `${uniquePrefix('killed')}/out.mp4`;
    const bytes = 26 * MiB + 7;
    const checkpoint = await killMidUpload(key, 'killed', bytes, 2);
    expect(checkpoint!.parts.length).toBeGreaterThanOrEqual(2);
    // The kill left an incomplete upload behind: what the next attempt must deal with.
    expect(await incompleteUploads(store, env.bucket, key)).toEqual([`${key}#${checkpoint!.uploadId}`]);
    const result = await writeObject(store, { target: at(key), body: deterministicBody('killed', bytes), expectedBytes: bytes, resumeFrom: checkpoint });
    expect(result.partsReused).toBe(checkpoint!.parts.length);
    expect(result.sha256).toBe(deterministicSha256('killed', bytes));
    expect(await objectSha(key)).toEqual({ sha256: result.sha256, bytes });
    expect(await incompleteUploads(store, env.bucket, key)).toEqual([]);
  });

  it('a resumed attempt whose source now serves other bytes sends those parts again: the object is what was read last', async () => {
    const key = `${uniquePrefix('changed')}/out.mp4`;
    const checkpoint = await killMidUpload(key, 'old-bytes', 16 * MiB, 1);
    const result = await writeObject(store, { target: at(key), body: deterministicBody('new-bytes', 12 * MiB), resumeFrom: checkpoint });
    expect(result.partsReused).toBe(0);
    expect(await objectSha(key)).toEqual({ sha256: deterministicSha256('new-bytes', 12 * MiB), bytes: 12 * MiB });
    expect(await incompleteUploads(store, env.bucket, key)).toEqual([]);
  });

  it('an attempt killed before its first checkpoint leaves an upload the next attempt aborts', async () => {
    const key = `${uniquePrefix('early')}/out.mp4`;
    // What a kill between CreateMultipartUpload and the first part's heartbeat leaves: an upload no checkpoint names.
    const orphan = await store.client.send(new CreateMultipartUploadCommand({ Bucket: env.bucket, Key: key }));
    await store.client.send(new UploadPartCommand({ Bucket: env.bucket, Key: key, UploadId: orphan.UploadId, PartNumber: 1, Body: Buffer.alloc(5 * MiB, 1) }));
    // An upload of another key under the same prefix is not this write's business.
    const neighbour = await store.client.send(new CreateMultipartUploadCommand({ Bucket: env.bucket, Key: `${key}.other` }));
    expect(await incompleteUploads(store, env.bucket, key)).toHaveLength(2);
    await writeObject(store, { target: at(key), body: deterministicBody('early', 6 * MiB), partSizeBytes: 5 * MiB });
    expect(await incompleteUploads(store, env.bucket, key)).toEqual([`${key}.other#${neighbour.UploadId}`]);
    expect(await objectSha(key)).toEqual({ sha256: deterministicSha256('early', 6 * MiB), bytes: 6 * MiB });
  });

  it('sizes parts so a large body fits S3\'s 10,000 parts', () => {
    expect(partSizeFor(undefined)).toBe(8 * MiB);
    expect(partSizeFor(1024 * MiB)).toBe(8 * MiB);
    expect(partSizeFor(200 * 1024 * MiB)).toBe(21 * MiB);
    expect(partSizeFor(10, MiB)).toBe(5 * MiB);
  });
});
