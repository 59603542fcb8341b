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
