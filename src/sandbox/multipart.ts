import type { IncomingMessage } from 'node:http';
import { HttpError } from './http';

/**
 * A small streaming `multipart/form-data` and `application/x-www-form-urlencoded` reader for the
 * providers that take forms (Vivid Flow, AI Studio). Memory stays bounded: file parts are handed to
 * a sink chunk by chunk (with backpressure) as they arrive, only a delimiter-sized tail is held back,
 * and text fields are capped.
 */

export interface FilePartInfo {
  field: string;
  filename: string;
  /** The part's Content-Type, `application/octet-stream` when absent. */
  contentType: string;
  /** How many earlier file parts had the same field name. */
  index: number;
}

/** Receives one file part's bytes. */
export interface FileSink {
  write(chunk: Buffer): Promise<void>;
  end(): Promise<unknown>;
  abort(): Promise<void>;
}

export interface FormFile extends FilePartInfo {
  bytes: number;
}

export interface ParsedForm {
  kind: 'multipart' | 'urlencoded';
  /** Text fields in arrival order (a name may repeat). */
  fields: Array<[string, string]>;
  /** File parts that were handed to a sink, in arrival order. */
  files: FormFile[];
}

export interface FormOptions {
  /**
   * Called when a file part's headers have arrived, before any of its bytes: return a sink for its
   * bytes, or null to discard them. Throwing (an HttpError) refuses the request. A file part with an
   * empty filename (a browser's empty file input) is not a file: it is skipped without a call.
   */
  onFile?(info: FilePartInfo): FileSink | null | Promise<FileSink | null>;
  /** Cap on all text field bytes together (default 1 MiB); over it is 413. */
  maxFieldBytes?: number;
  /** Cap on parts (default 64); over it is 400. */
  maxParts?: number;
}

const MAX_HEADER_BYTES = 16 * 1024;
const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

export function formKind(req: IncomingMessage): 'multipart' | 'urlencoded' | null {
  const ct = String(req.headers['content-type'] ?? '').toLowerCase();
  if (/^multipart\/form-data\s*(;|$)/.test(ct)) return 'multipart';
  if (/^application\/x-www-form-urlencoded\s*(;|$)/.test(ct)) return 'urlencoded';
  return null;
}

/** Reads a form body; null (body untouched) when the Content-Type is neither form type. */
export async function readForm(req: IncomingMessage, opts: FormOptions = {}): Promise<ParsedForm | null> {
  const kind = formKind(req);
  if (kind === 'urlencoded') return readUrlencoded(req, opts.maxFieldBytes ?? 1024 * 1024);
  if (kind === 'multipart') return readMultipart(req, opts);
  return null;
}

async function readUrlencoded(req: IncomingMessage, maxBytes: number): Promise<ParsedForm> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new HttpError(413, 'Request body too large', 'PayloadTooLarge');
    chunks.push(chunk);
  }
  const params = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
  return { kind: 'urlencoded', fields: [...params.entries()], files: [] };
}

export function multipartBoundary(contentType: string): string | null {
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^;\s]{1,70}))/i.exec(contentType);
  return m ? (m[1] ?? m[2]!) : null;
}

interface PartHeaders {
  name: string;
  filename: string | null;
  contentType: string | null;
}

