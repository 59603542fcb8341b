import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { S3Settings } from './config';
import { StoreError, classifyStoreError } from './errors';
import { joinKey, s3Uri, type S3Location } from './location';

/**
 * One S3 client per worker (the SDK pools its sockets), built from the configuration; credentials come
 * from the SDK's default chain unless a caller passes them (tests). Checksums are sent only where an
 * operation requires them: every object Reelay writes is sha256-checked by Reelay itself, and S3-compatible
 * stores differ in the checksum headers they take.
 */
export function createS3Client(
  settings: S3Settings,
  extra: { credentials?: S3ClientConfig['credentials']; maxAttempts?: number; connectionTimeoutMs?: number; requestTimeoutMs?: number } = {},
): S3Client {
  return new S3Client({
    endpoint: settings.endpoint,
    region: settings.region,
    forcePathStyle: settings.forcePathStyle,
    credentials: extra.credentials,
    maxAttempts: extra.maxAttempts ?? 3,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: {
      connectionTimeout: extra.connectionTimeoutMs ?? 10_000,
      requestTimeout: extra.requestTimeoutMs ?? 120_000,
    },
  });
}

/** A client and the settings it was built from (the endpoint is named in messages). */
export interface Store {
  client: S3Client;
  settings: S3Settings;
}

const PROBE_PREFIX = '.reelay-probe';

/**
 * The start-up check of an output location: the credentials resolve, the bucket exists and a small probe
 * object can be written and deleted under the prefix. Throws a StoreError whose message says which of
 * those failed; nothing is left behind when it passes (and the probe is deleted when the delete is allowed).
 */
export async function checkWritable(store: Store, loc: S3Location, opts: { signal?: AbortSignal } = {}): Promise<void> {
  const key = joinKey(loc.key, `${PROBE_PREFIX}-${Date.now()}-${randomBytes(4).toString('hex')}`);
  const where = s3Uri({ bucket: loc.bucket, key: loc.key });
  try {
    await store.client.config.credentials();
  } catch (err) {
    throw classifyStoreError(err, `checking ${where}`, store.settings.endpoint);
  }
  try {
    await store.client.send(new PutObjectCommand({ Bucket: loc.bucket, Key: key, Body: 'reelay write probe\n', ContentType: 'text/plain' }), { abortSignal: opts.signal });
  } catch (err) {
    const e = classifyStoreError(err, `writing a probe object under ${where}`, store.settings.endpoint);
    if (e.fault === 'access-denied') {
      throw new StoreError(`${e.message} (the credentials may not write there: s3:PutObject)`, e.fault, false, e.status, { cause: err });
    }
    throw e;
  }
  try {
    await store.client.send(new DeleteObjectCommand({ Bucket: loc.bucket, Key: key }), { abortSignal: opts.signal });
  } catch (err) {
    const e = classifyStoreError(err, `deleting the probe object ${s3Uri({ bucket: loc.bucket, key })}`, store.settings.endpoint);
    throw new StoreError(`${e.message} (Reelay deletes incomplete uploads and replaced objects: allow s3:DeleteObject and s3:AbortMultipartUpload)`, e.fault, e.retryable, e.status, { cause: err });
  }
}

export interface StoreObjectInfo {
  size: number;
  etag: string | undefined;
  contentType: string | undefined;
  metadata: Record<string, string>;
}

export async function headObject(store: Store, loc: S3Location, opts: { signal?: AbortSignal } = {}): Promise<StoreObjectInfo> {
  try {
    const head = await store.client.send(new HeadObjectCommand({ Bucket: loc.bucket, Key: loc.key }), { abortSignal: opts.signal });
    return { size: head.ContentLength ?? 0, etag: head.ETag, contentType: head.ContentType, metadata: head.Metadata ?? {} };
  } catch (err) {
    throw classifyStoreError(err, `reading ${s3Uri(loc)}`, store.settings.endpoint);
  }
}

export interface OpenedStoreObject extends StoreObjectInfo {
  stream: Readable;
  close(): void;
}

