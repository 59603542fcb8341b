import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { isProviderError, type ProviderError } from '../../src/providers/errors';

/** PUT to a signed URL the way S3/GCS want it: exact Content-Type and a Content-Length. */
export async function putSigned(url: string, contentType: string, bytes: Buffer): Promise<number> {
  const res = await request(url, {
    method: 'PUT',
    headers: { 'content-type': contentType, 'content-length': String(bytes.length) },
    body: bytes,
  });
  await res.body.dump();
  return res.statusCode;
}

export async function getSigned(url: string): Promise<{ status: number; bytes: number }> {
  const res = await request(url);
  const buf = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, bytes: buf.length };
}

/** Polls `fn` until `done` holds, like a workflow would (short interval: the sandbox runs fast). */
export async function pollUntil<T>(fn: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 15_000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last value ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export async function providerFailure(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (e) {
    if (isProviderError(e)) return e;
    throw e;
  }
  throw new Error('expected the call to fail');
}

export const FAKE_MP4 = Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypmp42'), Buffer.alloc(4096, 7)]);
export const FAKE_MP3 = Buffer.concat([Buffer.from('ID3'), Buffer.alloc(2048, 3)]);

export interface LoopbackAnswer {
  status: number;
  /** Sent as is: a string is the raw body (non-JSON, empty), anything else is JSON-encoded. */
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Loopback {
  /** `http://127.0.0.1:<port>/api/v1` */
  baseUrl: string;
  /** What the next requests get. */
  answer(a: LoopbackAnswer): void;
  /** Requests received so far, as `METHOD /path`. */
  seen: string[];
  close(): Promise<void>;
}

/**
 * A real HTTP server on a loopback port that answers every request with what the test set last: for
 * driving a provider client into answers the sandbox would never give (wrong shapes, non-JSON 200s).
 * The request body (JSON, urlencoded or multipart) is read to the end before answering.
 */
export async function startLoopback(): Promise<Loopback> {
  let current: LoopbackAnswer = { status: 200, body: {} };
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      seen.push(`${req.method} ${req.url}`);
      const { status, body, headers } = current;
      const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
      res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json', ...headers });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`,
    answer: (a) => {
      current = a;
    },
    seen,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
