import fs from 'node:fs';
import path from 'node:path';
import { CreateBucketCommand, PutBucketPolicyCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ConfigError, loadStorageConfig } from '../../src/config';
import { storedInputProblems } from '../../src/client';
import { createStoreUser } from '../../src/dev/objectstore';
import { startBatch } from '../../src/pipelines/batch/start';
import { createS3Client } from '../../src/storage/s3';
import { runCli } from '../support/cli';
import { startHarness, tempDir, type Harness } from '../support/harness';
import { storeEnv } from '../storage/env';
import { testStore, testStoreEnv, uniquePrefix } from '../storage/support';
import { expectNoCrash, providerCalls, workflowsOnQueue } from './support';

/**
 * Bad storage input at the edge (issue 13): an output location that is malformed, of an unknown scheme,
 * in a bucket that does not exist, without credentials or in a store that refuses writes, and inputs in
 * the store that do not exist — each refused before anything starts, with a message naming the field or
 * the variable, and nothing written.
 */
describe('bad storage input at the edge', () => {
  let h: Harness;
  let dir: string;
  let manifest: string;
  const s = testStoreEnv();
  const store = testStore();
  let existing: string;

  beforeAll(async () => {
    h = await startHarness();
    dir = tempDir('bad-store');
    manifest = path.join(dir, 'one.jsonl');
    fs.writeFileSync(manifest, JSON.stringify({ pipeline: 'text2video', input: { text: 'x' } }) + '\n');
    existing = `${uniquePrefix('inputs')}/talk.mp4`;
    await store.client.send(new PutObjectCommand({ Bucket: s.bucket, Key: existing, Body: 'not really a video' }));
  });
  afterAll(async () => {
    store.client.destroy();
    await h.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['an unknown scheme', 'gs://bucket/out', /REELAY_OUTPUT_URL="gs:\/\/bucket\/out": has an unsupported scheme "gs:\/\/"/],
    ['no bucket', 's3:///out', /REELAY_OUTPUT_URL="s3:\/\/\/out": has no bucket/],
    ['a malformed bucket', 's3://My_Bucket/out', /REELAY_OUTPUT_URL="s3:\/\/My_Bucket\/out": has an invalid bucket name/],
    ['credentials in the URI', 's3://key:secret@bucket/out', /REELAY_OUTPUT_URL=.*must not carry a user name, password or port/],
  ])('refuses an output location with %s, naming the variable, before connecting anywhere', async (_what, url, message) => {
    expect(() => loadStorageConfig({ REELAY_OUTPUT_URL: url })).toThrow(ConfigError);
    expect(() => loadStorageConfig({ REELAY_OUTPUT_URL: url })).toThrow(message);
    const r = await runCli(h, ['batch', 'run', manifest], { env: { REELAY_OUTPUT_URL: url } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expectNoCrash(r);
  });

  it('refuses a batch whose output bucket does not exist, or whose store refuses writes, naming the variable; nothing starts, nothing is written', async () => {
    const before = providerCalls(h);
    const missing = await runCli(h, ['batch', 'run', manifest, '--key', `nobucket-${Date.now()}`], { env: { ...storeEnv('p'), REELAY_OUTPUT_URL: `s3://no-such-bucket-${Date.now()}/out` } as Record<string, string> });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/REELAY_OUTPUT_URL=s3:\/\/no-such-bucket-\d+\/out: writing s3:\/\/.*manifest\.jsonl: the bucket does not exist at http:\/\/127\.0\.0\.1:\d+; nothing was started/);
    expectNoCrash(missing);

    // A second account that may read the bucket but not write to it.
    const bucket = `ro-batch-${Date.now()}`;
    await store.client.send(new CreateBucketCommand({ Bucket: bucket }));
    const reader = { accessKeyId: `batch-reader-${Date.now()}`, secretAccessKey: 'reader-secret-not-real' };
    createStoreUser({ binary: s.binary, endpoint: s.endpoint, admin: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey } }, reader);
    await store.client.send(
      new PutBucketPolicyCommand({
        Bucket: bucket,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { AWS: [reader.accessKeyId] }, Action: ['s3:GetObject', 's3:ListBucket'], Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`] }],
        }),
      }),
    );
    const denied = await runCli(h, ['batch', 'run', manifest], {
      env: { ...storeEnv('p'), REELAY_OUTPUT_URL: `s3://${bucket}/out`, AWS_ACCESS_KEY_ID: reader.accessKeyId, AWS_SECRET_ACCESS_KEY: reader.secretAccessKey } as Record<string, string>,
    });
    expect(denied.code).toBe(2);
    expect(denied.stderr).toMatch(new RegExp(`REELAY_OUTPUT_URL=s3://${bucket}/out: writing s3://${bucket}/out/batch-.*/manifest\\.jsonl: access denied`));
    expectNoCrash(denied);
    expect(await workflowsOnQueue(h)).toEqual([]);
    expect(providerCalls(h)).toBe(before);
  });

  it('refuses a batch when no store credentials can be found, naming what to set', async () => {
    const storage = loadStorageConfig(storeEnv('p'));
    // A client with an empty credential chain, as on a machine with no AWS_* variables, profile or role.
    const none = {
      settings: storage.s3,
      client: createS3Client(storage.s3, {
        credentials: async () => {
          throw Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
        },
      }),
    };
    const err = (await startBatch(h.client, manifest, { taskQueue: h.taskQueue, storage, store: none, key: `nocreds-${Date.now()}` }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/REELAY_OUTPUT_URL=s3:\/\/.*: writing .*manifest\.jsonl: no store credentials found \(set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE/);
    none.client.destroy();
  });

  it('names the field of an s3:// input whose object or bucket does not exist, and lets existing ones and unknowable ones through', async () => {
    const problems = await storedInputProblems(
      [
        { field: 'video', ref: `s3://${s.bucket}/${existing}` },
        { field: 'audios.0.source', ref: `s3://${s.bucket}/${existing}.missing` },
        { field: 'audios.1.source', ref: `s3://no-such-bucket-${Date.now()}/a.mp3` },
        { field: 'audios.2.source', ref: '/local/path.mp3' },
      ],
      { store },
    );
    expect(problems).toEqual([
      `input.audios.0.source: s3://${s.bucket}/${existing}.missing does not exist in the store`,
      expect.stringMatching(/^input\.audios\.1\.source: s3:\/\/no-such-bucket-\d+\/a\.mp3: the bucket "no-such-bucket-\d+" does not exist$/),
    ]);
    // Without credentials of its own the starter cannot tell: the worker checks before any provider call.
    const anonymous = testStore({ accessKeyId: 'nobody', secretAccessKey: 'nothing' });
    expect(await storedInputProblems([{ field: 'video', ref: `s3://${s.bucket}/${existing}.missing` }], { store: anonymous })).toEqual([]);
    anonymous.client.destroy();
  });
});
