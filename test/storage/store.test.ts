import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CreateBucketCommand, ListObjectsV2Command, PutBucketPolicyCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { request } from 'undici';
import { createStoreUser } from '../../src/dev/objectstore';
import { freePort } from '../../src/dev/temporal';
import { StoreError } from '../../src/storage/errors';
import { checkWritable, createS3Client, getJson, headObject, listObjects, openObject, presignGet, putJson, type Store } from '../../src/storage/s3';
import { tempDir } from '../support/harness';
import { testS3Settings, testStore, testStoreEnv, uniquePrefix } from './support';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Objects under a prefix, straight from the server. */
async function keysUnder(store: Store, bucket: string, prefix: string): Promise<string[]> {
  const res = await store.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (res.Contents ?? []).map((o) => o.Key!);
}

async function storeError(p: Promise<unknown>): Promise<StoreError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof StoreError) return err;
    throw err;
  }
  throw new Error('expected a StoreError, the call succeeded');
}

describe('the object store check at start-up', () => {
  const env = testStoreEnv();
  const store = testStore();
  afterAll(() => store.client.destroy());

  it('passes on a writable bucket and leaves no probe object behind', async () => {
    const prefix = uniquePrefix('check');
    await checkWritable(store, { kind: 's3', bucket: env.bucket, key: prefix });
    expect(await keysUnder(store, env.bucket, prefix)).toEqual([]);
  });

  it('says the bucket does not exist, naming it and the endpoint', async () => {
    const e = await storeError(checkWritable(store, { kind: 's3', bucket: 'no-such-bucket-here', key: 'x' }));
    expect(e.fault).toBe('no-bucket');
    expect(e.message).toBe(`writing a probe object under s3://no-such-bucket-here/x: the bucket does not exist at ${env.endpoint}`);
  });

  it('says the store refused the credentials', async () => {
    const wrong = testStore({ accessKeyId: 'nobody-knows-me', secretAccessKey: 'not-the-secret-at-all' });
    const e = await storeError(checkWritable(wrong, { kind: 's3', bucket: env.bucket, key: 'x' }));
    expect(e.fault).toBe('bad-credentials');
    expect(e.message).toMatch(/refused the credentials \(InvalidAccessKeyId\); check AWS_ACCESS_KEY_ID\/AWS_SECRET_ACCESS_KEY or AWS_PROFILE$/);
    wrong.client.destroy();
  });

  it('says no credentials were found when the SDK chain has none', async () => {
    const dir = tempDir('no-aws');
    const saved = { ...process.env };
    for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
    Object.assign(process.env, {
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'credentials'),
      AWS_CONFIG_FILE: path.join(dir, 'config'),
    });
    const chain = { settings: testS3Settings(), client: createS3Client(testS3Settings(), { maxAttempts: 1 }) };
    try {
      const e = await storeError(checkWritable(chain, { kind: 's3', bucket: env.bucket, key: 'x' }));
      expect(e.fault).toBe('no-credentials');
      expect(e.message).toMatch(/^checking s3:\/\/reelay-test\/x: no store credentials found \(set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE/);
    } finally {
      process.env = saved;
      chain.client.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes credentials from the SDK chain (AWS_ACCESS_KEY_ID …) when none are passed', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: env.accessKeyId, AWS_SECRET_ACCESS_KEY: env.secretAccessKey });
    const chain = { settings: testS3Settings(), client: createS3Client(testS3Settings(), { maxAttempts: 1 }) };
    try {
      await checkWritable(chain, { kind: 's3', bucket: env.bucket, key: uniquePrefix('chain') });
    } finally {
      process.env = saved;
      chain.client.destroy();
    }
  });

  it('says an unreachable endpoint cannot be reached', async () => {
    const port = await freePort();
    const settings = { ...testS3Settings(), endpoint: `http://127.0.0.1:${port}` };
    const nowhere = { settings, client: createS3Client(settings, { credentials: { accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey }, maxAttempts: 1 }) };
    const e = await storeError(checkWritable(nowhere, { kind: 's3', bucket: env.bucket, key: 'x' }));
    expect(e.fault).toBe('unreachable');
    expect(e.retryable).toBe(true);
    expect(e.message).toMatch(new RegExp(`^writing a probe object under s3://reelay-test/x: cannot reach http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED`));
    nowhere.client.destroy();
  });

  it('says a store that refuses writes denies access, and names the permission', async () => {
    // A second account that a bucket policy lets read and list, but not write.
    const bucket = `ro-${Date.now()}`;
    await store.client.send(new CreateBucketCommand({ Bucket: bucket }));
    await store.client.send(new PutObjectCommand({ Bucket: bucket, Key: 'readable.txt', Body: 'hello' }));
    const reader = { accessKeyId: `reader-${Date.now()}`, secretAccessKey: 'reader-secret-not-real' };
    createStoreUser({ binary: env.binary, endpoint: env.endpoint, admin: { accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey } }, reader);
    await store.client.send(
      new PutBucketPolicyCommand({
        Bucket: bucket,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { AWS: [reader.accessKeyId] }, Action: ['s3:GetObject', 's3:ListBucket'], Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`] }],
        }),
      }),
    );
    const ro = testStore(reader);
    try {
      // It can read: the refusal below is about writing, not about an unknown account.
      expect(await keysUnder(ro, bucket, '')).toEqual(['readable.txt']);
      const e = await storeError(checkWritable(ro, { kind: 's3', bucket, key: 'out' }));
      expect(e.fault).toBe('access-denied');
      expect(e.message).toMatch(new RegExp(`^writing a probe object under s3://${bucket}/out: access denied by .*\\(the credentials may not write there: s3:PutObject\\)$`));
      expect(await keysUnder(store, bucket, 'out')).toEqual([]);
    } finally {
      ro.client.destroy();
    }
  });
});

describe('reading, presigning and small JSON objects', () => {
  const env = testStoreEnv();
  const store = testStore();
  afterAll(() => store.client.destroy());

  it('opens an object with its size from HeadObject and streams its bytes', async () => {
    const key = `${uniquePrefix('read')}/clip.mp4`;
    const bytes = randomBytes(3 * 1024 * 1024 + 5);
    await store.client.send(new PutObjectCommand({ Bucket: env.bucket, Key: key, Body: bytes, ContentType: 'video/mp4' }));
    const opened = await openObject(store, { kind: 's3', bucket: env.bucket, key });
    expect(opened.size).toBe(bytes.length);
    expect(opened.contentType).toBe('video/mp4');
    const chunks: Buffer[] = [];
    for await (const c of opened.stream) chunks.push(c as Buffer);
    expect(sha(Buffer.concat(chunks))).toBe(sha(bytes));
  });

  it('refuses a missing input object, naming it', async () => {
    const e = await storeError(openObject(store, { kind: 's3', bucket: env.bucket, key: 'missing/clip.mp4' }));
    expect(e.fault).toBe('not-found');
    expect(e.retryable).toBe(false);
    expect(e.message).toBe(`reading s3://reelay-test/missing/clip.mp4: no such object at ${env.endpoint}`);
    expect((await storeError(headObject(store, { kind: 's3', bucket: 'no-such-bucket-here', key: 'a' }))).fault).toBe('not-found');
  });

  it('presigns a GET link that works without credentials and only for its lifetime bounds', async () => {
    const key = `${uniquePrefix('presign')}/out.mp4`;
    await store.client.send(new PutObjectCommand({ Bucket: env.bucket, Key: key, Body: 'video bytes' }));
    const url = await presignGet(store, { kind: 's3', bucket: env.bucket, key }, 600);
    expect(url).toMatch(/X-Amz-Expires=600/);
    const res = await request(url);
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('video bytes');
    // Tampering with the key breaks the signature.
    const other = await request(url.replace('out.mp4', 'other.mp4'));
    expect(other.statusCode).toBe(403);
    await other.body.dump();
    await expect(presignGet(store, { kind: 's3', bucket: env.bucket, key }, 8 * 24 * 3600)).rejects.toThrow(/from 1 to 604800/);
  });

  it('puts, gets and lists small JSON objects; a missing one reads as undefined', async () => {
    const prefix = uniquePrefix('json');
    await putJson(store, { kind: 's3', bucket: env.bucket, key: `${prefix}/results/2.json` }, { line: 2, ok: false });
    await putJson(store, { kind: 's3', bucket: env.bucket, key: `${prefix}/results/1.json` }, { line: 1, ok: true });
    expect(await getJson(store, { kind: 's3', bucket: env.bucket, key: `${prefix}/results/1.json` })).toEqual({ line: 1, ok: true });
    expect(await getJson(store, { kind: 's3', bucket: env.bucket, key: `${prefix}/results/3.json` })).toBeUndefined();
    const listed = await listObjects(store, { kind: 's3', bucket: env.bucket, key: `${prefix}/results` });
    expect(listed.map((o) => o.key)).toEqual([`${prefix}/results/1.json`, `${prefix}/results/2.json`]);
    expect(listed[0]!.size).toBe(JSON.stringify({ line: 1, ok: true }).length);
  });
});
