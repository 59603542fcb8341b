import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { StoreError, classifyStoreError, storeErrorCode } from './errors';
import { s3Uri, type S3Location } from './location';
import type { Store } from './s3';

/**
 * Streams a body (a provider's download) into one object: a multipart upload whose parts go out as they
 * fill, a few at a time, hashed (sha256) and counted on the way. Readers never see a partial object: it
 * exists only once CompleteMultipartUpload (or, for a body smaller than one part, the single PutObject)
 * returns. Memory is bounded by (concurrency + 1) part buffers, reused.
 *
 * Nothing is orphaned: a failure or a cancellation inside the call aborts the upload before the error
 * surfaces. A worker killed mid-way cannot abort, so after every part the call hands the caller a
 * checkpoint (`onCheckpoint`, small and JSON: upload id, part numbers, ETags, sizes, per-part sha256) to
 * keep in the activity's heartbeat details. The next attempt passes it back as `resumeFrom` with the body
 * read again from its start: parts whose bytes hash the same as recorded (and that the store still lists
 * with the same ETag and size) are not sent again; the rest are. The whole-object sha256 cannot be saved
 * mid-way (Node's hash state does not serialize), which is why the body is re-read rather than resumed at
 * an offset with a Range request. Any other upload of the same key left by an attempt killed before its
 * first checkpoint is aborted at the start of the next one.
 */

export interface UploadedPart {
  partNumber: number;
  etag: string;
  bytes: number;
  sha256: string;
}

/** What an attempt records (heartbeat details) so the next one can resume or clean up. */
export interface MultipartCheckpoint {
  bucket: string;
  key: string;
  uploadId: string;
  partSizeBytes: number;
  parts: UploadedPart[];
}

export interface WriteObjectArgs {
  target: S3Location;
  body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  contentType?: string;
  /**
   * User metadata (x-amz-meta-*): see outputMetadata(). Fixed, with the Content-Type, when the upload is
   * created: a resumed upload keeps what the attempt that created it set (the same activity, so the same).
   */
  metadata?: Record<string, string>;
  /** The Content-Length the source announced: a body of another length fails and leaves nothing. */
  expectedBytes?: number;
  partSizeBytes?: number;
  /** Parts in flight at once. */
  concurrency?: number;
  resumeFrom?: MultipartCheckpoint;
}

export interface WriteObjectHooks {
  signal?: AbortSignal;
  onProgress?: (bytesDone: number, bytesTotal: number | undefined) => void;
  onCheckpoint?: (checkpoint: MultipartCheckpoint) => void;
}

export interface StoredObject {
  uri: string;
  bytes: number;
  sha256: string;
  etag: string;
  contentType: string | undefined;
  /** Parts reused from an earlier attempt's upload (0 for a fresh one). */
  partsReused: number;
}

export const DEFAULT_PART_SIZE_BYTES = 8 * 1024 * 1024;
export const DEFAULT_PART_CONCURRENCY = 4;
const MAX_PARTS = 10_000;
const MIN_PART_SIZE_BYTES = 5 * 1024 * 1024;
const PROGRESS_STEP_BYTES = 1 << 20;

/** The sha256 of a stored object is kept in this tag (and, for single-PUT objects, in the metadata too). */
export const SHA256_TAG = 'reelay-sha256';

/**
 * Metadata of an output object: which run and which provider job produced it. Header values must be
 * printable ASCII, so anything else is percent-encoded.
 */
export function outputMetadata(m: { workflowId?: string; provider: string; providerJobId?: string }): Record<string, string> {
  const clean = (v: string) => (/^[\x20-\x7e]*$/.test(v) ? v : encodeURIComponent(v));
  const out: Record<string, string> = { 'reelay-provider': clean(m.provider) };
  if (m.workflowId) out['reelay-workflow-id'] = clean(m.workflowId);
  if (m.providerJobId) out['reelay-provider-job-id'] = clean(m.providerJobId);
  return out;
}

/** A part size that fits `expectedBytes` into at most 10,000 parts (S3's limit), in whole MiB. */
export function partSizeFor(expectedBytes: number | undefined, preferred = DEFAULT_PART_SIZE_BYTES): number {
  const base = Math.max(preferred, MIN_PART_SIZE_BYTES);
  if (expectedBytes === undefined || expectedBytes <= base * MAX_PARTS) return base;
  const mib = 1024 * 1024;
  return Math.ceil(expectedBytes / MAX_PARTS / mib) * mib;
}

const unquote = (etag: string | undefined) => (etag ?? '').replace(/^"|"$/g, '');

/**
 * Abort every incomplete multipart upload of exactly `key` but `keep`; returns how many. Called at the
 * start of each write so an attempt killed before its first checkpoint leaves nothing for long.
 */
