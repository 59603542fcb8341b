import { createHash } from 'node:crypto';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { startStoreFaultProxy, storeOperation, type StoreFaultProxy } from '../../src/dev/store-faults';
import { createS3Client, type Store } from '../../src/storage/s3';
import { writeObject } from '../../src/storage/writer';
import { deterministicBody, deterministicSha256, incompleteUploads, testStoreEnv, uniquePrefix } from './support';

const MiB = 1024 * 1024;

/**
 * The store fault proxy the chaos run puts in front of versitygw: it really answers part uploads with
 * 503 SlowDown and holds others, forwards everything else untouched (signatures still verify), and counts
 * completed objects per key. Through it the streaming writer still stores every byte exactly.
 */
describe('the store fault proxy', () => {
  const env = testStoreEnv();
  let proxy: StoreFaultProxy;
  let store: Store;

  beforeAll(async () => {
    proxy = await startStoreFaultProxy({ target: env.endpoint, partServerErrorRate: 0.3, partSlowRate: 0.3, partSlowMs: { min: 50, max: 300 }, seed: 7 });
    const settings = { endpoint: proxy.endpoint, region: env.region, forcePathStyle: true };
    // The SDK's own retries (3 attempts) absorb most injected 503s, as against a real store.
    store = { settings, client: createS3Client(settings, { credentials: { accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey }, maxAttempts: 5 }) };
  });
  afterAll(async () => {
    store.client.destroy();
    await proxy.close();
  });

  it('names the S3 operation of each request', () => {
    const u = (p: string) => new URL(p, 'http://x');
    expect(storeOperation('PUT', u('/b/k?partNumber=2&uploadId=abc'))).toBe('UploadPart');
    expect(storeOperation('POST', u('/b/k?uploads'))).toBe('CreateMultipartUpload');
    expect(storeOperation('POST', u('/b/k?uploadId=abc'))).toBe('CompleteMultipartUpload');
    expect(storeOperation('DELETE', u('/b/k?uploadId=abc'))).toBe('AbortMultipartUpload');
    expect(storeOperation('GET', u('/b?uploads&prefix=k'))).toBe('ListMultipartUploads');
    expect(storeOperation('PUT', u('/b/k'))).toBe('PutObject');
    expect(storeOperation('GET', u('/b?list-type=2'))).toBe('ListObjects');
  });

  it('injects 503s and slow part uploads, and the writer still stores every object byte-exact, once, leaving no upload', async () => {
    const prefix = uniquePrefix('faults');
    const sizes = [12 * MiB + 17, 11 * MiB, 16 * MiB + 1];
    const results = await Promise.all(
      sizes.map((bytes, i) =>
        writeObject(store, { target: { kind: 's3', bucket: env.bucket, key: `${prefix}/o${i}.bin` }, body: deterministicBody(`f${i}`, bytes), expectedBytes: bytes, partSizeBytes: 5 * MiB }),
      ),
    );
    for (const [i, bytes] of sizes.entries()) {
      expect(results[i]).toMatchObject({ bytes, sha256: deterministicSha256(`f${i}`, bytes) });
      const res = await store.client.send(new GetObjectCommand({ Bucket: env.bucket, Key: `${prefix}/o${i}.bin` }));
      const hash = createHash('sha256');
      for await (const c of res.Body as AsyncIterable<Buffer>) hash.update(c);
      expect(hash.digest('hex')).toBe(deterministicSha256(`f${i}`, bytes));
    }
    const ledger = proxy.ledger();
    expect(ledger.faults.partServerError).toBeGreaterThan(0);
    expect(ledger.faults.partSlow).toBeGreaterThan(0);
    expect(Object.entries(ledger.completed).filter(([k]) => k.includes(prefix)).sort()).toEqual(sizes.map((_, i) => [`${env.bucket}/${prefix}/o${i}.bin`, 1]));
    expect(await incompleteUploads(store, env.bucket, prefix)).toEqual([]);
  });

  it('meets the scheduled faults on the first part uploads, whatever the rates, then none at rates of 0', async () => {
    const scheduled = await startStoreFaultProxy({ target: env.endpoint, firstPartFaults: ['serverError', 'slow'], partSlowMs: { min: 50, max: 100 } });
    const settings = { endpoint: scheduled.endpoint, region: env.region, forcePathStyle: true };
    const client = createS3Client(settings, { credentials: { accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey }, maxAttempts: 5 });
    try {
      const prefix = uniquePrefix('scheduled');
      const bytes = 16 * MiB + 3;
      const result = await writeObject({ settings, client }, { target: { kind: 's3', bucket: env.bucket, key: `${prefix}/o.bin` }, body: deterministicBody('s', bytes), expectedBytes: bytes, partSizeBytes: 5 * MiB });
      expect(result).toMatchObject({ bytes, sha256: deterministicSha256('s', bytes) });
      const ledger = scheduled.ledger();
      // Four parts, one of them sent twice after its 503: five part requests, one refused, one held.
      expect(ledger.requests.UploadPart).toBe(5);
      expect(ledger.faults).toEqual({ partServerError: 1, partSlow: 1, writeServerError: 0 });
    } finally {
      client.destroy();
      await scheduled.close();
    }
  });
});
