import type { StorageSettings } from '../storage/config';
import type { Store } from '../storage/s3';

/**
 * The edge's check of inputs in the object store: an `s3://` file reference whose object or bucket does
 * not exist is refused before anything starts, naming the field, like a local path that does not exist.
 * It asks the store with the starter's own credentials (HeadObject only); a starter that holds none, or
 * whose credentials may not read there, cannot tell, and leaves the check to the worker, which makes it
 * again before any provider call.
 */

export interface StoredInputOptions {
  /** Storage settings already loaded; read from the environment (REELAY_S3_*) when unset and needed. */
  storage?: StorageSettings;
  /** The store client to ask (default: one built from the settings, credentials from the AWS SDK chain). */
  store?: Store;
}

/** `input.<field>: …` for every s3:// reference among `refs` that names no object; [] when all exist or none can be checked. */
export async function storedInputProblems(refs: Array<{ field: string; ref: string | undefined }>, opts: StoredInputOptions = {}): Promise<string[]> {
  const stored = refs.filter((r): r is { field: string; ref: string } => typeof r.ref === 'string' && /^s3:\/\//i.test(r.ref));
  if (!stored.length) return [];
  const { headObject } = await import('../storage/s3');
  const { parseS3Uri, LocationError } = await import('../storage/location');
  const { StoreError } = await import('../storage/errors');
  let store = opts.store;
  if (!store) {
    const { loadStorageConfig } = await import('../config');
    const { storeFor } = await import('../pipelines/batch/records');
    store = storeFor((opts.storage ?? loadStorageConfig()).s3);
  }
  const problems: string[] = [];
  for (const { field, ref } of stored) {
    let loc;
    try {
      loc = parseS3Uri(ref, { requireKey: true });
    } catch (err) {
      if (!(err instanceof LocationError)) throw err;
      problems.push(`input.${field}: ${ref} ${err.message}`);
      continue;
    }
    try {
      await headObject(store, loc);
    } catch (err) {
      if (!(err instanceof StoreError)) throw err;
      if (err.fault === 'not-found') {
        // HeadObject's 404 has no body: whether the bucket or the object is missing takes one more question.
        problems.push((await bucketExists(store, loc.bucket)) ? `input.${field}: ${ref} does not exist in the store` : `input.${field}: ${ref}: the bucket "${loc.bucket}" does not exist`);
      } else if (err.fault === 'no-bucket') problems.push(`input.${field}: ${ref}: the bucket "${loc.bucket}" does not exist`);
      // No credentials here, credentials that may not read there, a store down: the worker checks it.
    }
  }
  return problems;
}

async function bucketExists(store: Store, bucket: string): Promise<boolean> {
  const { HeadBucketCommand } = await import('@aws-sdk/client-s3');
  try {
    await store.client.send(new HeadBucketCommand({ Bucket: bucket }));
    return true;
  } catch (err) {
    return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 404;
  }
}