/**
 * An object to stream to a provider: its size from HeadObject (a signed upload needs its exact
 * Content-Length before the first byte), then its body, pinned to the ETag HeadObject saw so an object
 * replaced in between fails (`precondition`) instead of sending bytes of another size.
 */
export async function openObject(store: Store, loc: S3Location, opts: { signal?: AbortSignal } = {}): Promise<OpenedStoreObject> {
  const info = await headObject(store, loc, opts);
  try {
    const res = await store.client.send(new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key, IfMatch: info.etag }), { abortSignal: opts.signal });
    const body = res.Body;
    if (!(body instanceof Readable)) throw new StoreError(`reading ${s3Uri(loc)}: the SDK returned no stream`, 'other', true);
    return { ...info, stream: body, close: () => body.destroy() };
  } catch (err) {
    throw classifyStoreError(err, `reading ${s3Uri(loc)}`, store.settings.endpoint);
  }
}

/** Longest validity of a SigV4 presigned URL (7 days). */
export const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

/**
 * A presigned GET link for people and services (`reelay output url`): minted outside any workflow, never
 * stored in a result or a history (it is a credential for as long as it lives).
 */
export async function presignGet(store: Store, loc: S3Location, expiresInSeconds = 3600): Promise<string> {
  if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < 1 || expiresInSeconds > MAX_PRESIGN_SECONDS) {
    throw new RangeError(`expiresInSeconds must be a whole number from 1 to ${MAX_PRESIGN_SECONDS} (7 days)`);
  }
  return getSignedUrl(store.client, new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key }), { expiresIn: expiresInSeconds });
}

/** A small JSON document (a manifest, a batch item's result), written whole in one PUT: readers see all or nothing. */
export async function putJson(store: Store, loc: S3Location, value: unknown, opts: { signal?: AbortSignal; metadata?: Record<string, string> } = {}): Promise<{ etag: string | undefined }> {
  try {
    const res = await store.client.send(
      new PutObjectCommand({ Bucket: loc.bucket, Key: loc.key, Body: JSON.stringify(value), ContentType: 'application/json', Metadata: opts.metadata }),
      { abortSignal: opts.signal },
    );
    return { etag: res.ETag };
  } catch (err) {
    throw classifyStoreError(err, `writing ${s3Uri(loc)}`, store.settings.endpoint);
  }
}

/** The JSON document at `loc`, or undefined when there is none. */
export async function getJson(store: Store, loc: S3Location, opts: { signal?: AbortSignal } = {}): Promise<unknown> {
  let text: string;
  try {
    const res = await store.client.send(new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key }), { abortSignal: opts.signal });
    text = (await res.Body?.transformToString('utf8')) ?? '';
  } catch (err) {
    const e = classifyStoreError(err, `reading ${s3Uri(loc)}`, store.settings.endpoint);
    if (e.fault === 'not-found') return undefined;
    throw e;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new StoreError(`reading ${s3Uri(loc)}: not JSON (${(err as Error).message})`, 'other', false);
  }
}

export interface ListedObject {
  key: string;
  size: number;
  etag: string | undefined;
  lastModified: Date | undefined;
}

/** Every object under a prefix (all pages), in key order. */
export async function listObjects(store: Store, loc: S3Location, opts: { signal?: AbortSignal } = {}): Promise<ListedObject[]> {
  const prefix = loc.key ? `${loc.key.replace(/\/+$/, '')}/` : '';
  const out: ListedObject[] = [];
  let token: string | undefined;
  try {
    do {
      const page = await store.client.send(new ListObjectsV2Command({ Bucket: loc.bucket, Prefix: prefix, ContinuationToken: token }), { abortSignal: opts.signal });
      for (const o of page.Contents ?? []) {
        if (o.Key) out.push({ key: o.Key, size: o.Size ?? 0, etag: o.ETag, lastModified: o.LastModified });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } catch (err) {
    throw classifyStoreError(err, `listing ${s3Uri({ bucket: loc.bucket, key: prefix })}`, store.settings.endpoint);
  }
  return out;
}
