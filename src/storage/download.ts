import { request, type Dispatcher } from 'undici';
import type { TransferHooks } from '../activities/transfer';
import { APIConnectionError, errorFromResponse, type ProviderId } from '../providers/errors';
import { redactUrl } from '../providers/http';
import { StoreError } from './errors';
import { childLocation, parseS3Uri, s3Uri } from './location';
import { outputMetadata, writeObject, type MultipartCheckpoint, type StoredObject } from './writer';
import type { Store } from './s3';

/**
 * A provider's download streamed straight into the object store (the s3:// twin of downloadToFile in
 * src/activities/transfer.ts, with the same checks): the signed URL's body goes into writeObject, a body
 * shorter or longer than its Content-Length fails and leaves nothing, a broken body is the provider's
 * fault (retryable), a store fault is the store's (StoreError).
 */

/** The store-related transfer hooks an activity passes (see activityTransferHooks). */
export interface StoreTransferHooks {
  store?: () => Store;
  /** The last checkpoint an earlier attempt heartbeated, to resume its multipart upload. */
  resumeFrom?: MultipartCheckpoint;
  onCheckpoint?: (checkpoint: MultipartCheckpoint) => void;
  /** Which run and provider job the object comes from (x-amz-meta-reelay-*). */
  metadata?: { workflowId?: string; providerJobId?: string };
}

/** Size of the HTTP body's buffers; parts are assembled from them (see TRANSFER_CHUNK_BYTES). */
const BODY_CHUNK_BYTES = 1 << 20;

export interface StoreDownloadResult extends StoredObject {
  /** The object's s3:// URI again, where DeliveredFile keeps a path. */
  path: string;
}

export async function downloadToStore(
  args: { url: string; dir: string; name: string; provider: ProviderId },
  hooks: TransferHooks & StoreTransferHooks,
): Promise<StoreDownloadResult> {
  if (!hooks.store) throw new StoreError(`no object store is configured for ${args.dir}`, 'other', false);
  const store = hooks.store();
  const target = childLocation(parseS3Uri(args.dir), args.name);
  let res: Dispatcher.ResponseData;
  try {
    res = await request(args.url, { method: 'GET', signal: hooks.signal, dispatcher: hooks.dispatcher, highWaterMark: BODY_CHUNK_BYTES });
  } catch (err) {
    if (hooks.signal?.aborted) throw err;
    throw new APIConnectionError({
      provider: args.provider,
      endpoint: 'GET signed download URL',
      message: `download from ${redactUrl(args.url)} failed: ${(err as Error).message}`,
      ambiguous: false,
      cause: err,
    });
  }
  if (res.statusCode < 200 || res.statusCode > 299) {
    const text = await res.body.text();
    throw errorFromResponse({ provider: args.provider, endpoint: 'GET signed download URL', status: res.statusCode, headers: res.headers, body: text });
  }
  const expected = Number(res.headers['content-length']);
  const ct = res.headers['content-type'];
  const contentType = typeof ct === 'string' ? ct.split(';')[0]!.trim() : undefined;
  const expectedBytes = res.headers['content-length'] !== undefined && Number.isFinite(expected) ? expected : undefined;
  try {
    const stored = await writeObject(
      store,
      { target, body: res.body, contentType, metadata: outputMetadata({ ...hooks.metadata, provider: args.provider }), expectedBytes, resumeFrom: hooks.resumeFrom },
      { signal: hooks.signal, onProgress: hooks.onProgress, onCheckpoint: hooks.onCheckpoint },
    );
    return { ...stored, path: stored.uri };
  } catch (err) {
    res.body.destroy();
    if (hooks.signal?.aborted) throw err;
    if (err instanceof StoreError && err.fault === 'length') {
      // The provider's fault, like a short body into a file: retryable, and nothing was left in the store.
      throw new APIConnectionError({
        provider: args.provider,
        endpoint: 'GET signed download URL',
        message: `download from ${redactUrl(args.url)} into ${s3Uri(target)}: ${err.message.replace(/^writing \S+: /, '')}`,
        ambiguous: false,
      });
    }
    if (err instanceof StoreError) throw err;
    throw new APIConnectionError({
      provider: args.provider,
      endpoint: 'GET signed download URL',
      message: `download from ${redactUrl(args.url)} broke off: ${(err as Error).message}`,
      ambiguous: false,
      cause: err,
    });
  }
}
