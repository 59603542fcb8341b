import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { once } from 'node:events';
import { Transform, type Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { throttle, type StoreFaultHooks } from './faults';
import { HttpError, drain, type RequestContext } from './http';

export interface ObjectInfo {
  key: string;
  contentType: string;
  bytes: number;
}

export interface ServedObject {
  key: string;
  /** Of the bytes served: the whole object's, or the range's when `from` is set. */
  sha256: string;
  bytes: number;
  contentType: string;
  /** A range request (`Range: bytes=<from>-…`) answered 206: the first byte served. */
  from?: number;
}

/** Streams one new object into the store with bounded memory; it appears only when end() resolves. */
export interface ObjectWriter {
  write(chunk: Buffer): Promise<void>;
  end(): Promise<ObjectInfo & { sha256: string }>;
  /** Discards what was written; safe to call more than once or after a failure. */
  abort(): Promise<void>;
}

/** A part of an object being composed: literal bytes, or the whole content of a stored object. */
export type ObjectPart = Buffer | { key: string };

const KEY_SEGMENT = /^[A-Za-z0-9._-]+$/;

/** Object keys are `/`-separated segments of `[A-Za-z0-9._-]`, never `.` or `..`. */
export function isValidKey(key: string): boolean {
  if (key.length === 0 || key.length > 1024) return false;
  return key.split('/').every((s) => KEY_SEGMENT.test(s) && s !== '.' && s !== '..');
}

/** Makes a user-supplied file name usable as one key segment. */
export function safeSegment(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '_').slice(0, 200);
  return cleaned.length > 0 ? cleaned : 'file';
}

/**
 * A signed-URL object store shaped like S3/GCS V4 presigned URLs: the signature binds method, key,
 * expiry and Content-Type, so a PUT with another Content-Type fails like it does at the real stores.
 */
export class ObjectStore {
  private readonly secret = randomBytes(32);
  private readonly objects = new Map<string, ObjectInfo & { sha256?: string }>();
  private readonly servedLog: ServedObject[] = [];
  private readonly root: string;
  private tmpSeq = 0;
  baseUrl = '';
  /** Fault injection: expired signed URLs, slow uploads (none until the sandbox sets them). */
  faultHooks: StoreFaultHooks | null = null;
  /** The store's clock (ms): signed URLs expire by it. The sandbox skews it with `clockOffsetMs.store`. */
  now: () => number = Date.now;

  constructor(dataDir: string) {
    this.root = path.resolve(dataDir, 'objects');
  }

  async init(): Promise<void> {
    await fsp.mkdir(path.join(this.root), { recursive: true });
    await fsp.mkdir(this.tmpDir(), { recursive: true });
  }

  signedUrl(method: 'GET' | 'PUT', key: string, contentType: string, ttlSeconds: number, extra: Record<string, string> = {}): string {
    if (!isValidKey(key)) throw new Error(`invalid object key ${key}`);
    const ttl = this.faultHooks ? this.faultHooks.signedUrlTtl(ttlSeconds) : ttlSeconds;
    // A negative TTL only comes from fault injection: a URL issued already expired.
    const expires = Math.floor(this.now() / 1000) + (ttl < 0 ? Math.floor(ttl) : Math.max(0, Math.floor(ttl)));
    const sig = this.sign(method, key, String(expires), method === 'PUT' ? contentType : '');
    const qs = new URLSearchParams({ expires: String(expires), sig, ...extra });
    return `${this.baseUrl}/o/${key}?${qs.toString()}`;
  }

  has(key: string): boolean {
    return this.objects.has(key);
  }

  info(key: string): ObjectInfo | undefined {
    const o = this.objects.get(key);
    return o ? { key: o.key, contentType: o.contentType, bytes: o.bytes } : undefined;
  }

  served(): ServedObject[] {
    return this.servedLog.map((s) => ({ ...s }));
  }

  async sha256(key: string): Promise<string> {
    const o = this.objects.get(key);
    if (!o) throw new Error(`no object ${key}`);
    if (o.sha256) return o.sha256;
    const hash = createHash('sha256');
    await pipeline(createReadStream(this.filePath(key)), hash);
    o.sha256 = hash.digest('hex');
    return o.sha256;
  }

