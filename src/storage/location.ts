/**
 * Storage locations: where a run reads its inputs and writes its outputs. Pure (no I/O, no Node APIs),
 * so the workflows' input schemas use it too.
 *
 *   /data/out, ./out, out      a local path (the default; relative to the worker's working directory)
 *   s3://bucket/prefix         any S3-compatible store (AWS S3, GCS interoperability, R2, versitygw …)
 *   http://…, https://…        inputs only: fetched as today
 */

export type StorageLocation =
  | { kind: 'local'; path: string }
  | { kind: 's3'; bucket: string; key: string }
  | { kind: 'http'; url: string };

export type S3Location = Extract<StorageLocation, { kind: 's3' }>;

/** A location string that is not one Reelay accepts; the message says why, the caller names the field. */
export class LocationError extends Error {
  override name = 'LocationError';
}

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;
/** S3's bucket naming rules (general purpose buckets): 3–63 of a-z 0-9 . -, letter or digit at both ends. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const MAX_KEY_BYTES = 1024;

export function isS3Ref(ref: string): boolean {
  return /^s3:\/\//i.test(ref);
}

/**
 * Parse `s3://bucket/key…`. `requireKey` (an input object) refuses a bare bucket or a key ending in "/".
 * Keys are "/"-separated segments without empty, "." or ".." segments or control characters: the POSIX
 * backends of self-hosted stores map them to paths.
 */
export function parseS3Uri(raw: string, opts: { requireKey?: boolean } = {}): S3Location {
  if (!isS3Ref(raw)) throw new LocationError('must start with s3://');
  const rest = raw.slice('s3://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash === -1 ? rest : rest.slice(0, slash);
  let key = slash === -1 ? '' : rest.slice(slash + 1);
  if (!bucket) throw new LocationError('has no bucket (s3://bucket/prefix)');
  if (bucket.includes('@') || bucket.includes(':')) throw new LocationError('must not carry a user name, password or port (credentials come from the AWS SDK chain, the endpoint from REELAY_S3_ENDPOINT)');
  if (!BUCKET.test(bucket) || bucket.includes('..')) {
    throw new LocationError(`has an invalid bucket name ${JSON.stringify(bucket)} (3–63 lowercase letters, digits, "." or "-")`);
  }
  if (/[\p{Cc}]/u.test(key)) throw new LocationError('must not contain control characters');
  if (/[?#]/.test(key)) throw new LocationError('must not contain "?" or "#" (a URL query is not part of an object key)');
  if (opts.requireKey) {
    if (!key || key.endsWith('/')) throw new LocationError('must name an object (s3://bucket/path/to/file), not a bucket or a prefix');
  } else {
    key = key.replace(/\/+$/, '');
  }
  if (key && key.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw new LocationError('must not contain empty, "." or ".." path segments');
  }
  if (new TextEncoder().encode(key).length > MAX_KEY_BYTES) throw new LocationError(`has a key longer than ${MAX_KEY_BYTES} bytes`);
  return { kind: 's3', bucket, key };
}

/**
 * Parse a location. `http` (inputs only) lets http(s) URLs through; a local path is anything without a
 * scheme. An unknown scheme (`gs://`, `ftp://`, `file://`) is refused rather than taken for a local path.
 */
export function parseLocation(raw: string, opts: { http?: boolean; requireKey?: boolean } = {}): StorageLocation {
  const value = raw.trim();
  if (!value) throw new LocationError('must not be empty');
  if (value.includes('\0')) throw new LocationError('must not contain a NUL byte');
  const scheme = SCHEME.exec(value)?.[1]?.toLowerCase();
  if (scheme === undefined) return { kind: 'local', path: value };
  if (scheme === 's3') return parseS3Uri(value, { requireKey: opts.requireKey });
  if ((scheme === 'http' || scheme === 'https') && opts.http) return { kind: 'http', url: value };
  const accepted = opts.http ? 'a local path, s3://bucket/key or an http(s) URL' : 'a local path or s3://bucket/prefix';
  throw new LocationError(`has an unsupported scheme "${scheme}://" (accepted: ${accepted})`);
}

/** The reason a location is refused, or undefined when it is fine. */
export function locationProblem(raw: string, opts: { http?: boolean; requireKey?: boolean } = {}): string | undefined {
  try {
    parseLocation(raw, opts);
    return undefined;
  } catch (err) {
    if (err instanceof LocationError) return err.message;
    throw err;
  }
}

export function s3Uri(loc: { bucket: string; key: string }): string {
  return loc.key ? `s3://${loc.bucket}/${loc.key}` : `s3://${loc.bucket}`;
}

/** `prefix` and further "/"-separated parts as one key, without doubled or trailing slashes. */
export function joinKey(...parts: string[]): string {
  return parts
    .flatMap((p) => p.split('/'))
    .filter((s) => s !== '')
    .join('/');
}

/** An S3 location below `base`: `child(s3://b/out, 'wf-1/video.mp4')` is `s3://b/out/wf-1/video.mp4`. */
export function childLocation(base: S3Location, relative: string): S3Location {
  const key = joinKey(base.key, relative);
  if (relative.split('/').some((s) => s === '.' || s === '..')) throw new LocationError(`${JSON.stringify(relative)} would leave ${s3Uri(base)}`);
  return { kind: 's3', bucket: base.bucket, key };
}