export async function abortStaleUploads(store: Store, bucket: string, key: string, keep?: string): Promise<number> {
  let aborted = 0;
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    const page = await store.client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }));
    for (const u of page.Uploads ?? []) {
      if (u.Key !== key || !u.UploadId || u.UploadId === keep) continue;
      try {
        await store.client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: u.UploadId }));
        aborted++;
      } catch (err) {
        if (storeErrorCode(err) !== 'NoSuchUpload') throw err;
      }
    }
    if (!page.IsTruncated) return aborted;
    keyMarker = page.NextKeyMarker;
    uploadIdMarker = page.NextUploadIdMarker;
  }
}

/** The recorded parts the store still holds as recorded (same ETag and size), by part number. */
async function reusableParts(store: Store, cp: MultipartCheckpoint): Promise<Map<number, UploadedPart> | undefined> {
  const listed = new Map<number, { etag: string; size: number }>();
  let marker: string | undefined;
  try {
    for (;;) {
      const page = await store.client.send(new ListPartsCommand({ Bucket: cp.bucket, Key: cp.key, UploadId: cp.uploadId, PartNumberMarker: marker }));
      for (const p of page.Parts ?? []) {
        if (p.PartNumber !== undefined) listed.set(p.PartNumber, { etag: unquote(p.ETag), size: p.Size ?? -1 });
      }
      if (!page.IsTruncated || !page.NextPartNumberMarker) break;
      marker = page.NextPartNumberMarker;
    }
  } catch (err) {
    if (storeErrorCode(err) === 'NoSuchUpload' || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return undefined;
    throw err;
  }
  const out = new Map<number, UploadedPart>();
  for (const p of cp.parts) {
    const l = listed.get(p.partNumber);
    if (l && l.etag === unquote(p.etag) && l.size === p.bytes) out.set(p.partNumber, p);
  }
  return out;
}

export async function writeObject(store: Store, args: WriteObjectArgs, hooks: WriteObjectHooks = {}): Promise<StoredObject> {
  const { bucket, key } = args.target;
  const uri = s3Uri(args.target);
  const endpoint = store.settings.endpoint;
  if (!key) throw new StoreError(`writing ${uri}: an object needs a key, not only a bucket`, 'other', false);
  const resume = args.resumeFrom && args.resumeFrom.bucket === bucket && args.resumeFrom.key === key ? args.resumeFrom : undefined;
  const partSize = resume?.partSizeBytes ?? partSizeFor(args.expectedBytes, args.partSizeBytes);
  const concurrency = Math.max(1, args.concurrency ?? DEFAULT_PART_CONCURRENCY);
  const signal = hooks.signal;

  let uploadId: string | undefined;
  let reusable = new Map<number, UploadedPart>();
  try {
    if (resume) {
      const parts = await reusableParts(store, resume);
      if (parts) {
        uploadId = resume.uploadId;
        reusable = parts;
      }
    }
    await abortStaleUploads(store, bucket, key, uploadId);
  } catch (err) {
    throw classifyStoreError(err, `preparing ${uri}`, endpoint);
  }

  const whole = createHash('sha256');
  let done = 0;
  let reported = 0;
  const completed = new Map<number, UploadedPart>();
  const inFlight = new Set<Promise<void>>();
  const free: Buffer[] = [];
  let allocated = 0;
  let failure: { err: unknown } | undefined;
  let partsReused = 0;

  const checkpoint = (): MultipartCheckpoint => ({
    bucket,
    key,
    uploadId: uploadId!,
    partSizeBytes: partSize,
    parts: [...completed.values()].sort((a, b) => a.partNumber - b.partNumber),
  });

  const takeBuffer = async (): Promise<Buffer> => {
    while (free.length === 0 && allocated >= concurrency + 1) {
      await Promise.race(inFlight);
      if (failure) throw failure.err;
    }
    const reused = free.pop();
    if (reused) return reused;
    allocated++;
    return Buffer.allocUnsafe(partSize);
  };

  const createUpload = async (): Promise<string> => {
    const res = await store.client.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: args.contentType, Metadata: args.metadata }),
      { abortSignal: signal },
    );
    if (!res.UploadId) throw new StoreError(`writing ${uri}: the store returned no upload id`, 'other', true);
    return res.UploadId;
  };

  /** Send one full (or the last) part, or reuse it from the earlier attempt when its bytes are the same. */
  const dispatch = async (buffer: Buffer, length: number, partNumber: number): Promise<void> => {
    const bytes = buffer.subarray(0, length);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const earlier = reusable.get(partNumber);
    if (earlier && earlier.sha256 === sha256 && earlier.bytes === length) {
      completed.set(partNumber, earlier);
      partsReused++;
      free.push(buffer);
      return;
    }
    uploadId ??= await createUpload();
    while (inFlight.size >= concurrency) await Promise.race(inFlight);
    if (failure) throw failure.err;
    const id = uploadId;
    const sent: Promise<void> = store.client
      .send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: id, PartNumber: partNumber, Body: bytes, ContentLength: length }), { abortSignal: signal })
      .then(
        (res) => {
          completed.set(partNumber, { partNumber, etag: unquote(res.ETag), bytes: length, sha256 });
          hooks.onCheckpoint?.(checkpoint());
        },
        (err: unknown) => {
          failure ??= { err };
        },
      )
      .finally(() => {
        inFlight.delete(sent);
        free.push(buffer);
      });
    inFlight.add(sent);
  };

  const abortUpload = async () => {
    if (!uploadId) return;
    try {
      // Not the activity's signal: a cancelled attempt must still clean up after itself.
      await store.client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }));
    } catch (err) {
      if (storeErrorCode(err) !== 'NoSuchUpload') throw err;
    }
  };

  let current: Buffer | undefined;
  let fill = 0;
  let partNumber = 1;
  // What the body throws is the source's fault (a provider's download broke off), not the store's: it
  // surfaces as it is, after the upload was aborted, so the caller classifies it as a source error.
  let sourceFailed = false;
  async function* source(): AsyncGenerator<Uint8Array> {
    try {
      for await (const chunk of args.body) yield chunk;
    } catch (err) {
      sourceFailed = true;
      throw err;
    }
  }
  try {
    for await (const raw of source()) {
      if (failure) throw failure.err;
      signal?.throwIfAborted();
      const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
      whole.update(chunk);
      done += chunk.length;
      let offset = 0;
      while (offset < chunk.length) {
        current ??= await takeBuffer();
        const n = chunk.copy(current, fill, offset);
        fill += n;
        offset += n;
        if (fill === partSize) {
          await dispatch(current, fill, partNumber++);
          current = undefined;
          fill = 0;
        }
      }
      if (hooks.onProgress && done - reported >= PROGRESS_STEP_BYTES) {
        reported = done;
        hooks.onProgress(done, args.expectedBytes);
      }
    }
    signal?.throwIfAborted();
    if (args.expectedBytes !== undefined && done !== args.expectedBytes) {
      throw new StoreError(`writing ${uri}: the source ended after ${done} of ${args.expectedBytes} bytes`, 'length', true);
    }
    const sha256 = whole.digest('hex');
    hooks.onProgress?.(done, args.expectedBytes);

    if (uploadId === undefined && partNumber === 1) {
      // Smaller than one part: one PutObject, atomic, with the sha256 in the metadata as well.
      const body = current ? current.subarray(0, fill) : Buffer.alloc(0);
      const res = await store.client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ContentLength: fill,
          ContentType: args.contentType,
          Metadata: { ...args.metadata, [SHA256_TAG]: sha256 },
          Tagging: `${SHA256_TAG}=${sha256}`,
        }),
        { abortSignal: signal },
      );
      return { uri, bytes: done, sha256, etag: unquote(res.ETag), contentType: args.contentType, partsReused: 0 };
    }
    if (current && fill > 0) await dispatch(current, fill, partNumber++);
    current = undefined;
    while (inFlight.size > 0) await Promise.race(inFlight);
    if (failure) throw failure.err;
    uploadId ??= await createUpload();
    const lastPart = partNumber - 1;
    const parts = [...completed.values()].filter((p) => p.partNumber <= lastPart).sort((a, b) => a.partNumber - b.partNumber);
    const res = await store.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: `"${p.etag}"` })) },
      }),
      { abortSignal: signal },
    );
    // The sha256 is known only now, after the metadata was fixed at CreateMultipartUpload: it goes into a
    // tag. Stores without object tagging (GCS interoperability, R2) keep it only in Reelay's result.
    try {
      await store.client.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: key, Tagging: { TagSet: [{ Key: SHA256_TAG, Value: sha256 }] } }));
    } catch (err) {
      const code = storeErrorCode(err);
      if (code !== 'NotImplemented' && code !== 'AccessDenied') throw err;
    }
    return { uri, bytes: done, sha256, etag: unquote(res.ETag), contentType: args.contentType, partsReused };
  } catch (err) {
    while (inFlight.size > 0) await Promise.race(inFlight);
    await abortUpload().catch(() => undefined);
    if (signal?.aborted || sourceFailed) throw err;
    throw classifyStoreError(err, `writing ${uri}`, endpoint);
  }
}
