import fs from 'node:fs';
import path from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Settings } from '../../storage/config';
import { classifyStoreError } from '../../storage/errors';
import { isS3Ref, joinKey, parseS3Uri, s3Uri, type S3Location } from '../../storage/location';
import { createS3Client, getJson, headObject, listObjects, putJson, type Store } from '../../storage/s3';
import type { BatchResultRecord, ManifestEntry } from './input';

/**
 * Where a batch keeps its files: the normalized manifest, the results, a retry's selected lines. Each is
 * named by a reference that says where it lives — a local path (the embedded default: exactly the files
 * of before) or an `s3://` URI when outputs go to an object store — so a workflow's history holds only
 * the reference, and any machine with access to the store can read them without the worker's disk.
 *
 * In a store, results are one object per line under `<batch>/results/` (written whole: a reader lists
 * the prefix and sees every finished line, the last record of a line having replaced earlier ones), and
 * `<batch>/results.jsonl` is rendered from them when the batch ends, in line order.
 */

const READ_CHUNK_BYTES = 256 * 1024;
/** Manifest lines are numbered from 1 up to BATCH_MAX_ITEMS (100,000): six digits keep keys in line order. */
const LINE_KEY_DIGITS = 6;
/** Result objects read or written at once. */
const STORE_CONCURRENCY = 16;

export type Lines = { lines: Array<{ text: string; offset: number }>; nextOffset: number; eof: boolean };

/**
 * Up to `limit` complete non-blank lines starting at byte `offset`, read through `read(position, length)`
 * (which returns fewer bytes only at the end); `nextOffset` is where the next page starts.
 */
export async function readLinesWith(read: (position: number, length: number) => Promise<Buffer>, offset: number, limit: number): Promise<Lines> {
  const lines: Array<{ text: string; offset: number }> = [];
  let pos = offset;
  let pending = Buffer.alloc(0);
  let pendingStart = offset;
  for (;;) {
    const chunk = await read(pos, READ_CHUNK_BYTES);
    pos += chunk.length;
    pending = Buffer.concat([pending, chunk]);
    let start = 0;
    for (let nl = pending.indexOf(10, start); nl !== -1 && lines.length < limit; nl = pending.indexOf(10, start)) {
      const text = pending.subarray(start, nl).toString('utf8');
      if (text.trim()) lines.push({ text, offset: pendingStart + start });
      start = nl + 1;
    }
    pending = pending.subarray(start);
    pendingStart += start;
    if (lines.length >= limit) return { lines, nextOffset: pendingStart, eof: false };
    if (chunk.length === 0) {
      const text = pending.toString('utf8');
      if (text.trim()) lines.push({ text, offset: pendingStart });
      return { lines, nextOffset: pendingStart + pending.length, eof: true };
    }
  }
}

/** Where a batch writes: the local output root, or an S3 location (and the store to reach it). */
export type BatchOutput = { kind: 'local'; root: string } | { kind: 's3'; base: S3Location; store: Store };

/** A store client for settings, one per settings object (the SDK pools its sockets). */
const stores = new WeakMap<S3Settings, Store>();
export function storeFor(settings: S3Settings): Store {
  let store = stores.get(settings);
  if (!store) {
    store = { settings, client: createS3Client(settings) };
    stores.set(settings, store);
  }
  return store;
}

export class BatchFiles {
  constructor(
    /** Reads `s3://` references (the manifest a starter wrote to the store). */
    private readonly store: Store | undefined,
  ) {}

  private need(ref: string): Store {
    if (!this.store) throw new Error(`${ref} is in an object store, but no store is configured here (REELAY_S3_ENDPOINT, AWS credentials)`);
    return this.store;
  }

  /** Lines of a manifest (a local file or an object), a page at a time. */
  async readLines(ref: string, offset: number, limit: number): Promise<Lines> {
    if (!isS3Ref(ref)) {
      const fh = await fs.promises.open(ref, 'r');
      try {
        return await readLinesWith(async (position, length) => {
          const buf = Buffer.alloc(length);
          const { bytesRead } = await fh.read(buf, 0, length, position);
          return buf.subarray(0, bytesRead);
        }, offset, limit);
      } finally {
        await fh.close();
      }
    }
    const store = this.need(ref);
    const loc = parseS3Uri(ref, { requireKey: true });
    const { size, etag } = await headObject(store, loc);
    return readLinesWith(async (position, length) => {
      if (position >= size) return Buffer.alloc(0);
      const end = Math.min(size, position + length) - 1;
      try {
        const res = await store.client.send(new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key, Range: `bytes=${position}-${end}`, IfMatch: etag }));
        return Buffer.from((await res.Body?.transformToByteArray()) ?? new Uint8Array());
      } catch (err) {
        throw classifyStoreError(err, `reading ${ref}`, store.settings.endpoint);
      }
    }, offset, limit);
  }

  /** A whole manifest's text (the cost guard reads it once). */
  async readText(ref: string): Promise<string> {
    if (!isS3Ref(ref)) return fs.promises.readFile(ref, 'utf8');
    const store = this.need(ref);
    const loc = parseS3Uri(ref, { requireKey: true });
    try {
      const res = await store.client.send(new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key }));
      return (await res.Body?.transformToString('utf8')) ?? '';
    } catch (err) {
      throw classifyStoreError(err, `reading ${ref}`, store.settings.endpoint);
    }
  }

  /** Write a manifest-shaped text next to `sibling` under `name` (a local file, or an object beside it). */
  async writeBeside(sibling: string, name: string, text: string): Promise<string> {
    if (!isS3Ref(sibling)) {
      const target = path.join(path.dirname(sibling), name);
      await fs.promises.writeFile(target, text);
      return target;
    }
    const store = this.need(sibling);
    const loc = parseS3Uri(sibling, { requireKey: true });
    const target: S3Location = { kind: 's3', bucket: loc.bucket, key: joinKey(path.posix.dirname(loc.key), name) };
    await putText(store, target, text);
    return s3Uri(target);
  }
}

