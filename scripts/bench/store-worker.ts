// The client side of the bench's 'store' section, in a process of its own so its RSS is measured alone:
// on each IPC request it streams a download into the store through Reelay (downloadToFile with an s3://
// target), or uploads a local file with a plain AWS SDK Upload (lib-storage, default options), and
// answers with the transfer's own time.
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Upload } from '@aws-sdk/lib-storage';
import { downloadToFile } from '../../src/activities/transfer';
import { createS3Client } from '../../src/storage/s3';

export interface StoreBenchRequest {
  tool: 'reelay' | 'sdk';
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  bucket: string;
  key: string;
  /** reelay: the provider's signed download URL. */
  url?: string;
  /** sdk: the local file. */
  file?: string;
}

export interface StoreBenchResult {
  seconds: number;
  bytes: number;
  sha256?: string;
}

const settings = (r: StoreBenchRequest) => ({ endpoint: r.endpoint, region: 'us-east-1', forcePathStyle: true });

async function handle(r: StoreBenchRequest): Promise<StoreBenchResult> {
  const client = createS3Client(settings(r), { credentials: r.credentials });
  try {
    const t0 = performance.now();
    if (r.tool === 'reelay') {
      const slash = r.key.lastIndexOf('/');
      const out = await downloadToFile(
        { url: r.url!, dir: `s3://${r.bucket}/${r.key.slice(0, slash)}`, name: r.key.slice(slash + 1), provider: 'lipdub' },
        { store: () => ({ client, settings: settings(r) }) },
      );
      return { seconds: (performance.now() - t0) / 1000, bytes: out.bytes, sha256: out.sha256 };
    }
    const upload = new Upload({ client, params: { Bucket: r.bucket, Key: r.key, Body: fs.createReadStream(r.file!), ContentType: 'video/mp4' } });
    await upload.done();
    return { seconds: (performance.now() - t0) / 1000, bytes: fs.statSync(r.file!).size };
  } finally {
    client.destroy();
  }
}

process.on('message', (m: StoreBenchRequest | 'gc') => {
  if (m === 'gc') {
    (globalThis as { gc?: () => void }).gc?.();
    process.send!('gc-done');
    return;
  }
  handle(m).then(
    (res) => process.send!({ ok: res }),
    (err: unknown) => process.send!({ error: (err as Error).stack ?? String(err) }),
  );
});
process.send!('ready');
