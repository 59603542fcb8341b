import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { TRANSFER_HEARTBEAT_INTERVAL_MS, activityTransferHooks } from '../../src/activities/shared';
import { downloadToFile, safeOutputPath, uploadToSignedUrl, SourceError, type DownloadCheckpoint } from '../../src/activities/transfer';
import { APIConnectionError, PermissionDeniedError } from '../../src/providers/errors';
import { LipdubClient } from '../../src/pipelines/lipdub/client';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { makeFile, tempDir } from '../support/harness';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A real HTTP server whose handler the test chooses. */
async function serve(handler: http.RequestListener): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

describe('streaming transfers', () => {
  let sandbox: Sandbox;
  let lipdub: LipdubClient;
  let dir: string;

  beforeAll(async () => {
    sandbox = await startSandbox();
    lipdub = new LipdubClient({ baseUrl: sandbox.urls.lipdub, apiKey: sandbox.keys.lipdub });
    dir = tempDir('transfer');
  });
  afterAll(async () => {
    await sandbox.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const freshUploadUrl = async (name: string) =>
    lipdub.initVideo({ file_name: name, content_type: 'video/mp4', project_name: 'p', scene_name: 's', actor_name: 'a' });

  it('PUTs a local file with its exact Content-Type and Content-Length, reporting progress and sha256', async () => {
    const file = makeFile(dir, 'big.mp4', 3 * 1024 * 1024 + 17);
    const init = await freshUploadUrl('big.mp4');
    const progress: number[] = [];
    const result = await uploadToSignedUrl(
      { source: file, url: init.upload_url, contentType: 'video/mp4', provider: 'lipdub' },
      { onProgress: (done) => progress.push(done) },
    );
    expect(result).toEqual({ bytes: 3 * 1024 * 1024 + 17, sha256: sha(fs.readFileSync(file)) });
    expect(progress[progress.length - 1]).toBe(result.bytes);
    expect(progress.length).toBeGreaterThanOrEqual(3);
    // The sandbox only confirms an upload whose bytes arrived whole.
    await expect(lipdub.videoSuccess(init.video_id)).resolves.toMatchObject({ shot_id: expect.anything() });
  });

  it('uploads a file of many chunks byte-exact, though its read buffers are reused', async () => {
    // Random bytes: a reused buffer refilled too early would send some later chunk's bytes, and no
    // repeating pattern may hide that.
    const bytes = randomBytes(9 * 1024 * 1024 + 4321);
    const file = path.join(dir, 'ring.mp4');
    fs.writeFileSync(file, bytes);
    const key = 'uploads/ring.mp4';
    const result = await uploadToSignedUrl({ source: file, url: sandbox.signedUrl('PUT', key, 'video/mp4'), contentType: 'video/mp4', provider: 'lipdub' });
    expect(result).toEqual({ bytes: bytes.length, sha256: sha(bytes) });
    const stored = Buffer.from(await (await fetch(sandbox.signedUrl('GET', key, 'video/mp4'))).arrayBuffer());
    expect({ bytes: stored.length, sha256: sha(stored) }).toEqual({ bytes: bytes.length, sha256: sha(bytes) });
  });

  it('uploads from an http source that sends no Content-Length by spooling it first', async () => {
    const bytes = fs.readFileSync(makeFile(dir, 'remote.mp4', 200_000));
    const source = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'video/mp4' }); // chunked: no Content-Length
      res.write(bytes.subarray(0, 1000));
      setTimeout(() => res.end(bytes.subarray(1000)), 20);
    });
    try {
      const init = await freshUploadUrl('remote.mp4');
      const result = await uploadToSignedUrl({ source: `${source.url}/remote.mp4`, url: init.upload_url, contentType: 'video/mp4', provider: 'lipdub' });
      expect(result).toEqual({ bytes: bytes.length, sha256: sha(bytes) });
      await expect(lipdub.videoSuccess(init.video_id)).resolves.toBeDefined();
    } finally {
      await source.close();
    }
  });

  it('refuses a wrong Content-Type with the store\'s 403, as a typed non-retryable error', async () => {
    const init = await freshUploadUrl('x.mp4');
    const err = await uploadToSignedUrl({ source: makeFile(dir, 'x.mp4', 10), url: init.upload_url, contentType: 'video/webm', provider: 'lipdub' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermissionDeniedError);
    expect((err as PermissionDeniedError).retryable).toBe(false);
    expect((err as Error).message).not.toContain('sig=');
  });

  it('fails clearly, not retryably, on a missing local source', async () => {
    const err = await uploadToSignedUrl({ source: path.join(dir, 'missing.mp4'), url: 'http://127.0.0.1:1/x', contentType: 'video/mp4', provider: 'lipdub' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).retryable).toBe(false);
    expect((err as Error).message).toContain('ENOENT');
  });

  it('downloads through a .part file, hashing as it streams', async () => {
    const bytes = fs.readFileSync(makeFile(dir, 'served.bin', 1_500_000));
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(bytes.length) });
      res.end(bytes);
    });
    try {
      const out = tempDir('dl');
      const result = await downloadToFile({ url: `${server.url}/f?sig=secret`, dir: out, name: 'es.mp4', provider: 'lipdub' });
      expect(result).toMatchObject({ path: path.join(out, 'es.mp4'), bytes: bytes.length, sha256: sha(bytes), contentType: 'video/mp4' });
      expect(fs.readdirSync(out)).toEqual(['es.mp4']);
    } finally {
      await server.close();
    }
  });

  it('downloads a body of many write batches byte-exact, from a server that sends it in small pieces', async () => {
    const bytes = fs.readFileSync(makeFile(dir, 'many.bin', 7 * 1024 * 1024 + 333));
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(bytes.length) });
      let at = 0;
      const next = () => {
        while (at < bytes.length) {
          const piece = bytes.subarray(at, at + 100_000);
          at += piece.length;
          if (!res.write(piece)) return res.once('drain', next);
        }
        res.end();
      };
      next();
    });
    try {
      const out = tempDir('dl-many');
      const progress: number[] = [];
      const result = await downloadToFile({ url: `${server.url}/f`, dir: out, name: 'many.mp4', provider: 'lipdub' }, { onProgress: (done) => progress.push(done) });
      expect(result).toMatchObject({ bytes: bytes.length, sha256: sha(bytes) });
      expect(sha(fs.readFileSync(path.join(out, 'many.mp4')))).toBe(sha(bytes));
      expect(progress.at(-1)).toBe(bytes.length);
      expect(fs.readdirSync(out)).toEqual(['many.mp4']);
    } finally {
      await server.close();
    }
  });

  it('writes the rest of a short write (a disk filling up takes what fits): the file is byte-exact, with no hole', async () => {
    const bytes = randomBytes(5 * 1024 * 1024 + 999);
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': String(bytes.length) });
      res.end(bytes);
    });
    // The first writev takes only part of its batch and says so, as write(2) does on a nearly full disk.
    const probe = await fs.promises.open(path.join(tempDir('dl-probe'), 'p'), 'w');
    const proto = Object.getPrototypeOf(probe) as { writev: (buffers: Buffer[], position?: number) => Promise<{ bytesWritten: number; buffers: Buffer[] }> };
    await probe.close();
    const writev = proto.writev;
    let shortened = 0;
    const spy = jest.spyOn(proto, 'writev').mockImplementation(function (this: unknown, buffers: Buffer[], position?: number) {
      const total = buffers.reduce((a, b) => a + b.length, 0);
      if (shortened > 0 || total < 1000) return writev.call(this, buffers, position);
      shortened = Math.floor(total / 3);
      return writev.call(this, [Buffer.concat(buffers).subarray(0, shortened)], position);
    });
    try {
      const out = tempDir('dl-short');
      const result = await downloadToFile({ url: `${server.url}/f`, dir: out, name: 'short.mp4', provider: 'lipdub' });
      expect(shortened).toBeGreaterThan(0);
      expect(result).toMatchObject({ bytes: bytes.length, sha256: sha(bytes) });
      expect(sha(fs.readFileSync(path.join(out, 'short.mp4')))).toBe(sha(bytes));
    } finally {
      spy.mockRestore();
      await server.close();
    }
  });

  it('rejects a body cut short of its Content-Length and leaves no file behind', async () => {
    const server = await serve((req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write(Buffer.alloc(400));
      setTimeout(() => req.socket.destroy(), 20);
    });
    try {
      const out = tempDir('dl-short');
      const err = await downloadToFile({ url: `${server.url}/f?sig=secret`, dir: out, name: 'cut.mp4', provider: 'dublab' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(APIConnectionError);
      expect((err as APIConnectionError).retryable).toBe(true);
      expect((err as Error).message).not.toContain('secret');
      expect(fs.readdirSync(out)).toEqual([]);
    } finally {
      await server.close();
    }
  });

  describe('resuming a download that broke off', () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 11);
    const etag = `"${sha(bytes).slice(0, 16)}"`;
    /** A server that answers Range + If-Range like S3, cutting the first whole-object answer short. */
    const rangeServer = (opts: { honourRange: boolean }) => {
      const seen: Array<{ range?: string; ifRange?: string }> = [];
      return {
        seen,
        start: () =>
          serve((req, res) => {
            seen.push({ range: req.headers.range, ifRange: req.headers['if-range'] as string | undefined });
            const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
            if (m && opts.honourRange && req.headers['if-range'] === etag) {
              const from = Number(m[1]);
              res.writeHead(206, { etag, 'content-length': String(bytes.length - from), 'content-range': `bytes ${from}-${bytes.length - 1}/${bytes.length}` });
              return res.end(bytes.subarray(from));
            }
            res.writeHead(200, { etag, 'content-type': 'video/mp4', 'content-length': String(bytes.length) });
            if (seen.length > 1) return res.end(bytes);
            res.write(bytes.subarray(0, 1_200_000));
            setTimeout(() => req.socket.destroy(), 50);
          }),
      };
    };

    const interrupted = async (url: string, out: string) => {
      let checkpoint: DownloadCheckpoint | undefined;
      const err = await downloadToFile({ url, dir: out, name: 'es.mp4', provider: 'dublab' }, { onDownloadCheckpoint: (cp) => (checkpoint = cp) }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(APIConnectionError);
      return checkpoint!;
    };

    it('keeps the .part file and asks only for the rest, with If-Range; the result is exact', async () => {
      const src = rangeServer({ honourRange: true });
      const server = await src.start();
      try {
        const out = tempDir('dl-resume');
        const checkpoint = await interrupted(`${server.url}/f?sig=secret`, out);
        expect(checkpoint).toEqual({ source: `${server.url}/f?…`, target: path.join(out, 'es.mp4'), validator: etag, total: bytes.length });
        const kept = fs.statSync(path.join(out, 'es.mp4.part')).size;
        expect(kept).toBeGreaterThan(0);
        // A fresh signed URL for the same object resumes too: the checkpoint names the source without its query.
        const result = await downloadToFile({ url: `${server.url}/f?sig=fresh`, dir: out, name: 'es.mp4', provider: 'dublab' }, { resumeDownload: checkpoint });
        expect(src.seen.at(-1)).toEqual({ range: `bytes=${kept}-`, ifRange: etag });
        expect(result).toMatchObject({ bytes: bytes.length, sha256: sha(bytes) });
        expect(sha(fs.readFileSync(path.join(out, 'es.mp4')))).toBe(sha(bytes));
        expect(fs.readdirSync(out)).toEqual(['es.mp4']);
      } finally {
        await server.close();
      }
    });

    it('downloads again from the first byte when the source answers 200 to the range (no ranges, or the object changed)', async () => {
      const src = rangeServer({ honourRange: false });
      const server = await src.start();
      try {
        const out = tempDir('dl-no-range');
        const checkpoint = await interrupted(`${server.url}/f`, out);
        const result = await downloadToFile({ url: `${server.url}/f`, dir: out, name: 'es.mp4', provider: 'dublab' }, { resumeDownload: checkpoint });
        expect(src.seen.at(-1)?.range).toMatch(/^bytes=\d+-$/);
        expect(result).toMatchObject({ bytes: bytes.length, sha256: sha(bytes) });
        expect(fs.readdirSync(out)).toEqual(['es.mp4']);
      } finally {
        await server.close();
      }
    });

    it('ignores a checkpoint of another source and removes the part when the run cancelled', async () => {
      const src = rangeServer({ honourRange: true });
      const server = await src.start();
      try {
        const out = tempDir('dl-other');
        const checkpoint = await interrupted(`${server.url}/f`, out);
        await downloadToFile({ url: `${server.url}/g`, dir: out, name: 'es.mp4', provider: 'dublab' }, { resumeDownload: checkpoint });
        expect(src.seen.at(-1)).toEqual({ range: undefined, ifRange: undefined });

        const cancelled = tempDir('dl-cancelled');
        fs.rmSync(path.join(out, 'es.mp4'));
        src.seen.length = 0;
        const err = await downloadToFile({ url: `${server.url}/f`, dir: cancelled, name: 'es.mp4', provider: 'dublab' }, { keepPartial: () => false }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(APIConnectionError);
        expect(fs.readdirSync(cancelled)).toEqual([]);
      } finally {
        await server.close();
      }
    });
  });

  it('fails an upload whose http source breaks off as a retryable SourceError, not as an ambiguous upload', async () => {
    const source = await serve((req, res) => {
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': '3000000' });
      res.write(Buffer.alloc(1_000_000));
      setTimeout(() => req.socket.destroy(), 50);
    });
    try {
      const init = await freshUploadUrl('broken.mp4');
      const err = await uploadToSignedUrl({ source: `${source.url}/broken.mp4?token=secret`, url: init.upload_url, contentType: 'video/mp4', provider: 'lipdub' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SourceError);
      expect((err as SourceError).retryable).toBe(true);
      expect((err as Error).message).toMatch(/broke off/);
      expect((err as Error).message).not.toContain('secret');
    } finally {
      await source.close();
    }
  });

  it('stops a download when cancelled, rethrowing the abort and leaving no file behind', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(10_000_000) });
      res.write(Buffer.alloc(3_000_000)); // then stalls, like a slow store
    });
    try {
      const out = tempDir('dl-cancel');
      const controller = new AbortController();
      const err = await downloadToFile(
        { url: `${server.url}/f`, dir: out, name: 'cancelled.mp4', provider: 'lipdub' },
        { signal: controller.signal, onProgress: () => controller.abort() },
      ).catch((e: unknown) => e);
      expect(controller.signal.aborted).toBe(true);
      expect((err as Error).name).toBe('AbortError');
      expect(fs.readdirSync(out)).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('stops an upload when cancelled, rethrowing the abort', async () => {
    const init = await freshUploadUrl('cancelled.mp4');
    const controller = new AbortController();
    const err = await uploadToSignedUrl(
      { source: makeFile(dir, 'cancelled.mp4', 8 * 1024 * 1024), url: init.upload_url, contentType: 'video/mp4', provider: 'lipdub' },
      { signal: controller.signal, onProgress: () => controller.abort() },
    ).catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    // The store never got the whole object, so LipDub refuses to confirm it.
    await expect(lipdub.videoSuccess(init.video_id)).rejects.toThrow();
  });

  it.each(['../escape.mp4', '../../etc/passwd', '/etc/passwd', '.', 'a/../../b'])('never writes outside the output directory: %s', (name) => {
    expect(() => safeOutputPath(dir, name)).toThrow(/escape the output directory/);
  });
});

