/**
 * Object-store faults, classified once (like provider errors in src/providers/errors.ts): what went wrong
 * in words an operator acts on, and whether trying again can help.
 */
export type StoreFault =
  | 'no-bucket'
  | 'not-found'
  | 'no-credentials'
  | 'bad-credentials'
  | 'access-denied'
  | 'unreachable'
  | 'throttled'
  | 'server'
  | 'precondition'
  /** The source ended before (or after) the length it announced. */
  | 'length'
  | 'other';

export class StoreError extends Error {
  override name = 'StoreError';
  constructor(
    message: string,
    readonly fault: StoreFault,
    readonly retryable: boolean,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

interface SdkErrorLike {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'UND_ERR_SOCKET']);

/** The S3 error code (`NoSuchBucket`, `AccessDenied` …) or the network error code of an SDK failure. */
export function storeErrorCode(err: unknown): string | undefined {
  const e = err as SdkErrorLike | undefined;
  if (!e || typeof e !== 'object') return undefined;
  return e.Code ?? (e.name && e.name !== 'Error' && e.name !== 'UnknownError' && e.name !== 'S3ServiceException' ? e.name : undefined) ?? e.code;
}

/**
 * A StoreError for an SDK failure on `what` (an action and an s3:// URI, e.g. "writing s3://b/k").
 * `endpoint` names the service in the message (REELAY_S3_ENDPOINT, or AWS S3).
 */
export function classifyStoreError(err: unknown, what: string, endpoint: string | undefined): StoreError {
  if (err instanceof StoreError) return err;
  const e = (err ?? {}) as SdkErrorLike;
  const status = e.$metadata?.httpStatusCode;
  const code = storeErrorCode(err) ?? '';
  const where = endpoint ?? 'AWS S3';
  const detail = e.message && e.message !== 'UnknownError' ? `: ${e.message}` : '';
  const make = (fault: StoreFault, retryable: boolean, message: string) => new StoreError(message, fault, retryable, status, { cause: err });
  if (e.name === 'CredentialsProviderError' || /Could not load credentials/i.test(e.message ?? '')) {
    return make('no-credentials', false, `${what}: no store credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE; the AWS SDK's default chain found none)`);
  }
  if (code === 'NoSuchBucket') return make('no-bucket', false, `${what}: the bucket does not exist at ${where}`);
  if (code === 'NoSuchKey' || code === 'NotFound' || status === 404) {
    // HeadBucket and HeadObject have no body: a 404 on either reads "NotFound".
    return make('not-found', false, `${what}: no such object at ${where}`);
  }
  if (code === 'NoSuchUpload') return make('not-found', false, `${what}: the multipart upload no longer exists`);
  if (['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidToken', 'ExpiredToken', 'AuthorizationHeaderMalformed'].includes(code)) {
    return make('bad-credentials', false, `${what}: ${where} refused the credentials (${code}); check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE`);
  }
  if (code === 'AccessDenied' || code === 'Forbidden' || status === 403) {
    return make('access-denied', false, `${what}: access denied by ${where}${detail}`);
  }
  if (code === 'PreconditionFailed' || status === 412) return make('precondition', false, `${what}: the object changed while it was read${detail}`);
  if (code === 'SlowDown' || code === 'Throttling' || status === 429 || status === 503) {
    return make('throttled', true, `${what}: ${where} asks to slow down (${code || status})`);
  }
  if (status !== undefined && status >= 500) return make('server', true, `${what}: ${where} answered HTTP ${status}${detail}`);
  // The SDK wraps a socket error ("AWS SDK error wrapper for Error: connect ECONNREFUSED …").
  const netCode = [e.code, code].find((c) => c && NETWORK_CODES.has(c)) ?? /\b(E[A-Z]{3,}|UND_ERR_[A-Z_]+)\b/.exec(e.message ?? '')?.[1];
  if (netCode || e.name === 'TimeoutError' || /socket hang up|timed? ?out/i.test(e.message ?? '')) {
    const cause = (e.message ?? '').replace(/^AWS SDK error wrapper for \w*Error: /, '');
    return make('unreachable', true, `${what}: cannot reach ${where} (${netCode ?? e.name}${cause ? `: ${cause}` : ''})`);
  }
  return make('other', status === undefined || status >= 500, `${what}: ${code || e.name || 'error'}${detail}`);
}
