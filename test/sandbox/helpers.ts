import { FormData, request } from 'undici';

export interface JsonResponse<T = any> {
  status: number;
  body: T;
  headers: Record<string, string | string[] | undefined>;
}

export type MultipartPart = { name: string; value: string } | { name: string; filename: string; contentType?: string; data: Buffer };

/** A multipart/form-data body built by hand, so tests control every byte the parser sees. */
export function multipart(parts: MultipartPart[], boundary = `----reelay${Math.random().toString(16).slice(2)}`): { body: Buffer; contentType: string } {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    if ('value' in p) {
      chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"\r\n\r\n${p.value}\r\n`));
    } else {
      chunks.push(
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"; filename="${p.filename}"\r\n` +
            `Content-Type: ${p.contentType ?? 'application/octet-stream'}\r\n\r\n`,
        ),
        p.data,
        Buffer.from('\r\n'),
      );
    }
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** A JSON API call against a sandbox provider, sending `headers` (auth) and an optional JSON, form or multipart body. */
export async function api<T = any>(
  method: 'GET' | 'POST' | 'DELETE',
  url: string,
  opts: {
    headers?: Record<string, string>;
    json?: unknown;
    rawBody?: string;
    urlencoded?: Record<string, string>;
    multipart?: MultipartPart[];
    form?: FormData;
  } = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  let body: string | Buffer | FormData | undefined;
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.json);
  } else if (opts.rawBody !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = opts.rawBody;
  } else if (opts.urlencoded !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(opts.urlencoded).toString();
  } else if (opts.multipart !== undefined) {
    const m = multipart(opts.multipart);
    headers['content-type'] = m.contentType;
    body = m.body;
  } else if (opts.form !== undefined) {
    body = opts.form;
  }
  const res = await request(url, { method, headers, body });
  const text = await res.body.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // keep text
  }
  return { status: res.statusCode, body: parsed as T, headers: res.headers };
}

export async function put(url: string, bytes: Buffer, contentType: string): Promise<{ status: number; text: string }> {
  const res = await request(url, { method: 'PUT', headers: { 'content-type': contentType, 'content-length': String(bytes.length) }, body: bytes });
  return { status: res.statusCode, text: await res.body.text() };
}

export async function download(url: string): Promise<{ status: number; bytes: Buffer; contentType: string | undefined; text: string }> {
  const res = await request(url, { method: 'GET' });
  const bytes = Buffer.from(await res.body.arrayBuffer());
  const ct = res.headers['content-type'];
  return { status: res.statusCode, bytes, contentType: Array.isArray(ct) ? ct[0] : ct, text: bytes.toString('utf8') };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until `done` holds or the deadline passes. */
export async function pollUntil<T>(fn: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 5000, everyMs = 10): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`pollUntil timed out; last value ${JSON.stringify(v)}`);
    await sleep(everyMs);
  }
}

/** Deterministic pseudo-random bytes so each test has distinct, checkable inputs. */
export function bytesOf(label: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  let x = 2166136261;
  for (const c of label) x = Math.imul(x ^ c.charCodeAt(0), 16777619);
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
