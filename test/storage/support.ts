import { createHash, randomBytes } from 'node:crypto';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { TEST_STORE_ENV } from '../../src/dev/objectstore';
import { createS3Client, type Store } from '../../src/storage/s3';
import type { S3Settings } from '../../src/storage/config';

/** The versitygw server the jest global setup started (test/support/global-setup.ts). */
export function testStoreEnv(): { endpoint: string; bucket: string; region: string; accessKeyId: string; secretAccessKey: string; binary: string } {
  const read = (name: string) => {
    const v = process.env[name];
    if (!v) throw new Error(`${name} is not set: run the tests through jest's global setup`);
    return v;
  };
  return {
    endpoint: read(TEST_STORE_ENV.endpoint),
    bucket: read(TEST_STORE_ENV.bucket),
    region: read(TEST_STORE_ENV.region),
    accessKeyId: read(TEST_STORE_ENV.accessKeyId),
    secretAccessKey: read(TEST_STORE_ENV.secretAccessKey),
    binary: read(TEST_STORE_ENV.binary),
  };
}

export function testS3Settings(): S3Settings {
  const env = testStoreEnv();
  return { endpoint: env.endpoint, region: env.region, forcePathStyle: true };
}

/** A Store on the test server as its root account (or other credentials). */
export function testStore(credentials?: { accessKeyId: string; secretAccessKey: string }): Store {
  const env = testStoreEnv();
  const settings = testS3Settings();
  return { settings, client: createS3Client(settings, { credentials: credentials ?? { accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey }, maxAttempts: 1 }) };
}

/** A key prefix no other test uses. */
export function uniquePrefix(name: string): string {
  return `t/${name}-${Date.now()}-${randomBytes(3).toString('hex')}`;
}

/** Incomplete multipart uploads under a prefix. */
export async function incompleteUploads(store: Store, bucket: string, prefix: string): Promise<string[]> {
  const res = await store.client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
  return (res.Uploads ?? []).map((u) => `${u.Key}#${u.UploadId}`);
}

const BLOCK_BYTES = 1024 * 1024;

/** Block `j` of a deterministic body: distinct per seed and block, so a misplaced part shows in the hash. */
function block(seed: string, j: number): Buffer {
  const unit = createHash('sha256').update(`${seed}:${j}`).digest();
  return Buffer.alloc(BLOCK_BYTES, unit);
}

/**
 * A body of `bytes` bytes in 1 MiB chunks, the same for the same seed (a provider serving the same file
 * again). `delayMs` pauses before each chunk; `failAfterBytes` breaks it off like a dropped connection.
 */
export async function* deterministicBody(seed: string, bytes: number, opts: { delayMs?: number; failAfterBytes?: number } = {}): AsyncGenerator<Buffer> {
  let sent = 0;
  for (let j = 0; sent < bytes; j++) {
    if (opts.failAfterBytes !== undefined && sent >= opts.failAfterBytes) throw new Error('the connection dropped');
    if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
    const b = block(seed, j);
    const n = Math.min(b.length, bytes - sent);
    sent += n;
    yield n === b.length ? b : b.subarray(0, n);
  }
}

export function deterministicSha256(seed: string, bytes: number): string {
  const hash = createHash('sha256');
  let left = bytes;
  for (let j = 0; left > 0; j++) {
    const b = block(seed, j);
    const n = Math.min(b.length, left);
    hash.update(n === b.length ? b : b.subarray(0, n));
    left -= n;
  }
  return hash.digest('hex');
}
