import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { HttpError } from '../../src/sandbox/http';
import { readForm, type FilePartInfo, type FileSink } from '../../src/sandbox/multipart';
import { bytesOf, multipart } from './helpers';

function fakeRequest(body: Buffer, contentType: string, chunkSize: number): IncomingMessage {
  const chunks: Buffer[] = [];
  for (let i = 0; i < body.length; i += chunkSize) chunks.push(body.subarray(i, i + chunkSize));
  return Object.assign(Readable.from(chunks), { headers: { 'content-type': contentType } }) as unknown as IncomingMessage;
}

function collector() {
  const files = new Map<string, Buffer[]>();
  const aborted: string[] = [];
  const onFile = (info: FilePartInfo): FileSink => {
    const id = `${info.field}#${info.index}:${info.filename}:${info.contentType}`;
    const parts: Buffer[] = [];
    return {
      write: async (c) => {
        parts.push(Buffer.from(c));
      },
      end: async () => {
        files.set(id, [Buffer.concat(parts)]);
      },
      abort: async () => {
        aborted.push(id);
      },
    };
  };
  return { files, aborted, onFile };
}

describe('sandbox multipart reader', () => {
  const boundary = 'xYzZY';
  // File data that looks like delimiters without being one.
  const tricky = Buffer.concat([
    Buffer.from(`\r\n--${boundary.slice(0, 4)}\r\nA--${boundary}\r-${boundary}\r\n-${boundary}`),
    bytesOf('tricky', 3000),
    Buffer.from(`\r\n-\r\n--\r\n--${boundary.toLowerCase()}`),
  ]);
  const { body, contentType } = multipart(
    [
      { name: 'prompt', value: 'héllo wörld' },
      { name: 'image', filename: 'a b.png', contentType: 'image/png', data: tricky },
      { name: 'referenceImages', filename: 'r.png', data: bytesOf('r', 10) },
      { name: 'referenceImages', filename: 'r2.png', data: Buffer.alloc(0) },
      { name: 'prompt', value: 'second' },
    ],
    boundary,
  );

  it.each([1, 2, 7, 13, 64, 1000, 1 << 20])('parses the same parts with %i-byte chunks', async (size) => {
    const c = collector();
    const form = await readForm(fakeRequest(body, contentType, size), { onFile: c.onFile });
    expect(form!.kind).toBe('multipart');
    expect(form!.fields).toEqual([
      ['prompt', 'héllo wörld'],
      ['prompt', 'second'],
    ]);
    expect(form!.files.map((f) => [f.field, f.index, f.filename, f.bytes])).toEqual([
      ['image', 0, 'a b.png', tricky.length],
      ['referenceImages', 0, 'r.png', 10],
      ['referenceImages', 1, 'r2.png', 0],
    ]);
    expect(c.files.get('image#0:a b.png:image/png')![0]!.equals(tricky)).toBe(true);
    expect(c.files.get('referenceImages#0:r.png:application/octet-stream')![0]!.equals(bytesOf('r', 10))).toBe(true);
  });

  it('ignores preamble and epilogue, accepts a quoted boundary and filename*', async () => {
    const raw = Buffer.from(
      'preamble text\r\n--q b\r\nContent-Disposition: form-data; name="f"; filename="x"; filename*=UTF-8\'\'%C3%A9t%C3%A9.png\r\n\r\nDATA\r\n' +
        '--q b\r\ncontent-disposition: form-data; name="empty"; filename=""\r\n\r\n\r\n--q b--\r\nepilogue',
    );
    const c = collector();
    const form = await readForm(fakeRequest(raw, 'multipart/form-data; boundary="q b"', 5), { onFile: c.onFile });
    expect(form!.files.map((f) => f.filename)).toEqual(['été.png']); // the empty file input is skipped
    expect(form!.fields).toEqual([]);
  });

  it('refuses truncated and malformed bodies with 400, aborting the open file', async () => {
    const c = collector();
    const truncated = body.subarray(0, 500);
    await expect(readForm(fakeRequest(truncated, contentType, 100), { onFile: c.onFile })).rejects.toMatchObject({ status: 400 });
    expect(c.aborted).toEqual(['image#0:a b.png:image/png']);
    await expect(readForm(fakeRequest(body, 'multipart/form-data', 100))).rejects.toMatchObject({ status: 400 });
    const noDisposition = Buffer.from(`--${boundary}\r\nContent-Type: text/plain\r\n\r\nx\r\n--${boundary}--\r\n`);
    await expect(readForm(fakeRequest(noDisposition, contentType, 100))).rejects.toBeInstanceOf(HttpError);
  });

  it('caps text fields (413) and parts (400); a refusal from onFile propagates', async () => {
    const big = multipart([{ name: 'a', value: 'x'.repeat(2000) }], boundary);
    await expect(readForm(fakeRequest(big.body, big.contentType, 100), { maxFieldBytes: 1000 })).rejects.toMatchObject({ status: 413 });
    const many = multipart(Array.from({ length: 5 }, (_, i) => ({ name: `f${i}`, value: 'v' })), boundary);
    await expect(readForm(fakeRequest(many.body, many.contentType, 100), { maxParts: 4 })).rejects.toMatchObject({ status: 400 });
    const refuse = () => {
      throw new HttpError(400, 'no files here');
    };
    await expect(readForm(fakeRequest(body, contentType, 100), { onFile: refuse })).rejects.toThrow('no files here');
  });

  it('reads urlencoded bodies and leaves other types alone', async () => {
    const form = await readForm(fakeRequest(Buffer.from('prompt=a+b%26c&x=1&x=2'), 'application/x-www-form-urlencoded; charset=utf-8', 3));
    expect(form).toEqual({ kind: 'urlencoded', fields: [['prompt', 'a b&c'], ['x', '1'], ['x', '2']], files: [] });
    expect(await readForm(fakeRequest(Buffer.from('{}'), 'application/json', 3))).toBeNull();
  });

  it('streams a large file with backpressure without holding it in memory', async () => {
    const size = 48 * 1024 * 1024;
    let received = 0;
    let produced = 0;
    let maxAhead = 0;
    let maxChunk = 0;
    const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="big.bin"\r\n\r\n`);
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const block = bytesOf('block', 64 * 1024);
    async function* source() {
      yield head;
      for (let sent = 0; sent < size; sent += block.length) {
        produced += block.length;
        yield block;
      }
      yield tail;
    }
    const req = Object.assign(Readable.from(source()), { headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } }) as unknown as IncomingMessage;
    const form = await readForm(req, {
      onFile: () => ({
        write: async (c) => {
          received += c.length;
          maxChunk = Math.max(maxChunk, c.length);
          maxAhead = Math.max(maxAhead, produced - received);
          await new Promise((r) => setImmediate(r));
        },
        end: async () => undefined,
        abort: async () => undefined,
      }),
    });
    expect(received).toBe(size);
    expect(form!.files[0]!.bytes).toBe(size);
    expect(maxChunk).toBeLessThanOrEqual(block.length + boundary.length + 8);
    // Backpressure: the source is never read more than a few blocks ahead of the (slow) sink.
    expect(maxAhead).toBeLessThan(4 * 1024 * 1024); // vs a 48 MiB file
  });
});
