import { request, type Dispatcher } from 'undici';
import { APIConnectionError, errorFromResponse, type ProviderError, type ProviderId } from './errors';
import { redactUrl } from './redact';

/**
 * A provider's signed download URL, fetched and classified the same way wherever its body goes (a local
 * file: src/activities/transfer.ts; the object store: src/storage/download.ts). The URL's query is a
 * credential: no message here carries it.
 */

const ENDPOINT = 'GET signed download URL';

export interface SignedDownload {
  url: string;
  provider: ProviderId;
}

/** GET the URL: its response whatever the status; a network failure is a retryable APIConnectionError (an abort is rethrown). */
export async function requestSignedDownload(
  download: SignedDownload,
  opts: { signal?: AbortSignal; dispatcher?: Dispatcher; highWaterMark: number; headers?: Record<string, string> },
): Promise<Dispatcher.ResponseData> {
  try {
    return await request(download.url, { method: 'GET', signal: opts.signal, dispatcher: opts.dispatcher, highWaterMark: opts.highWaterMark, ...(opts.headers ? { headers: opts.headers } : {}) });
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    throw signedDownloadFault(download, `download from ${redactUrl(download.url)} failed: ${(err as Error).message}`, err);
  }
}

/** A non-2xx answer as the provider's error, classified like any of its answers (403 of an expired URL, 5xx, 429 …). */
export async function signedDownloadRefused(download: SignedDownload, res: Dispatcher.ResponseData): Promise<ProviderError> {
  const body = await res.body.text();
  return errorFromResponse({ provider: download.provider, endpoint: ENDPOINT, status: res.statusCode, headers: res.headers, body });
}

/** A body that broke off or had the wrong length: the provider's fault, retryable, never ambiguous (a GET creates nothing). */
export function signedDownloadFault(download: SignedDownload, message: string, cause?: unknown): APIConnectionError {
  return new APIConnectionError({ provider: download.provider, endpoint: ENDPOINT, message, ambiguous: false, ...(cause !== undefined ? { cause } : {}) });
}
