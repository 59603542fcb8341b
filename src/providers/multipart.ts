/**
 * File parts for multipart requests (VividFlow `image`, AI Studio `initialImage` …): a local path is
 * opened as a lazy Blob and streamed from disk when the request is sent — never read into memory. Other
 * references (an `s3://` object) are opened by the FileOpener the caller passes.
 */
import { promises as fsp, openAsBlob } from 'node:fs';
import * as path from 'node:path';
import { RequestValidationError, PROVIDER_DISPLAY_NAMES, type ProviderId } from './errors';

const IMAGE_TYPES: Record<string, string> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.bmp': 'image/bmp',
  '.heic': 'image/heic',
  '.avif': 'image/avif',
};

export interface FilePart {
  blob: Blob;
  fileName: string;
}

/**
 * Opens a file reference that is not a local path (an `s3://` object), or answers undefined for one it
 * does not handle. The activities pass one in: provider clients know nothing of the object store.
 */
export type FileOpener = (ref: string) => Promise<FilePart | undefined>;

/**
 * Opens `filePath` for a multipart field; a path that is not a readable regular file is a
 * RequestValidationError naming the field (nothing has been sent).
 */
export async function openFilePart(provider: ProviderId, endpoint: string, field: string, filePath: string, open?: FileOpener): Promise<FilePart> {
  const fail = (problem: string, cause?: unknown): RequestValidationError =>
    new RequestValidationError({
      provider,
      endpoint,
      message: `${PROVIDER_DISPLAY_NAMES[provider]} ${endpoint}: invalid request: ${field}: ${problem}`,
      details: [{ path: field, code: 'file', message: problem }],
      cause,
    });
  if (open) {
    let part: FilePart | undefined;
    try {
      part = await open(filePath);
    } catch (err) {
      // A passing fault of the store (it says so) is retried as itself; the rest is this field's problem.
      if ((err as { retryable?: unknown }).retryable === true) throw err;
      throw fail((err as Error).message, err);
    }
    if (part) return part;
  }
  let stat;
  try {
    stat = await fsp.stat(filePath);
  } catch (err) {
    throw fail(`cannot open ${JSON.stringify(filePath)} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, err);
  }
  if (!stat.isFile()) throw fail(`${JSON.stringify(filePath)} is not a regular file`);
  const type = IMAGE_TYPES[path.extname(filePath).toLowerCase()] ?? 'application/octet-stream';
  try {
    return { blob: await openAsBlob(filePath, { type }), fileName: path.basename(filePath) };
  } catch (err) {
    throw fail(`cannot open ${JSON.stringify(filePath)} (${(err as Error).message})`, err);
  }
}