function parsePartHeaders(block: string): PartHeaders {
  let disposition: string | null = null;
  let contentType: string | null = null;
  for (const line of block.split('\r\n')) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw malformed('bad part header');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-disposition') disposition = value;
    else if (name === 'content-type') contentType = value;
  }
  if (!disposition || !/^form-data\b/i.test(disposition)) throw malformed('part without Content-Disposition: form-data');
  const params = dispositionParams(disposition);
  const fieldName = params.get('name');
  if (fieldName === undefined) throw malformed('part without a name');
  let filename = params.get('filename') ?? null;
  const extended = params.get('filename*');
  if (extended !== undefined) {
    const m = /^([^']*)'[^']*'(.*)$/.exec(extended);
    if (m) {
      try {
        filename = decodeURIComponent(m[2]!);
      } catch {
        // keep the plain filename
      }
    }
  }
  return { name: fieldName, filename, contentType };
}

/** `form-data; name="a"; filename="b c.png"` → Map { name → a, filename → b c.png }. */
function dispositionParams(value: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /;\s*([^=;\s]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(value)) !== null) {
    const v = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!.trim();
    out.set(m[1]!.toLowerCase(), v);
  }
  return out;
}

function malformed(why: string): HttpError {
  return new HttpError(400, `Malformed multipart body: ${why}`, 'BadRequest');
}

async function readMultipart(req: IncomingMessage, opts: FormOptions): Promise<ParsedForm> {
  const boundary = multipartBoundary(String(req.headers['content-type'] ?? ''));
  if (!boundary) throw new HttpError(400, 'Malformed multipart body: no boundary in Content-Type', 'BadRequest');
  const maxFieldBytes = opts.maxFieldBytes ?? 1024 * 1024;
  const maxParts = opts.maxParts ?? 64;
  // Every delimiter is CRLF--boundary; a CRLF is prepended so the first one (at the very start) matches too.
  const delim = Buffer.from(`\r\n--${boundary}`);
  const form: ParsedForm = { kind: 'multipart', fields: [], files: [] };
  const fileCounts = new Map<string, number>();
  let fieldBytes = 0;
  let parts = 0;

  type State = 'preamble' | 'afterDelimiter' | 'headers' | 'body' | 'done';
  let state = 'preamble' as State;
  let buf: Buffer = CRLF;
  // The part being read: a text field (chunks), a file (sink) or a discarded part.
  let part: { kind: 'field'; name: string; chunks: Buffer[] } | { kind: 'file'; sink: FileSink; file: FormFile } | { kind: 'skip' } | null = null;

  const emit = async (data: Buffer): Promise<void> => {
    if (data.length === 0 || !part) return;
    if (part.kind === 'field') {
      fieldBytes += data.length;
      if (fieldBytes > maxFieldBytes) throw new HttpError(413, 'Form fields too large', 'PayloadTooLarge');
      part.chunks.push(data);
    } else if (part.kind === 'file') {
      part.file.bytes += data.length;
      await part.sink.write(data);
    }
  };

  const startPart = async (headers: PartHeaders): Promise<void> => {
    if (++parts > maxParts) throw new HttpError(400, `Too many form parts (at most ${maxParts})`, 'BadRequest');
    if (headers.filename === null) {
      part = { kind: 'field', name: headers.name, chunks: [] };
      return;
    }
    if (headers.filename === '' || !opts.onFile) {
      part = { kind: 'skip' };
      return;
    }
    const index = fileCounts.get(headers.name) ?? 0;
    fileCounts.set(headers.name, index + 1);
    const info: FilePartInfo = {
      field: headers.name,
      filename: headers.filename,
      contentType: headers.contentType ?? 'application/octet-stream',
      index,
    };
    const sink = await opts.onFile(info);
    part = sink ? { kind: 'file', sink, file: { ...info, bytes: 0 } } : { kind: 'skip' };
  };

  const endPart = async (): Promise<void> => {
    const p = part;
    part = null;
    if (!p) return;
    if (p.kind === 'field') form.fields.push([p.name, Buffer.concat(p.chunks).toString('utf8')]);
    else if (p.kind === 'file') {
      await p.sink.end();
      form.files.push(p.file);
    }
  };

  const step = async (): Promise<void> => {
    for (;;) {
      switch (state) {
        case 'preamble': {
          const i = buf.indexOf(delim);
          if (i < 0) {
            buf = buf.subarray(Math.max(0, buf.length - (delim.length - 1)));
            return;
          }
          buf = buf.subarray(i + delim.length);
          state = 'afterDelimiter';
          continue;
        }
        case 'afterDelimiter': {
          if (buf.length < 2) return;
          if (buf[0] === 0x2d && buf[1] === 0x2d) {
            state = 'done';
            buf = Buffer.alloc(0);
            return;
          }
          // Transport padding (spaces, tabs) may precede the CRLF.
          const i = buf.indexOf(CRLF);
          if (i < 0) {
            if (buf.length > 256) throw malformed('bad delimiter line');
            return;
          }
          if (!/^[ \t]*$/.test(buf.subarray(0, i).toString('latin1'))) throw malformed('bad delimiter line');
          buf = buf.subarray(i + 2);
          state = 'headers';
          continue;
        }
        case 'headers': {
          let block: string;
          if (buf.length >= 2 && buf[0] === 0x0d && buf[1] === 0x0a) {
            block = '';
            buf = buf.subarray(2);
          } else {
            const i = buf.indexOf(HEADER_END);
            if (i < 0) {
              if (buf.length > MAX_HEADER_BYTES) throw malformed('part headers too large');
              return;
            }
            block = buf.subarray(0, i).toString('utf8');
            buf = buf.subarray(i + HEADER_END.length);
          }
          await startPart(parsePartHeaders(block));
          state = 'body';
          continue;
        }
        case 'body': {
          const i = buf.indexOf(delim);
          if (i >= 0) {
            await emit(buf.subarray(0, i));
            await endPart();
            buf = buf.subarray(i + delim.length);
            state = 'afterDelimiter';
            continue;
          }
          const safe = buf.length - (delim.length - 1);
          if (safe > 0) {
            await emit(buf.subarray(0, safe));
            buf = buf.subarray(safe);
          }
          return;
        }
        case 'done':
          buf = Buffer.alloc(0);
          return;
      }
    }
  };

  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      if (state === 'done') continue; // the epilogue is ignored
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      await step();
    }
    if (state !== 'done') throw malformed('unexpected end of body');
  } catch (err) {
    const p = part as { kind: string; sink?: FileSink } | null;
    if (p?.kind === 'file') await p.sink!.abort().catch(() => undefined);
    if (err instanceof HttpError) throw err;
    throw new HttpError(400, `Upload interrupted: ${String(err)}`, 'IncompleteBody');
  }
  return form;
}

/** First value of a field (Werkzeug's `MultiDict.get`), or undefined. */
export function firstField(form: Pick<ParsedForm, 'fields'>, name: string): string | undefined {
  return form.fields.find(([k]) => k === name)?.[1];
}

/** Last value of a field (Starlette's `FormData[name]`), or undefined. */
export function lastField(form: Pick<ParsedForm, 'fields'>, name: string): string | undefined {
  for (let i = form.fields.length - 1; i >= 0; i--) if (form.fields[i]![0] === name) return form.fields[i]![1];
  return undefined;
}