async function putText(store: Store, loc: S3Location, text: string, contentType = 'application/x-ndjson'): Promise<void> {
  try {
    await store.client.send(new PutObjectCommand({ Bucket: loc.bucket, Key: loc.key, Body: text, ContentType: contentType }));
  } catch (err) {
    throw classifyStoreError(err, `writing ${s3Uri(loc)}`, store.settings.endpoint);
  }
}

/** The normalized manifest as JSONL text: one entry per line, absolute paths, original line numbers. */
export function manifestText(entries: ManifestEntry[]): string {
  return entries.map((e) => JSON.stringify(e) + '\n').join('');
}

/** Write the normalized manifest of `batchId` to the output (`<root>/<batchId>/manifest.jsonl`); its reference. */
export async function writeBatchManifest(output: BatchOutput, batchId: string, entries: ManifestEntry[]): Promise<string> {
  if (output.kind === 'local') {
    const target = path.join(output.root, batchId, 'manifest.jsonl');
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const tmp = `${target}.part`;
    fs.writeFileSync(tmp, manifestText(entries));
    fs.renameSync(tmp, target);
    return target;
  }
  const loc: S3Location = { kind: 's3', bucket: output.base.bucket, key: joinKey(output.base.key, batchId, 'manifest.jsonl') };
  await putText(output.store, loc, manifestText(entries));
  return s3Uri(loc);
}

/** Where the results of the batch writing under `outputSubdir` live in a store. */
export function storeResultsDir(base: S3Location, outputSubdir: string): S3Location {
  return { kind: 's3', bucket: base.bucket, key: joinKey(base.key, outputSubdir, 'results') };
}

function lineKey(dir: S3Location, line: number): S3Location {
  return { kind: 's3', bucket: dir.bucket, key: joinKey(dir.key, `${String(line).padStart(LINE_KEY_DIGITS, '0')}.json`) };
}

/** `results.jsonl` beside a results prefix: the reference a batch's result names. */
export function renderedResults(dir: S3Location): S3Location {
  return { kind: 's3', bucket: dir.bucket, key: joinKey(path.posix.dirname(dir.key), 'results.jsonl') };
}

async function limited<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** One object per record (`results/000017.json`): a record of the same line written later replaces it. */
export async function putResultRecords(store: Store, dir: S3Location, records: BatchResultRecord[]): Promise<void> {
  // Within one call, the last record of a line is the one kept (as in results.jsonl).
  const byLine = new Map<number, BatchResultRecord>();
  for (const r of records) byLine.set(r.line, r);
  await limited([...byLine.values()], STORE_CONCURRENCY, async (r) => {
    await putJson(store, lineKey(dir, r.line), r);
  });
}

/** Every record under a results prefix, one per line, in line order. */
export async function listResultRecords(store: Store, dir: S3Location): Promise<BatchResultRecord[]> {
  const objects = (await listObjects(store, dir)).filter((o) => /\/\d+\.json$/.test(o.key));
  const records: BatchResultRecord[] = [];
  await limited(objects, STORE_CONCURRENCY, async (o) => {
    const r = (await getJson(store, { kind: 's3', bucket: dir.bucket, key: o.key })) as BatchResultRecord | undefined;
    if (r) records.push(r);
  });
  return records.sort((a, b) => a.line - b.line);
}

/** Render `results.jsonl` (one record per line, line order) from the result objects; its URI. */
export async function renderResults(store: Store, dir: S3Location): Promise<string> {
  const records = await listResultRecords(store, dir);
  const target = renderedResults(dir);
  await putText(store, target, records.map((r) => JSON.stringify(r) + '\n').join(''));
  return s3Uri(target);
}

/** results.jsonl as one record per line (the last written wins), in line order, from its text. */
export function parseResults(text: string): BatchResultRecord[] {
  const byLine = new Map<number, BatchResultRecord>();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line) as BatchResultRecord;
    byLine.set(r.line, r);
  }
  return [...byLine.values()].sort((a, b) => a.line - b.line);
}

/**
 * A batch's results from wherever they are: a local results.jsonl, or (for an `s3://…/results.jsonl`)
 * the result objects beside it, which hold every finished line even while the batch still runs.
 */
export async function loadBatchResults(resultsRef: string, store?: Store): Promise<BatchResultRecord[]> {
  if (!isS3Ref(resultsRef)) return parseResults(await fs.promises.readFile(resultsRef, 'utf8'));
  if (!store) throw new Error(`${resultsRef} is in an object store, but no store is configured here (REELAY_S3_ENDPOINT, AWS credentials)`);
  const loc = parseS3Uri(resultsRef, { requireKey: true });
  const dir: S3Location = { kind: 's3', bucket: loc.bucket, key: joinKey(path.posix.dirname(loc.key), 'results') };
  return listResultRecords(store, dir);
}