describe('activity transfer hooks', () => {
  it('heartbeat bytes done at most once an interval, and always on the last byte', async () => {
    const env = new MockActivityEnvironment();
    const beats: Array<{ phase: string; bytesDone: number; bytesTotal: number | null; videoId: string }> = [];
    env.on('heartbeat', (d) => beats.push(d));
    await env.run(async () => {
      const hooks = activityTransferHooks({}, 'uploading-video', { videoId: 'v1' });
      for (let mib = 1; mib <= 100; mib++) hooks.onProgress!(mib * 1024 * 1024, 100 * 1024 * 1024);
    });
    // 100 reports well within one interval: the first and the last go out.
    expect(TRANSFER_HEARTBEAT_INTERVAL_MS).toBeGreaterThan(50);
    expect(beats).toEqual([
      { videoId: 'v1', phase: 'uploading-video', bytesDone: 1024 * 1024, bytesTotal: 100 * 1024 * 1024 },
      { videoId: 'v1', phase: 'uploading-video', bytesDone: 100 * 1024 * 1024, bytesTotal: 100 * 1024 * 1024 },
    ]);
  });

  it('heartbeat again once the interval has passed', async () => {
    const env = new MockActivityEnvironment();
    const beats: number[] = [];
    env.on('heartbeat', (d: { bytesDone: number }) => beats.push(d.bytesDone));
    await env.run(async () => {
      const hooks = activityTransferHooks({}, 'downloading');
      hooks.onProgress!(1, undefined);
      hooks.onProgress!(2, undefined);
      await new Promise((r) => setTimeout(r, TRANSFER_HEARTBEAT_INTERVAL_MS + 20));
      hooks.onProgress!(3, undefined);
    });
    expect(beats).toEqual([1, 3]);
  });
});
