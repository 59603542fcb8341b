import { randomBytes } from 'node:crypto';
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
