import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { request, type Dispatcher } from 'undici';
import { isUrlRef } from '../contract/common';
import { APIConnectionError, errorFromResponse, type ProviderId } from '../providers/errors';
import { requestSignedDownload, signedDownloadFault, signedDownloadRefused } from '../providers/signed-download';
import { redactUrl } from '../providers/http';
import { downloadToStore, type StoreTransferHooks } from '../storage/download';
import { StoreError } from '../storage/errors';
import { isS3Ref, parseS3Uri } from '../storage/location';
import { headObject, openObject } from '../storage/s3';
import { ATTR_REELAY_TRANSFER_BYTES, transferSpan, type CallSpan } from '../telemetry/spans';

/**
 * Streaming transfers between local files, http(s) sources and signed URLs. Memory stays constant
 * whatever the size: bytes are hashed as they pass, straight to the socket or the file. No Temporal
 * imports: the activities pass `onProgress` (heartbeat) and `signal` (activity cancellation).
 */

/** `store…` hooks: where s3:// sources and targets are read and written (src/storage). */
export interface TransferHooks extends StoreTransferHooks {
  signal?: AbortSignal;
  /** Called with the bytes moved so far, about every `PROGRESS_STEP_BYTES`, and once at the end. */
  onProgress?: (bytesDone: number, bytesTotal: number | undefined) => void;
  dispatcher?: Dispatcher;
  /** Where an earlier attempt's download to a local file stood (its heartbeat), to ask only for the rest. */
  resumeDownload?: DownloadCheckpoint;
  /** Called once a download's source is known to be resumable, before its body is written: heartbeat it. */
  onDownloadCheckpoint?: (checkpoint: DownloadCheckpoint) => void;
  /**
   * Whether a download that broke off keeps its `.part` file for the next attempt. Default: unless the
   * transfer was aborted. The activities keep it when the worker shuts down or the attempt timed out, and
   * remove it when the run asked for the cancel.
   */
  keepPartial?: () => boolean;
}

/**
 * Where a download to a local file can resume from: the `.part` file beside the target holds its first
 * bytes, and the source's validator makes sure the rest is of the same object (`If-Range`).
 */
export interface DownloadCheckpoint {
  /** The source without its query: a signed URL's signature never goes into a heartbeat. */
  source: string;
  target: string;
  /** A strong ETag, else the Last-Modified date: what `If-Range` sends. */
  validator: string;
  /** The whole object's size, when the source said. */
  total: number | undefined;
}

export interface TransferResult {
  bytes: number;
  sha256: string;
}

const PROGRESS_STEP_BYTES = 1 << 20;

/**
 * Size of the reads from a local source, of the HTTP bodies' buffers and of the writes to a download's
 * file. At 64 KiB (Node's default) a 1 GiB transfer takes 16k reads, writes and stream callbacks, which
 * cost more CPU than the copy itself; 1 MiB divides that by 16 and keeps a few MiB in flight per transfer.
 */
const TRANSFER_CHUNK_BYTES = 1 << 20;

/**
 * Buffers an upload of a local file reads into, in turn. A fresh 1 MiB buffer per read lives outside the
 * JS heap, and V8 collects those only once about 64 MiB have piled up: a 1 GiB upload grew the worker
 * by 71 MiB (scripts/bench 'transfers'). Reusing a ring bounds it. A buffer is refilled only when the
 * ring comes round to it, 4 chunks later; by then the socket has taken it: undici hands a chunk to the
 * socket and, when the write reports a full buffer, waits for 'drain' (every earlier write flushed)
 * before it pulls the next one, and a write that does not report a full one left under 16 KiB queued,
 * so the chunk before it was flushed.
 */
const UPLOAD_RING_BUFFERS = 4;

