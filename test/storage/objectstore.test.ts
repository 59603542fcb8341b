import fs from 'node:fs';
import path from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { TEST_STORE_ENV, ensureVersitygw, startObjectStore, versitygwCacheDir, VERSITYGW_VERSION } from '../../src/dev/objectstore';
import { tempDir } from '../support/harness';

function testStoreEnv() {
  const read = (name: string) => process.env[name] ?? '';
  return {
    endpoint: read(TEST_STORE_ENV.endpoint),
    bucket: read(TEST_STORE_ENV.bucket),
    region: read(TEST_STORE_ENV.region),
    credentials: { accessKeyId: read(TEST_STORE_ENV.accessKeyId), secretAccessKey: read(TEST_STORE_ENV.secretAccessKey) },
    binary: read(TEST_STORE_ENV.binary),
  };
}

/**
 * The S3-compatible server of the tests and the demo is versitygw's POSIX backend, a real server built once
 * from its Go module (like the temporal CLI), started by the jest global setup with a bucket.
 */
describe('the test object store (versitygw)', () => {
  it('is the binary the cache holds or REELAY_VERSITYGW names, and the global setup exported where it runs', async () => {
    const env = testStoreEnv();
    expect(env.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(fs.existsSync(env.binary)).toBe(true);
    expect(versitygwCacheDir({ REELAY_CACHE_DIR: '/c' })).toBe(`/c/versitygw/${VERSITYGW_VERSION}`);
    const client = new S3Client({ endpoint: env.endpoint, region: env.region, forcePathStyle: true, credentials: env.credentials });
    const key = `harness/${Date.now()}/hello.txt`;
    await client.send(new PutObjectCommand({ Bucket: env.bucket, Key: key, Body: 'hello' }));
    const got = await client.send(new GetObjectCommand({ Bucket: env.bucket, Key: key }));
    expect(await got.Body?.transformToString()).toBe('hello');
    client.destroy();
  });

  it('is refused to be built without Go, naming what to install or set', () => {
    const cache = tempDir('vgw-cache');
    try {
      expect(() => ensureVersitygw({ env: { REELAY_CACHE_DIR: cache, PATH: '/nonexistent' } })).toThrow(/no Go toolchain.*REELAY_VERSITYGW/);
      expect(() => ensureVersitygw({ env: { REELAY_VERSITYGW: path.join(cache, 'missing') } })).toThrow(/REELAY_VERSITYGW points at .*missing/);
      // A cached binary is used as is: nothing is built.
      const cached = path.join(cache, 'versitygw', VERSITYGW_VERSION, 'versitygw');
      fs.mkdirSync(path.dirname(cached), { recursive: true });
      fs.writeFileSync(cached, '');
      expect(ensureVersitygw({ env: { REELAY_CACHE_DIR: cache, PATH: '/nonexistent' } })).toEqual({ path: cached, source: 'cache' });
    } finally {
      fs.rmSync(cache, { recursive: true, force: true });
    }
  });

  it('starts on a free port with its own POSIX root and bucket, and stops leaving no process and no root behind', async () => {
    const server = await startObjectStore({ binary: testStoreEnv().binary, bucket: 'own-bucket' });
    const root = server.rootDir;
    expect(fs.existsSync(path.join(root, 'data', 'own-bucket'))).toBe(true);
    const client = server.client();
    await client.send(new PutObjectCommand({ Bucket: 'own-bucket', Key: 'a/b.txt', Body: 'x' }));
    // The POSIX backend stores an object as a plain file under its bucket's directory.
    expect(fs.readFileSync(path.join(root, 'data', 'own-bucket', 'a', 'b.txt'), 'utf8')).toBe('x');
    client.destroy();
    await server.stop();
    expect(server.process.exitCode !== null || server.process.signalCode !== null).toBe(true);
    expect(fs.existsSync(root)).toBe(false);
  });
});
