import type { TransferHooks } from '../activities/transfer';
import type { ProviderId } from '../providers/errors';
import { requestSignedDownload, signedDownloadFault, signedDownloadRefused } from '../providers/signed-download';
import { redactUrl } from '../providers/http';
import { StoreError } from './errors';
import { childLocation, parseS3Uri, s3Uri } from './location';
import { GetObjectTaggingCommand } from '@aws-sdk/client-s3';
import { SHA256_TAG, outputMetadata, writeObject, type MultipartCheckpoint, type StoredObject } from './writer';
import { headObject, type Store } from './s3';
import type { S3Location } from './location';

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
  if (!hooks.resumeFrom) {
    const delivered = await alreadyDelivered(store, target, hooks.metadata, hooks.signal);
    if (delivered) return delivered;
  }
  const res = await requestSignedDownload(args, { signal: hooks.signal, dispatcher: hooks.dispatcher, highWaterMark: BODY_CHUNK_BYTES });
  if (res.statusCode < 200 || res.statusCode > 299) throw await signedDownloadRefused(args, res);
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
      throw signedDownloadFault(args, `download from ${redactUrl(args.url)} into ${s3Uri(target)}: ${err.message.replace(/^writing \S+: /, '')}`);
    }
    if (err instanceof StoreError) throw err;
    throw signedDownloadFault(args, `download from ${redactUrl(args.url)} broke off: ${(err as Error).message}`, err);
  }
}

/**
 * The object an earlier attempt of this activity completed, when the worker died before the activity
 * could report it: same key, same run, same provider job, and a recorded sha256. Its bytes are the
 * provider's output of that job, so it is not downloaded and written again. Without the run and job in
 * the hooks, or without a sha256 yet (killed between completing and tagging), the download runs again.
 */
async function alreadyDelivered(
  store: Store,
  target: S3Location,
  metadata: StoreTransferHooks['metadata'],
  signal: AbortSignal | undefined,
): Promise<StoreDownloadResult | undefined> {
  if (!metadata?.workflowId || !metadata.providerJobId) return undefined;
  let info;
  try {
    info = await headObject(store, target, { signal });
  } catch (err) {
    if (err instanceof StoreError && err.fault === 'not-found') return undefined;
    throw err;
  }
  const expected = outputMetadata({ workflowId: metadata.workflowId, providerJobId: metadata.providerJobId, provider: 'x' });
  if (info.metadata['reelay-workflow-id'] !== expected['reelay-workflow-id'] || info.metadata['reelay-provider-job-id'] !== expected['reelay-provider-job-id']) {
    return undefined;
  }
  let sha256: string | undefined = info.metadata[SHA256_TAG];
  if (!sha256) {
    try {
      const tags = await store.client.send(new GetObjectTaggingCommand({ Bucket: target.bucket, Key: target.key }), { abortSignal: signal });
      sha256 = tags.TagSet?.find((t) => t.Key === SHA256_TAG)?.Value;
    } catch {
      sha256 = undefined;
    }
  }
  if (!sha256 || !info.etag) return undefined;
  const uri = s3Uri(target);
  return { uri, path: uri, bytes: info.size, sha256, etag: info.etag.replace(/^"|"$/g, ''), contentType: info.contentType, partsReused: 0 };
}
