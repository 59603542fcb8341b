import type { Payload } from '@temporalio/common';

/**
 * `temporal.api.common.v1.Payload` in protobuf wire format, for the plaintext inside an encrypted
 * payload: `map<string, bytes> metadata = 1; bytes data = 2;` — the whole payload, its metadata
 * (the original encoding) included, as Temporal's own encryption samples do. Written here rather than
 * importing @temporalio/proto for two fields.
 */

const METADATA = 1;
const DATA = 2;
const LEN = 2;

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

function field(num: number, bytes: Uint8Array): Buffer[] {
  return [Buffer.from([...varint((num << 3) | LEN), ...varint(bytes.length)]), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)];
}

export function encodePayloadProto(payload: Payload): Buffer {
  if ((payload as { externalPayloads?: unknown[] }).externalPayloads?.length) {
    throw new Error('cannot encrypt a payload that refers to external storage');
  }
  const parts: Buffer[] = [];
  for (const [key, value] of Object.entries(payload.metadata ?? {})) {
    if (value === null || value === undefined) continue;
    const entry = Buffer.concat([...field(1, Buffer.from(key, 'utf8')), ...field(2, value)]);
    parts.push(...field(METADATA, entry));
  }
  if (payload.data && payload.data.length) parts.push(...field(DATA, payload.data));
  return Buffer.concat(parts);
}

class Reader {
  pos = 0;
  constructor(private readonly buf: Uint8Array) {}
  done(): boolean {
    return this.pos >= this.buf.length;
  }
  varint(): number {
    let n = 0;
    let mul = 1;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('truncated varint');
      const b = this.buf[this.pos++]!;
      n += (b & 0x7f) * mul;
      if (b < 0x80) return n;
      mul *= 0x80;
      if (mul > 2 ** 49) throw new Error('varint too long');
    }
  }
  bytes(): Uint8Array {
    const len = this.varint();
    if (this.pos + len > this.buf.length) throw new Error('truncated field');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.bytes();
    else if (wireType === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wireType}`);
    if (this.pos > this.buf.length) throw new Error('truncated field');
  }
}

export function decodePayloadProto(buf: Uint8Array): Payload {
  const r = new Reader(buf);
  const metadata: Record<string, Uint8Array> = {};
  let data: Uint8Array = new Uint8Array(0);
  while (!r.done()) {
    const tag = r.varint();
    const num = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (num === METADATA && wireType === LEN) {
      const entry = new Reader(r.bytes());
      let key = '';
      let value: Uint8Array = new Uint8Array(0);
      while (!entry.done()) {
        const t = entry.varint();
        if (t === (1 << 3) + LEN) key = Buffer.from(entry.bytes()).toString('utf8');
        else if (t === (2 << 3) + LEN) value = entry.bytes();
        else entry.skip(t % 8);
      }
      metadata[key] = Uint8Array.from(value);
    } else if (num === DATA && wireType === LEN) {
      data = Uint8Array.from(r.bytes());
    } else {
      r.skip(wireType);
    }
  }
  return { metadata, data };
}
