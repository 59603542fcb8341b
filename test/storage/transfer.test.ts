import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';
import { activityTransferHooks } from '../../src/activities/shared';
import { downloadToFile, probeSource, SourceError } from '../../src/activities/transfer';
import type { ReelayConfig } from '../../src/config';
import { APIConnectionError } from '../../src/providers/errors';
import type { MultipartCheckpoint } from '../../src/storage/writer';
import { deterministicBody, deterministicSha256, incompleteUploads, testS3Settings, testStore, testStoreEnv, uniquePrefix } from './support';

const MiB = 1024 * 1024;
const ROOT = path.resolve(__dirname, '../..');

/** A provider's download URL: serves `bytes` deterministic bytes, announcing `announce` as Content-Length. */
async function serveBody(seed: string, bytes: number, announce = bytes): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(async (_req, res) => {
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(announce) });
    for await (const chunk of deterministicBody(seed, bytes)) {
      if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
    }
    if (announce === bytes) res.end();
    else res.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/download/job-1?sig=secret`,
    close: () => new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

/**
 * The transfer layer with the store as the target of downloads and the source of uploads: the same
 * Content-Length checks as local files, and the activity's heartbeat carrying the upload's checkpoint.
 */
describe('transfers into and out of the store', () => {
  const s3 = testStoreEnv();
  const store = testStore();
  const hooks = { store: () => store };
  afterAll(() => store.client.destroy());
  const dirUri = (prefix: string) => `s3://${s3.bucket}/${prefix}`;

  it('downloads a signed URL into the store with the same result as a file, plus uri and etag', async () => {
    const server = await serveBody('dl', 9 * MiB + 1);
    const prefix = uniquePrefix('dl');
    try {
      const result = await downloadToFile({ url: server.url, dir: dirUri(prefix), name: 'video.mp4', provider: 'lipdub' }, hooks);
      const uri = `${dirUri(prefix)}/video.mp4`;
      expect(result).toEqual({ path: uri, uri, etag: expect.stringMatching(/^[0-9a-f]{32}-2$/), bytes: 9 * MiB + 1, sha256: deterministicSha256('dl', 9 * MiB + 1), contentType: 'video/mp4' });
      const head = await store.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: `${prefix}/video.mp4` }));
      expect(head.Metadata).toEqual({ 'reelay-provider': 'lipdub' });
    } finally {
      await server.close();
    }
  });

  it('an object an earlier attempt completed for the same run and job is returned, not downloaded and written again', async () => {
    const server = await serveBody('again', 6 * MiB + 7);
    const prefix = uniquePrefix('again');
    const metadata = { workflowId: 'lipdub-again', providerJobId: 'gen-1' };
    const args = { url: server.url, dir: dirUri(prefix), name: 'video.mp4', provider: 'lipdub' as const };
    let first;
    try {
      first = await downloadToFile(args, { ...hooks, metadata });
    } finally {
      await server.close();
    }
    // The provider's URL is gone now: only a result read from the store can come back.
    expect(await downloadToFile(args, { ...hooks, metadata })).toEqual(first);
    // Another job (or no job named) is downloaded again, so it meets the closed server.
    await expect(downloadToFile(args, { ...hooks, metadata: { ...metadata, providerJobId: 'gen-2' } })).rejects.toBeInstanceOf(APIConnectionError);
    await expect(downloadToFile(args, hooks)).rejects.toBeInstanceOf(APIConnectionError);
  });

  it('a body shorter than its Content-Length fails as the provider\'s, leaving no object and no incomplete upload', async () => {
    const server = await serveBody('short', 10 * MiB, 12 * MiB);
    const prefix = uniquePrefix('short-dl');
    try {
      const e = await downloadToFile({ url: server.url, dir: dirUri(prefix), name: 'video.mp4', provider: 'lipdub' }, hooks).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(APIConnectionError);
      expect((e as Error).message).toMatch(/^download from http:\/\/127\.0\.0\.1:\d+\/download\/job-1\?… (broke off|into s3:)/);
      expect((e as Error).message).not.toContain('secret');
      expect(await incompleteUploads(store, s3.bucket, prefix)).toEqual([]);
      await expect(store.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: `${prefix}/video.mp4` }))).rejects.toMatchObject({ name: 'NotFound' });
    } finally {
      await server.close();
    }
  });

  it('sizes an s3:// source with HeadObject, and refuses a missing one as a non-retryable source error', async () => {
    const prefix = uniquePrefix('probe');
    const server = await serveBody('probe', 1000);
    await downloadToFile({ url: server.url, dir: dirUri(prefix), name: 'a.mp3', provider: 'lipdub' }, hooks).finally(() => server.close());
    await expect(probeSource(`${dirUri(prefix)}/a.mp3`, hooks)).resolves.toEqual({ size: 1000, contentType: 'video/mp4' });
    const e = await probeSource(`${dirUri(prefix)}/missing.mp3`, hooks).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(SourceError);
    expect((e as SourceError).retryable).toBe(false);
    expect((e as SourceError).message).toBe(`reading ${dirUri(prefix)}/missing.mp3: no such object at ${s3.endpoint}`);
    await expect(probeSource(`${dirUri(prefix)}/a.mp3`)).rejects.toThrow(/no object store is configured on this worker/);
  });

  describe('inside an activity', () => {
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    beforeAll(() => {
      process.env.AWS_ACCESS_KEY_ID = s3.accessKeyId;
      process.env.AWS_SECRET_ACCESS_KEY = s3.secretAccessKey;
    });
    afterAll(() => {
      process.env.AWS_ACCESS_KEY_ID = saved.id;
      process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
      if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
      if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
    });
    const config = { storage: { output: { kind: 's3', bucket: s3.bucket, key: 'x' }, outputVar: 'REELAY_OUTPUT_URL', s3: testS3Settings() } } as unknown as ReelayConfig;

    it('heartbeats the multipart checkpoint, and the next attempt resumes from it without sending those parts again', async () => {
      const prefix = uniquePrefix('activity');
      const key = `${prefix}/video.mp4`;
      const bytes = 21 * MiB + 5;
      // Attempt 1: a worker killed mid-upload (its last heartbeat is what the server keeps). The upload it
      // created carries its metadata: an object's metadata is fixed when its multipart upload is created.
      const metadata = { 'reelay-provider': 'dublab', 'reelay-workflow-id': 'dublab-resume', 'reelay-provider-job-id': 'file-9' };
      const killed = await new Promise<MultipartCheckpoint>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/storage/write-child.ts'), key, 'activity', String(bytes), JSON.stringify(metadata)], { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'inherit'] });
        let last: MultipartCheckpoint | undefined;
        child.stdout.on('data', (d: Buffer) => {
          for (const line of d.toString().split('\n').filter(Boolean)) {
            if (line === 'DONE') return reject(new Error('finished before the kill'));
            last = JSON.parse(line) as MultipartCheckpoint;
            if (last.parts.length >= 2) child.kill('SIGKILL');
          }
        });
        child.once('exit', () => (last ? resolve(last) : reject(new Error('no checkpoint'))));
      });
      expect(await incompleteUploads(store, s3.bucket, key)).toHaveLength(1);

      // Attempt 2, with that heartbeat as its details.
      const server = await serveBody('activity', bytes);
      const env = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: { phase: 'downloading', storeUpload: killed } });
      const beats: Array<{ storeUpload?: MultipartCheckpoint; bytesDone: number }> = [];
      env.on('heartbeat', (d: { storeUpload?: MultipartCheckpoint; bytesDone: number }) => beats.push(d));
      try {
        const result = await env.run(() =>
          downloadToFile({ url: server.url, dir: dirUri(prefix), name: 'video.mp4', provider: 'dublab' }, activityTransferHooks({ config }, 'downloading', { fileId: 'file-9' })),
        );
        expect(result).toMatchObject({ uri: `${dirUri(prefix)}/video.mp4`, bytes, sha256: deterministicSha256('activity', bytes) });
        const withUpload = beats.filter((b) => b.storeUpload);
        expect(withUpload.length).toBeGreaterThan(0);
        // The first part this attempt sent came after the ones the killed attempt had: those were reused.
        expect(withUpload[0]!.storeUpload!.uploadId).toBe(killed.uploadId);
        expect(withUpload[0]!.storeUpload!.parts.length).toBe(killed.parts.length + 1);
        const got = await store.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
        expect(got.Metadata).toEqual(metadata);
        await got.Body!.transformToByteArray();
        expect(await incompleteUploads(store, s3.bucket, key)).toEqual([]);
      } finally {
        await server.close();
      }
    });
  });
});
