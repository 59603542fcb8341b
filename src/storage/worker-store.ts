import { ConfigError, type ReelayConfig } from '../config';
import { StoreError } from './errors';
import { childLocation, s3Uri } from './location';
import { checkWritable, createS3Client, type Store } from './s3';

/**
 * The object store of a worker's configuration: one S3 client per configuration (the SDK pools its
 * sockets), made on first use, so a worker whose runs never touch s3:// never resolves credentials.
 */
const stores = new WeakMap<Pick<ReelayConfig, 'storage'>, Store>();

export function storeForConfig(config: Pick<ReelayConfig, 'storage'>): Store {
  let store = stores.get(config);
  if (!store) {
    store = { settings: config.storage.s3, client: createS3Client(config.storage.s3) };
    stores.set(config, store);
  }
  return store;
}

/** Where a pipeline's outputs go: an s3:// URI under the configured output location, or undefined (local). */
export function storeOutputUri(config: Pick<ReelayConfig, 'storage'> | undefined, subdir: string): string | undefined {
  const out = config?.storage?.output;
  return out?.kind === 's3' ? s3Uri(childLocation(out, subdir)) : undefined;
}

/**
 * The worker's start-up check of an s3:// output location (bucket reachable and writable); a failure
 * stops start-up with a ConfigError naming the variable that set the location and what is wrong.
 */
export async function checkOutputStore(config: Pick<ReelayConfig, 'storage'>): Promise<void> {
  const out = config.storage.output;
  if (out.kind !== 's3') return;
  try {
    await checkWritable(storeForConfig(config), out);
  } catch (err) {
    if (!(err instanceof StoreError)) throw err;
    const endpoint = config.storage.s3.endpoint ? ` (REELAY_S3_ENDPOINT=${config.storage.s3.endpoint})` : '';
    throw new ConfigError([`${config.storage.outputVar}=${s3Uri(out)}${endpoint}: ${err.message}`]);
  }
}