  /** Writes a new object by streaming its parts in order (stored inputs are never loaded whole). */
  async compose(key: string, contentType: string, parts: ObjectPart[]): Promise<ObjectInfo> {
    const filePath = this.filePath(key);
    const files = parts.map((p) => (Buffer.isBuffer(p) ? null : this.filePath(p.key)));
    async function* source(): AsyncGenerator<Buffer> {
      for (let i = 0; i < parts.length; i++) {
        const p = parts[i]!;
        if (Buffer.isBuffer(p)) yield p;
        else for await (const chunk of createReadStream(files[i]!)) yield chunk as Buffer;
      }
    }
    const tmp = this.tmpPath();
    const hash = createHash('sha256');
    let bytes = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        bytes += chunk.length;
        cb(null, chunk);
      },
    });
    try {
      await pipeline(source(), meter, createWriteStream(tmp));
      await fsp.mkdir(path.dirname(filePath), { recursive: true });
      await fsp.rename(tmp, filePath);
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
    const info = { key, contentType, bytes, sha256: hash.digest('hex') };
    this.objects.set(key, info);
    return { key, contentType, bytes };
  }

  /** A writer for a new object (multipart file parts, fetched URLs): bytes go to a temp file, then are renamed in. */
  createWriter(key: string, contentType: string): ObjectWriter {
    const filePath = this.filePath(key);
    const tmp = this.tmpPath();
    const ws = createWriteStream(tmp);
    const hash = createHash('sha256');
    let bytes = 0;
    let failure: Error | null = null;
    let state: 'open' | 'ended' | 'aborted' = 'open';
    ws.on('error', (err) => {
      failure = err;
    });
    return {
      write: async (chunk) => {
        if (state !== 'open') throw new Error(`object writer for ${key} is ${state}`);
        if (failure) throw failure;
        hash.update(chunk);
        bytes += chunk.length;
        if (!ws.write(chunk)) await once(ws, 'drain');
      },
      end: async () => {
        if (state !== 'open') throw new Error(`object writer for ${key} is ${state}`);
        state = 'ended';
        try {
          if (failure) throw failure;
          ws.end();
          await finished(ws);
          await fsp.mkdir(path.dirname(filePath), { recursive: true });
          await fsp.rename(tmp, filePath);
        } catch (err) {
          ws.destroy();
          await fsp.rm(tmp, { force: true });
          throw err;
        }
        const info = { key, contentType, bytes, sha256: hash.digest('hex') };
        this.objects.set(key, info);
        return { ...info };
      },
      abort: async () => {
        if (state !== 'open') return;
        state = 'aborted';
        ws.destroy();
        await fsp.rm(tmp, { force: true });
      },
    };
  }

  /** The stored bytes of an object, streamed (for providers that serve files themselves). */
  readStream(key: string): Readable {
    if (!this.objects.has(key)) throw new Error(`no object ${key}`);
    return createReadStream(this.filePath(key));
  }

  /** Forgets an object and deletes its file (uploads of a refused request). */
  async remove(key: string): Promise<void> {
    if (!this.objects.delete(key)) return;
    await fsp.rm(this.filePath(key), { force: true });
  }

  async handle(ctx: RequestContext): Promise<void> {
    const key = this.keyFromPath(ctx.path);
    if (ctx.method === 'PUT') return this.put(ctx, key);
    if (ctx.method === 'GET') return this.get(ctx, key);
    await drain(ctx.req);
    throw new HttpError(405, `Method ${ctx.method} is not allowed on signed URLs`, 'MethodNotAllowed', { allow: 'GET, PUT' });
  }

  private async put(ctx: RequestContext, key: string): Promise<void> {
    const { req, res } = ctx;
    const contentType = String(req.headers['content-type'] ?? '');
    try {
      this.verify(ctx, 'PUT', key, contentType);
    } catch (err) {
      res.setHeader('connection', 'close');
      await drain(req);
      throw err;
    }
    const lengthHeader = req.headers['content-length'];
    if (lengthHeader === undefined) {
      res.setHeader('connection', 'close');
      await drain(req);
      throw new HttpError(411, 'Content-Length is required; chunked uploads are not supported', 'MissingContentLength');
    }
    const expected = Number(lengthHeader);
    if (!Number.isSafeInteger(expected) || expected < 0) {
      throw new HttpError(400, 'Invalid Content-Length', 'InvalidArgument');
    }
    const tmp = this.tmpPath();
    const hash = createHash('sha256');
    let received = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        received += chunk.length;
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    const bytesPerSecond = this.faultHooks?.uploadBytesPerSecond(ctx) ?? null;
    try {
      if (bytesPerSecond !== null) await pipeline(req, throttle(bytesPerSecond), meter, createWriteStream(tmp));
      else await pipeline(req, meter, createWriteStream(tmp));
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw new HttpError(400, `Upload interrupted: ${String(err)}`, 'IncompleteBody');
    }
    if (received !== expected) {
      await fsp.rm(tmp, { force: true });
      throw new HttpError(400, `Received ${received} bytes, Content-Length was ${expected}`, 'IncompleteBody');
    }
    const filePath = this.filePath(key);
    await fsp.mkdir(path.dirname(filePath), { recursive: true });
    await fsp.rename(tmp, filePath);
    const sha256 = hash.digest('hex');
    this.objects.set(key, { key, contentType, bytes: received, sha256 });
    res.writeHead(200, { etag: `"${sha256.slice(0, 32)}"`, 'content-length': '0' });
    res.end();
  }

  private async get(ctx: RequestContext, key: string): Promise<void> {
    const { req, res } = ctx;
    await drain(req);
    this.verify(ctx, 'GET', key, '');
    const o = this.objects.get(key);
    if (!o) throw new HttpError(404, 'The specified key does not exist.', 'NoSuchKey');
    // A strong ETag of the content, as S3 and GCS give, so a client can resume with Range + If-Range.
    const etag = `"${(await this.sha256(key)).slice(0, 32)}"`;
    const range = byteRange(req.headers.range, req.headers['if-range'], etag, o.bytes);
    if (range === 'unsatisfiable') {
      res.writeHead(416, { 'content-range': `bytes */${o.bytes}`, 'content-length': '0' });
      res.end();
      return;
    }
    const from = range?.start ?? 0;
    const length = range ? range.end - range.start + 1 : o.bytes;
    const headers: Record<string, string> = {
      'content-type': o.contentType,
      'content-length': String(length),
      'accept-ranges': 'bytes',
      etag,
    };
    if (range) headers['content-range'] = `bytes ${range.start}-${range.end}/${o.bytes}`;
    if (ctx.query.get('download') === '1') {
      headers['content-disposition'] = `attachment; filename="${path.posix.basename(key)}"`;
    }
    // Recorded before the last byte leaves: with Content-Length framing the client may have the
    // whole body (and look at served()) before the response formally ends.
    const hash = createHash('sha256');
    let bytes = 0;
    let recorded = false;
    const record = () => {
      if (recorded) return;
      recorded = true;
      this.servedLog.push({ key, sha256: hash.digest('hex'), bytes, contentType: o.contentType, ...(range ? { from } : {}) });
    };
    if (length === 0) record();
    res.writeHead(range ? 206 : 200, headers);
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        bytes += chunk.length;
        if (bytes >= length) record();
        cb(null, chunk);
      },
    });
    // A body cut short (the client went away) is recorded too: `served()` shows what left the store.
    res.once('close', () => {
      if (bytes > 0) record();
    });
    const file = createReadStream(this.filePath(key), range ? { start: range.start, end: range.end } : {});
    const bytesPerSecond = this.faultHooks?.downloadBytesPerSecond(ctx) ?? null;
    if (bytesPerSecond !== null) await pipeline(file, throttle(bytesPerSecond), meter, res);
    else await pipeline(file, meter, res);
  }

  private verify(ctx: RequestContext, method: 'GET' | 'PUT', key: string, contentType: string): void {
    const expires = ctx.query.get('expires');
    const sig = ctx.query.get('sig');
    if (!expires || !sig || !/^\d+$/.test(expires)) {
      throw new HttpError(403, 'Request is missing expires or sig', 'AccessDenied');
    }
    if (Number(expires) < Math.floor(this.now() / 1000)) {
      throw new HttpError(403, 'The provided token has expired.', 'ExpiredToken');
    }
    const want = Buffer.from(this.sign(method, key, expires, contentType), 'hex');
    const got = Buffer.from(sig, 'hex');
    if (got.length !== want.length || !timingSafeEqual(got, want)) {
      const hint = method === 'PUT' ? ` (Content-Type sent: ${contentType || 'none'})` : '';
      throw new HttpError(403, `The request signature we calculated does not match the signature you provided${hint}.`, 'SignatureDoesNotMatch');
    }
  }

  private sign(method: string, key: string, expires: string, contentType: string): string {
    return createHmac('sha256', this.secret).update(`${method}\n${key}\n${expires}\n${contentType}`).digest('hex');
  }

  private keyFromPath(urlPath: string): string {
    let key: string;
    try {
      key = urlPath.slice('/o/'.length).split('/').map(decodeURIComponent).join('/');
    } catch {
      throw new HttpError(400, 'Malformed object key', 'InvalidArgument');
    }
    if (!isValidKey(key)) throw new HttpError(400, 'Invalid object key', 'InvalidArgument');
    return key;
  }

  private filePath(key: string): string {
    if (!isValidKey(key)) throw new HttpError(400, 'Invalid object key', 'InvalidArgument');
    const full = path.resolve(this.root, ...key.split('/'));
    const rel = path.relative(this.root, full);
    if (rel.startsWith('..') || path.isAbsolute(rel)) throw new HttpError(400, 'Invalid object key', 'InvalidArgument');
    return full;
  }

  private tmpDir(): string {
    return path.resolve(this.root, '..', 'tmp');
  }

  private tmpPath(): string {
    return path.join(this.tmpDir(), `${process.pid}-${Date.now()}-${this.tmpSeq++}`);
  }
}

export function xmlError(code: string, message: string): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${esc(code)}</Code><Message>${esc(message)}</Message></Error>`;
}

/**
 * A single `Range: bytes=a-b` / `bytes=a-` / `bytes=-n` of an object of `size` bytes (RFC 9110 §14): the
 * range to serve, `undefined` for the whole object (no Range, a multi-range or malformed one, or an
 * `If-Range` that does not match the ETag), or `'unsatisfiable'` (416).
 */
export function byteRange(
  header: string | string[] | undefined,
  ifRange: string | string[] | undefined,
  etag: string,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (typeof header !== 'string') return undefined;
  if (ifRange !== undefined && ifRange !== etag) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}