/** A local file's bytes in chunks read into a ring of reused buffers (see UPLOAD_RING_BUFFERS). */
async function* fileChunks(file: string): AsyncGenerator<Buffer> {
  const handle = await fs.promises.open(file, 'r');
  try {
    const ring = Array.from({ length: UPLOAD_RING_BUFFERS }, () => Buffer.allocUnsafe(TRANSFER_CHUNK_BYTES));
    for (let i = 0; ; i++) {
      const buffer = ring[i % UPLOAD_RING_BUFFERS]!;
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return;
      yield bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

/** Counts and hashes the bytes as they pass, reporting progress; no stream of its own, so no extra copy or callback. */
function transferMeter(total: number | undefined, hooks: TransferHooks) {
  const hash = createHash('sha256');
  let done = 0;
  let reported = 0;
  return {
    /** Bytes already in place (a resumed download's first part): hashed and counted, not reported. */
    absorb(chunk: Buffer): void {
      hash.update(chunk);
      done += chunk.length;
      reported = done;
    },
    add(chunk: Buffer): void {
      hash.update(chunk);
      done += chunk.length;
      if (hooks.onProgress && done - reported >= PROGRESS_STEP_BYTES) {
        reported = done;
        hooks.onProgress(done, total);
      }
    },
    /** The last progress report, once every byte went through. */
    end(): void {
      hooks.onProgress?.(done, total);
    },
    result: (): TransferResult => ({ bytes: done, sha256: hash.digest('hex') }),
  };
}

/** Content type from a file name, for the few video/audio/text types the providers take. */
export function contentTypeFor(name: string): string | undefined {
  const ext = path.extname(name.split('?')[0] ?? '').toLowerCase();
  return {
    '.mp4': 'video/mp4',
    '.mov': 'video/quicktime',
    '.webm': 'video/webm',
    '.mkv': 'video/x-matroska',
    '.mp3': 'audio/mpeg',
    '.wav': 'audio/wav',
    '.m4a': 'audio/mp4',
    '.aac': 'audio/aac',
    '.ogg': 'audio/ogg',
    '.vtt': 'text/vtt',
    '.srt': 'application/x-subrip',
    '.png': 'image/png',
    '.jpg': 'image/jpeg',
    '.jpeg': 'image/jpeg',
  }[ext];
}

export function sourceFileName(ref: string): string {
  const raw = isUrlRef(ref) ? decodeURIComponent(new URL(ref).pathname) : ref;
  return path.basename(raw) || 'upload';
}

/** A readable local file or an http(s) source, with its size when known. */
export interface OpenedSource {
  stream: Readable;
  size: number | undefined;
  contentType: string | undefined;
  close(): void;
}

export class SourceError extends Error {
  override name = 'SourceError';
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/** Streamed from its source rather than read from a local file. */
const isRemoteRef = (ref: string) => isUrlRef(ref) || isS3Ref(ref);

async function openSource(ref: string, hooks: TransferHooks): Promise<OpenedSource> {
  if (isS3Ref(ref)) {
    if (!hooks.store) throw new SourceError(`cannot read ${ref}: no object store is configured on this worker`, false);
    try {
      const obj = await openObject(hooks.store(), parseS3Uri(ref, { requireKey: true }), { signal: hooks.signal });
      return { stream: obj.stream, size: obj.size, contentType: obj.contentType ?? contentTypeFor(ref), close: obj.close };
    } catch (err) {
      if (hooks.signal?.aborted || !(err instanceof StoreError)) throw err;
      throw new SourceError(err.message, err.retryable);
    }
  }
  if (!isUrlRef(ref)) {
    let stat: fs.Stats;
    try {
      stat = await fs.promises.stat(ref);
    } catch (err) {
      throw new SourceError(`cannot read ${ref}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, false);
    }
    if (!stat.isFile()) throw new SourceError(`${ref} is not a regular file`, false);
    const stream = fs.createReadStream(ref, { highWaterMark: TRANSFER_CHUNK_BYTES });
    return { stream, size: stat.size, contentType: contentTypeFor(ref), close: () => stream.destroy() };
  }
  let res: Dispatcher.ResponseData;
  try {
    res = await request(ref, { method: 'GET', signal: hooks.signal, dispatcher: hooks.dispatcher, highWaterMark: TRANSFER_CHUNK_BYTES });
  } catch (err) {
    if (hooks.signal?.aborted) throw err;
    throw new SourceError(`cannot fetch ${redactUrl(ref)}: ${(err as Error).message}`, true);
  }
  if (res.statusCode < 200 || res.statusCode > 299) {
    res.body.resume();
    throw new SourceError(`fetching ${redactUrl(ref)} answered HTTP ${res.statusCode}`, res.statusCode >= 500 || res.statusCode === 429 || res.statusCode === 408);
  }
  const len = Number(res.headers['content-length']);
  const ct = res.headers['content-type'];
  return {
    stream: res.body,
    size: Number.isFinite(len) && len >= 0 ? len : undefined,
    contentType: typeof ct === 'string' ? ct.split(';')[0]!.trim() : contentTypeFor(ref),
    close: () => res.body.destroy(),
  };
}

/** Bytes and sha256 of a local file or URL, streamed; used to size an upload before asking for its URL. */
export async function probeSource(ref: string, hooks: TransferHooks = {}): Promise<{ size: number | undefined; contentType: string | undefined }> {
  if (isS3Ref(ref) && hooks.store) {
    try {
      const head = await headObject(hooks.store(), parseS3Uri(ref, { requireKey: true }), { signal: hooks.signal });
      return { size: head.size, contentType: head.contentType ?? contentTypeFor(ref) };
    } catch (err) {
      if (hooks.signal?.aborted || !(err instanceof StoreError)) throw err;
      throw new SourceError(err.message, err.retryable);
    }
  }
  const src = await openSource(ref, hooks);
  src.close();
  return { size: src.size, contentType: src.contentType };
}

/**
 * PUT a local file or an http(s) source to a signed URL with an exact Content-Type and Content-Length.
 * A URL source without a Content-Length is spooled to a temporary file first (signed URLs refuse chunked).
 */
export function uploadToSignedUrl(
  args: { source: string; url: string; contentType: string; provider: ProviderId },
  hooks: TransferHooks = {},
): Promise<TransferResult> {
  return transferSpan({ method: 'PUT', what: 'signed upload URL', provider: args.provider, url: args.url }, async (span) => {
    const result = await upload(args, hooks, span);
    span.set(ATTR_REELAY_TRANSFER_BYTES, result.bytes);
    return result;
  });
}

async function upload(
  args: { source: string; url: string; contentType: string; provider: ProviderId },
  hooks: TransferHooks,
  span: CallSpan,
): Promise<TransferResult> {
  let src = await openSource(args.source, hooks);
  let spoolDir: string | undefined;
  let chunks: AsyncGenerator<Buffer> | undefined;
  try {
    if (src.size === undefined) {
      spoolDir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'reelay-spool-'));
      const spooled = path.join(spoolDir, 'source');
      await pipeline(src.stream, fs.createWriteStream(spooled), { signal: hooks.signal });
      src = await openSource(spooled, hooks);
    }
    const meter = transferMeter(src.size, hooks);
    // A local file (or the spooled copy of a URL) is read through reused buffers; a URL source that
    // sent its length streams as it comes.
    const localFile = spoolDir ? path.join(spoolDir, 'source') : isRemoteRef(args.source) ? undefined : args.source;
    if (localFile) {
      src.close();
      chunks = fileChunks(localFile);
    }
    const source: AsyncIterable<Buffer> = chunks ?? (src.stream as AsyncIterable<Buffer>);
    const sourceName = isUrlRef(args.source) ? redactUrl(args.source) : args.source;
    // An async iterable body: undici writes each chunk and waits for the socket to drain, and what the
    // iterable throws fails the request as it is, so a broken source reads as one, not as a failed upload.
    async function* body(): AsyncGenerator<Buffer> {
      try {
        for await (const chunk of source) {
          meter.add(chunk);
          yield chunk;
        }
      } catch (err) {
        throw new SourceError(`reading ${sourceName} broke off: ${(err as Error).message}`, isRemoteRef(args.source));
      }
      meter.end();
    }
    let res: Dispatcher.ResponseData;
    try {
      res = await request(args.url, {
        method: 'PUT',
        headers: { 'content-type': args.contentType, 'content-length': String(src.size) },
        // AsyncIterable bodies are documented (undici Dispatcher.md) but missing from its types.
        body: body() as unknown as Readable,
        signal: hooks.signal,
        dispatcher: hooks.dispatcher,
      });
    } catch (err) {
      if (hooks.signal?.aborted) throw err;
      if (err instanceof SourceError) throw err;
      throw new APIConnectionError({
        provider: args.provider,
        endpoint: 'PUT signed upload URL',
        message: `upload to ${redactUrl(args.url)} failed: ${(err as Error).message}`,
        ambiguous: true,
        cause: err,
      });
    }
    span.status(res.statusCode);
    const text = await res.body.text();
    if (res.statusCode < 200 || res.statusCode > 299) {
      throw errorFromResponse({
        provider: args.provider,
        endpoint: 'PUT signed upload URL',
        status: res.statusCode,
        headers: res.headers,
        body: text,
      });
    }
    return meter.result();
  } finally {
    src.close();
    // Closes the file if the upload stopped before reading it to the end (an abort, a refused PUT).
    await chunks?.return(undefined).catch(() => undefined);
    if (spoolDir) await fs.promises.rm(spoolDir, { recursive: true, force: true });
  }
}

/** Resolve `name` inside `dir`, refusing anything that would land outside it. */
export function safeOutputPath(dir: string, name: string): string {
  const root = path.resolve(dir);
  const target = path.resolve(root, name);
  if (target === root || !target.startsWith(root + path.sep)) {
    throw new SourceError(`output name ${JSON.stringify(name)} would escape the output directory`, false);
  }
  return target;
}

/**
 * Writes a body to a new file, metering it. The body flows: each chunk is handed over as it arrives
 * (an async iterator would concatenate whatever had piled up, one more copy). Chunks are gathered into
 * writes of about TRANSFER_CHUNK_BYTES, one in flight while the next fills; the body pauses while a full
 * batch waits, so memory stays bounded. Cancellation reaches it through the body, which the request's
 * signal destroys. Settles only once no write is in flight, so the caller may close and remove the file.
 */
/**
 * writev, then the rest of what it did not take: a write may be short (a disk that fills up takes what
 * fits and says how much), and the next batch written further on would leave a hole of zeros that a
 * resumed download then hashes as if it were the file's bytes. Writing the rest turns the short write
 * into the error it is (ENOSPC), with the file a clean prefix of the body.
 */
async function writeFully(fh: fs.promises.FileHandle, buffers: Buffer[], at: number): Promise<void> {
  const total = buffers.reduce((a, b) => a + b.length, 0);
  let done = (await fh.writev(buffers, at)).bytesWritten;
  if (done >= total) return;
  const rest = Buffer.concat(buffers).subarray(done);
  while (done < total) {
    const { bytesWritten } = await fh.write(rest, done - (total - rest.length), total - done, at + done);
    if (bytesWritten === 0) throw new Error(`writing at byte ${at + done} made no progress`);
    done += bytesWritten;
  }
}

async function writeBodyToFile(body: Readable, file: string, meter: ReturnType<typeof transferMeter>, startAt = 0): Promise<void> {
  const fh = await fs.promises.open(file, startAt > 0 ? 'r+' : 'w');
  try {
    if (startAt > 0) await fh.truncate(startAt);
    await new Promise<void>((resolve, reject) => {
      let batch: Buffer[] = [];
      let batchBytes = 0;
      let position = startAt;
      let writing = false;
      let ended = false;
      let failure: { err: unknown } | undefined;
      const fail = (err: unknown) => {
        if (failure) return;
        failure = { err };
        body.destroy();
        if (!writing) reject(err);
      };
      const flush = () => {
        const buffers = batch;
        const at = position;
        position += batchBytes;
        batch = [];
        batchBytes = 0;
        writing = true;
        writeFully(fh, buffers, at).then(written, (err: unknown) => {
          writing = false;
          if (failure) reject(failure.err);
          else fail(err);
        });
      };
      const written = () => {
        writing = false;
        if (failure) return reject(failure.err);
        if (batchBytes >= TRANSFER_CHUNK_BYTES || (ended && batchBytes > 0)) flush();
        else if (ended) return resolve();
        if (!ended && body.isPaused()) body.resume();
      };
      body.on('data', (chunk: Buffer) => {
        meter.add(chunk);
        batch.push(chunk);
        batchBytes += chunk.length;
        if (batchBytes < TRANSFER_CHUNK_BYTES) return;
        if (writing) body.pause();
        else flush();
      });
      body.once('end', () => {
        ended = true;
        if (writing) return;
        if (batchBytes > 0) flush();
        else resolve();
      });
      body.once('error', fail);
      body.once('close', () => {
        if (!ended) fail(new Error('the body closed before its end'));
      });
    });
    meter.end();
  } finally {
    await fh.close();
  }
}

export interface DownloadResult extends TransferResult {
  /** The local file, or the object's s3:// URI when `dir` is one. */
  path: string;
  contentType: string | undefined;
  /** For an object in the store: its s3:// URI and ETag. */
  uri?: string;
  etag?: string;
}

/**
 * Stream a signed URL to `dir/name` through a `.part` file renamed at the end, so a crash never leaves a
 * truncated file under the final name. A body shorter or longer than its Content-Length is an error.
 *
 * Resumable: when the source names a validator (a strong ETag or Last-Modified), `onDownloadCheckpoint`
 * hears it before the body is written, and a download that breaks off (a network fault, the worker
 * shutting down) keeps its `.part` file. The next attempt, given that checkpoint as `resumeDownload`,
 * hashes the bytes already on disk and asks for the rest (`Range: bytes=<size>-`, `If-Range`); a source
 * that answers 200 instead (no ranges, or the object changed) is downloaded again from its first byte.
 */
export function downloadToFile(
  args: { url: string; dir: string; name: string; provider: ProviderId },
  hooks: TransferHooks = {},
): Promise<DownloadResult> {
  return transferSpan({ method: 'GET', what: 'signed download URL', provider: args.provider, url: args.url }, async (span) => {
    const result = await download(args, hooks, span);
    span.set(ATTR_REELAY_TRANSFER_BYTES, result.bytes);
    return result;
  });
}

async function download(
  args: { url: string; dir: string; name: string; provider: ProviderId },
  hooks: TransferHooks,
  span: CallSpan,
): Promise<DownloadResult> {
  if (isS3Ref(args.dir)) {
    const stored = await downloadToStore(args, hooks);
    return { path: stored.uri, uri: stored.uri, etag: stored.etag, bytes: stored.bytes, sha256: stored.sha256, contentType: stored.contentType };
  }
  const target = safeOutputPath(args.dir, args.name);
  await fs.promises.mkdir(path.dirname(target), { recursive: true });
  const part = `${target}.part`;
  const source = redactUrl(args.url);
  const fault = (message: string, cause?: unknown) => signedDownloadFault(args, message, cause);

  const resumeAt = await resumableBytes(hooks.resumeDownload, source, target, part);
  const get = (range: { from: number; validator: string } | undefined) =>
    requestSignedDownload(args, {
      signal: hooks.signal,
      dispatcher: hooks.dispatcher,
      highWaterMark: TRANSFER_CHUNK_BYTES,
      ...(range ? { headers: { range: `bytes=${range.from}-`, 'if-range': range.validator } } : {}),
    });
  let res = await get(resumeAt ? { from: resumeAt, validator: hooks.resumeDownload!.validator } : undefined);
  let from = 0;
  if (resumeAt && res.statusCode === 206) {
    const range = contentRange(res.headers['content-range']);
    if (range?.start === resumeAt && (hooks.resumeDownload!.total === undefined || range.total === hooks.resumeDownload!.total)) from = resumeAt;
    else {
      // A range we did not ask for: take the whole object instead.
      res.body.destroy();
      res = await get(undefined);
    }
  } else if (resumeAt && res.statusCode === 416) {
    await res.body.text().catch(() => undefined);
    res = await get(undefined);
  }
  span.status(res.statusCode);
  if (from > 0) span.set('reelay.transfer.resumed_from_bytes', from);
  if (res.statusCode < 200 || res.statusCode > 299 || (res.statusCode === 206 && from === 0)) throw await signedDownloadRefused(args, res);
  const length = Number(res.headers['content-length']);
  const expected = Number.isFinite(length) ? from + length : undefined;
  const ct = res.headers['content-type'];
  const validator = from > 0 ? hooks.resumeDownload!.validator : validatorOf(res.headers);
  if (validator) hooks.onDownloadCheckpoint?.({ source, target, validator, total: expected });
  const meter = transferMeter(expected, hooks);
  if (from > 0) await absorbFile(part, from, meter);
  const keep = () => validator !== undefined && (hooks.keepPartial ? hooks.keepPartial() : !hooks.signal?.aborted);
  try {
    await writeBodyToFile(res.body, part, meter, from);
  } catch (err) {
    res.body.destroy();
    if (!keep()) await fs.promises.rm(part, { force: true });
    if (hooks.signal?.aborted) throw err;
    throw fault(`download from ${source} broke off: ${(err as Error).message}`, err);
  }
  const result = meter.result();
  if (expected !== undefined && result.bytes !== expected) {
    await fs.promises.rm(part, { force: true });
    throw fault(`download from ${source} ended after ${result.bytes} of ${expected} bytes`);
  }
  await fs.promises.rename(part, target);
  return { ...result, path: target, contentType: typeof ct === 'string' ? ct.split(';')[0]!.trim() : undefined };
}

/** How many bytes of `part` a download may keep: those on disk, when the checkpoint is of this source and target. */
async function resumableBytes(checkpoint: DownloadCheckpoint | undefined, source: string, target: string, part: string): Promise<number> {
  if (!checkpoint || checkpoint.source !== source || checkpoint.target !== target) return 0;
  const size = await fs.promises.stat(part).then(
    (st) => (st.isFile() ? st.size : 0),
    () => 0,
  );
  return checkpoint.total !== undefined && size >= checkpoint.total ? 0 : size;
}

/** Feed the first `bytes` of a file to the meter (a resumed download's hash covers every byte). */
async function absorbFile(file: string, bytes: number, meter: ReturnType<typeof transferMeter>): Promise<void> {
  const handle = await fs.promises.open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(TRANSFER_CHUNK_BYTES);
    for (let at = 0; at < bytes; ) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, bytes - at), at);
      if (bytesRead === 0) throw new Error(`${file} is shorter than ${bytes} bytes`);
      meter.absorb(buffer.subarray(0, bytesRead));
      at += bytesRead;
    }
  } finally {
    await handle.close();
  }
}

/** What `If-Range` may send: a strong ETag (a weak one may not be used there), else Last-Modified. */
function validatorOf(headers: Dispatcher.ResponseData['headers']): string | undefined {
  const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  const etag = one(headers.etag);
  if (etag && !etag.startsWith('W/')) return etag;
  return one(headers['last-modified']);
}

/** `Content-Range: bytes 100-199/1000` → { start: 100, total: 1000 }. */
function contentRange(header: string | string[] | undefined): { start: number; total: number | undefined } | undefined {
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(Array.isArray(header) ? header[0] : header ?? '').trim());
  if (!m) return undefined;
  return { start: Number(m[1]), total: m[3] === '*' ? undefined : Number(m[3]) };
}
