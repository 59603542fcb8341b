import fs from 'node:fs';
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import type { StorageSettings } from '../storage/config';
import { parseS3Uri } from '../storage/location';
import { storeFor } from '../pipelines/batch/records';
import { DashboardError } from './data';

/**
 * Delivered files, streamed through the dashboard from the output directory or the output store (never a
 * provider's signed URL), with byte ranges so a player can seek. Anything outside the configured output
 * location is refused, whatever a result or a URL names.
 */

const TYPES: Record<string, string> = {
  '.mp4': 'video/mp4',
  '.m4v': 'video/mp4',
  '.mov': 'video/quicktime',
  '.webm': 'video/webm',
  '.ogv': 'video/ogg',
  '.mp3': 'audio/mpeg',
  '.m4a': 'audio/mp4',
  '.aac': 'audio/aac',
  '.wav': 'audio/wav',
  '.ogg': 'audio/ogg',
  '.opus': 'audio/ogg',
  '.flac': 'audio/flac',
  '.vtt': 'text/vtt; charset=utf-8',
  '.srt': 'text/plain; charset=utf-8',
  '.json': 'application/json',
  '.jsonl': 'application/x-ndjson',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.txt': 'text/plain; charset=utf-8',
};

export function contentTypeFor(name: string): string {
  return TYPES[path.extname(name).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * The real path of `target` when it is inside `root` (symbolic links followed on both sides); a
 * DashboardError otherwise: 403 for a path that leaves the directory, 404 for one that is not there.
 */
export async function insideDir(root: string, target: string): Promise<string> {
  let realRoot: string;
  try {
    realRoot = await fs.promises.realpath(root);
  } catch {
    throw new DashboardError(404, 'No output directory', `the output directory ${root} does not exist on this machine`);
  }
  const lexical = path.resolve(realRoot, target);
  const leaves = (p: string) => p !== realRoot && !p.startsWith(realRoot + path.sep);
  if (leaves(lexical) && leaves(path.resolve(root, target))) throw new DashboardError(403, 'Outside the output directory', `${target} is outside the output directory; the dashboard serves only what is under it`);
  let real: string;
  try {
    real = await fs.promises.realpath(path.isAbsolute(target) ? target : path.resolve(realRoot, target));
  } catch {
    throw new DashboardError(404, 'No such file', `${target} is not in the output directory (moved or deleted?)`);
  }
  if (leaves(real)) throw new DashboardError(403, 'Outside the output directory', `${target} leads outside the output directory; the dashboard serves only what is under it`);
  return real;
}

/** `bytes=a-b` of a file of `size`: the range, 'invalid' (416), or undefined (the whole file). */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'invalid' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start > end || start >= size) return 'invalid';
  return { start, end };
}

/** SRT → WebVTT (the <track> element reads only WebVTT); WebVTT passes through. */
export function toWebVtt(text: string): string {
  const body = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  if (body.startsWith('WEBVTT')) return body;
  return `WEBVTT\n\n${body.replace(/(\d{2}:\d{2}:\d{2}),(\d{3})/g, '$1.$2')}`;
}

export async function serveLocalFile(req: IncomingMessage, res: ServerResponse, file: string, opts: { contentType?: string; asVtt?: boolean } = {}): Promise<void> {
  const st = await fs.promises.stat(file);
  if (!st.isFile()) throw new DashboardError(404, 'Not a file', `${path.basename(file)} is not a regular file`);
  if (opts.asVtt) {
    if (st.size > 5 * 1024 * 1024) throw new DashboardError(413, 'Subtitles too large', 'subtitle files over 5 MiB are not converted; download the file instead');
    const vtt = toWebVtt(await fs.promises.readFile(file, 'utf8'));
    res.writeHead(200, { 'content-type': 'text/vtt; charset=utf-8', 'content-length': Buffer.byteLength(vtt), 'cache-control': 'no-store' });
    res.end(vtt);
    return;
  }
  const type = opts.contentType ?? contentTypeFor(file);
  const range = parseRange(req.headers.range, st.size);
  const common = { 'content-type': type, 'accept-ranges': 'bytes', 'cache-control': 'private, max-age=60', 'x-content-type-options': 'nosniff' };
  if (range === 'invalid') {
    res.writeHead(416, { 'content-range': `bytes */${st.size}` });
    res.end();
    return;
  }
  const { start, end } = range ?? { start: 0, end: st.size - 1 };
  res.writeHead(range ? 206 : 200, { ...common, 'content-length': Math.max(0, end - start + 1), ...(range ? { 'content-range': `bytes ${start}-${end}/${st.size}` } : {}) });
  if (req.method === 'HEAD' || st.size === 0) {
    res.end();
    return;
  }
  await pipeTo(fs.createReadStream(file, { start, end }), res);
}

/** An object of the output store (it must be under REELAY_OUTPUT_URL's bucket and prefix), ranges passed through. */
export async function serveStoreObject(req: IncomingMessage, res: ServerResponse, uri: string, storage: StorageSettings, opts: { asVtt?: boolean } = {}): Promise<void> {
  const loc = parseS3Uri(uri, { requireKey: true });
  const out = storage.output;
  if (out.kind !== 's3' || out.bucket !== loc.bucket || (out.key && !loc.key.startsWith(out.key.replace(/\/?$/, '/')))) {
    throw new DashboardError(403, 'Outside the output store', `${uri} is not under this dashboard's output location (REELAY_OUTPUT_URL)`);
  }
  const store = storeFor(storage.s3);
  let obj;
  try {
    obj = await store.client.send(new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key, ...(req.headers.range && !opts.asVtt ? { Range: req.headers.range } : {}) }));
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404) throw new DashboardError(404, 'No such object', `${uri} is not in the store (deleted?)`);
    if (status === 416) throw new DashboardError(416, 'Range not satisfiable', `the requested range is outside ${uri}`);
    throw new DashboardError(502, 'Output store unavailable', `reading ${uri}: ${(err as Error).message}`);
  }
  const body = obj.Body as Readable;
  if (opts.asVtt) {
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(Buffer.from(c as Buffer));
    const vtt = toWebVtt(Buffer.concat(chunks).toString('utf8'));
    res.writeHead(200, { 'content-type': 'text/vtt; charset=utf-8', 'content-length': Buffer.byteLength(vtt) });
    res.end(vtt);
    return;
  }
  res.writeHead(obj.ContentRange ? 206 : 200, {
    'content-type': obj.ContentType && obj.ContentType !== 'application/octet-stream' ? obj.ContentType : contentTypeFor(loc.key),
    'accept-ranges': 'bytes',
    ...(obj.ContentLength !== undefined ? { 'content-length': obj.ContentLength } : {}),
    ...(obj.ContentRange ? { 'content-range': obj.ContentRange } : {}),
    'x-content-type-options': 'nosniff',
  });
  await pipeTo(body, res);
}

function pipeTo(src: Readable, res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    src.on('error', () => {
      res.destroy();
      resolve();
    });
    res.on('close', () => {
      src.destroy();
      resolve();
    });
    src.pipe(res);
  });
}
