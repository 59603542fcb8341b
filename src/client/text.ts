import fs from 'node:fs';

/**
 * Text files a caller hands to the edge (an --input JSON, a --text-file story, a batch manifest) are
 * UTF-8. Node's default decoding turns a Latin-1 "é" into U+FFFD without a word, and the provider then
 * gets text nobody wrote; here a stray byte is an error naming its line, and a leading BOM is dropped.
 */

export class TextFileError extends Error {
  override name = 'TextFileError';
  constructor(
    message: string,
    /** The 1-based line of the problem, when it is in the content. */
    readonly line?: number,
  ) {
    super(message);
  }
}

const BOM = '\uFEFF';

/** Decode UTF-8 strictly; the error names the line and byte offset of the first invalid sequence. */
export function decodeUtf8(bytes: Buffer): string {
  try {
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    return text.startsWith(BOM) ? text.slice(1) : text;
  } catch {
    const [first] = invalidUtf8Lines(bytes);
    throw new TextFileError(first ? `line ${first.line}: ${first.problem}` : 'not UTF-8 text', first?.line ?? 1);
  }
}

/** Read `file` as strict UTF-8; unreadable files fail with the errno code (ENOENT, EISDIR, EACCES …). */
export function readUtf8File(file: string): string {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new TextFileError(`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return decodeUtf8(bytes);
}

/** Every line holding bytes that are not UTF-8, with the first bad byte of each (empty for valid UTF-8). */
export function invalidUtf8Lines(bytes: Buffer): Array<{ line: number; problem: string }> {
  const out: Array<{ line: number; problem: string }> = [];
  let start = 0;
  for (let line = 1; start <= bytes.length; line++) {
    const nl = bytes.indexOf(0x0a, start);
    const end = nl === -1 ? bytes.length : nl;
    const chunk = bytes.subarray(start, end);
    const at = firstInvalidUtf8(chunk);
    if (at < chunk.length) out.push({ line, problem: `not UTF-8 text (invalid byte 0x${chunk[at]!.toString(16).padStart(2, '0')} at column ${at + 1})` });
    if (nl === -1) break;
    start = nl + 1;
  }
  return out;
}

/** `cannot read FILE (ENOENT)` or `FILE: line 3: not UTF-8 text (…)`, for a message that names the flag first. */
export function textFileProblem(file: string, err: unknown): string {
  if (err instanceof TextFileError && err.line !== undefined) return `${file}: ${err.message}`;
  if (err instanceof Error) return err.message;
  throw err;
}

/** Byte offset of the first byte that does not start or continue a valid UTF-8 sequence (`b.length` when none). */
function firstInvalidUtf8(b: Buffer): number {
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    const need = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (need < 0) return i;
    for (let k = 1; k <= need; k++) {
      const n = b[i + k];
      if (n === undefined || (n & 0xc0) !== 0x80) return i;
    }
    // Overlong three/four-byte forms, surrogates and code points above U+10FFFF.
    const c1 = b[i + 1] ?? 0;
    if ((c === 0xe0 && c1 < 0xa0) || (c === 0xed && c1 > 0x9f) || (c === 0xf0 && c1 < 0x90) || (c === 0xf4 && c1 > 0x8f)) return i;
    i += need + 1;
  }
  return b.length;
}
