/**
 * The one request function every provider client uses: JSON in, zod-validated JSON out, and every
 * failure turned into a classified ProviderError (see errors.ts). No retries here: Temporal owns them.
 */
import { request, type Dispatcher, type FormData as UndiciFormData } from 'undici';
import { z } from 'zod';
import {
  APIConnectionError,
  APITimeoutError,
  PROVIDER_DISPLAY_NAMES,
  ProviderError,
  RequestValidationError,
  ResponseValidationError,
  errorFromResponse,
  type ProviderId,
} from './errors';
import { currentProviderCallObserver, outcomeOfStatus } from './observe';
import { redactText } from './redact';
import { providerCallSpan, type CallSpan } from '../telemetry/spans';

export { parseRetryAfter } from './errors';
export { redactUrl } from './redact';

export const DEFAULT_TIMEOUT_MS = 30_000;
/** JSON answers from these APIs are a few KiB; anything near this is not an answer we want. */
export const MAX_RESPONSE_BYTES = 5 * 1024 * 1024;
/** Error bodies are only read for their message. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface HttpClientOptions {
  provider: ProviderId;
  baseUrl: string;
  headers: Record<string, string>;
  dispatcher?: Dispatcher;
  timeoutMs?: number;
}

export interface HttpRequest<S extends z.ZodType> {
  method: HttpMethod;
  /** Already encoded: build it with pathSegment(). */
  path: string;
  /** The route template for errors and logs, e.g. 'GET /shots/{shot_id}/status'. */
  endpoint: string;
  /** JSON-encoded; a FormData is sent as multipart and a URLSearchParams as urlencoded, as is. */
  body?: unknown;
  /** Validates `body` before anything is sent (failure: RequestValidationError). */
  bodySchema?: z.ZodType;
  /**
   * 'json' (default): a 2xx JSON body is validated by `schema`. 'redirect': a 3xx with a Location is
   * the answer, validated by `schema` as `{ status, location }` (absolute); it is not followed.
   */
  expect?: 'json' | 'redirect';
  schema: S;
  signal?: AbortSignal;
}

/** What `expect: 'redirect'` hands to the schema. */
export interface RedirectAnswer {
  status: number;
  location: string;
}

export interface HttpClient {
  call<S extends z.ZodType>(req: HttpRequest<S>): Promise<z.output<S>>;
}

const SECRET_HEADER = /key|auth|token|secret|cookie|signature|session/i;

export function createHttpClient(opts: HttpClientOptions): HttpClient {
  const baseUrl = opts.baseUrl.replace(/\/+$/, '');
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const name = PROVIDER_DISPLAY_NAMES[opts.provider];
  const secrets = secretValues(opts.headers);
  const redact = (s: string): string => redactText(s, secrets);

  // One client span per call (a no-op with tracing off), named by the route template: never the URL.
  function call<S extends z.ZodType>(req: HttpRequest<S>): Promise<z.output<S>> {
    return providerCallSpan({ provider: opts.provider, endpoint: req.endpoint, baseUrl }, (span) => send(req, span));
  }

  async function send<S extends z.ZodType>(req: HttpRequest<S>, span: CallSpan): Promise<z.output<S>> {
    const { provider } = opts;
    const { endpoint } = req;
    if (!req.path.startsWith('/')) throw new Error(`path must start with '/': ${req.path}`);

    if (req.bodySchema) validateRequest(provider, endpoint, req.bodySchema, req.body, secrets);

    req.signal?.throwIfAborted();
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), timeoutMs);
    const signal = req.signal ? AbortSignal.any([req.signal, timeout.signal]) : timeout.signal;

    const url = `${baseUrl}${req.path}`;
    const redirect = req.expect === 'redirect';
    const observer = currentProviderCallObserver();
    const startedAt = performance.now();
    const observe = (outcome: ReturnType<typeof outcomeOfStatus> | 'network') =>
      observer?.providerCall({ provider, endpoint, outcome, seconds: (performance.now() - startedAt) / 1000 });
    let status: number | undefined;
    let headers: Record<string, string | string[] | undefined>;
    let text: string;
    try {
      const { body, contentType } = encodeBody(req.body);
      const res = await request(url, {
        method: req.method,
        headers: {
          accept: 'application/json',
          'user-agent': 'reelay',
          ...(contentType ? { 'content-type': contentType } : {}),
          ...opts.headers,
        },
        body,
        signal,
        ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
      });
      status = res.statusCode;
      span.status(status);
      headers = res.headers;
      const ok = redirect ? isRedirect(status) : status >= 200 && status < 300;
      const read = await readBounded(res.body, ok ? MAX_RESPONSE_BYTES : MAX_ERROR_BODY_BYTES, headers['content-length'], !ok);
      if (read.tooLarge) {
        throw new ResponseValidationError({
          method: req.method,
          provider,
          endpoint,
          status,
          requestId: requestIdOf(headers),
          message: `${name} ${endpoint}: response body exceeds ${MAX_RESPONSE_BYTES} bytes`,
        });
      }
      text = read.text;
      observe(outcomeOfStatus(status));
    } catch (err) {
      // A call the run's cancellation cut short is no provider outcome; one that answered is counted by its status.
      if (req.signal?.aborted) throw req.signal.reason ?? err;
      observe(status === undefined ? 'network' : outcomeOfStatus(status));
      if (err instanceof ProviderError) throw err;
      if (timeout.signal.aborted) {
        throw new APITimeoutError({
          provider,
          endpoint,
          message: `${name} timed out after ${timeoutMs} ms on ${endpoint}`,
          cause: err,
        });
      }
      throw classifyNetworkError(opts.provider, endpoint, err, redact);
    } finally {
      clearTimeout(timer);
    }

    if (redirect ? !isRedirect(status) && (status < 200 || status >= 300) : status < 200 || status >= 300) {
      throw errorFromResponse({ provider, endpoint, status, headers, body: redact(text) });
    }

    let json: unknown;
    if (redirect) {
      const location = firstHeader(headers.location);
      if (!isRedirect(status) || !location) {
        throw new ResponseValidationError({
          method: req.method,
          provider,
          endpoint,
          status,
          requestId: requestIdOf(headers),
          message: `${name} ${endpoint}: expected a redirect with a Location, got ${status}${location ? '' : ' without Location'}`,
        });
      }
      let absolute: string;
      try {
        absolute = new URL(location, url).toString();
      } catch {
        throw new ResponseValidationError({
          method: req.method,
          provider,
          endpoint,
          status,
          requestId: requestIdOf(headers),
          message: redact(`${name} ${endpoint}: redirect Location is not a URL: ${JSON.stringify(snippet(location))}`),
        });
      }
      json = { status, location: absolute } satisfies RedirectAnswer;
    } else if (text.trim() === '') {
      json = {};
    } else {
      try {
        json = JSON.parse(text);
      } catch {
        throw new ResponseValidationError({
          method: req.method,
          provider,
          endpoint,
          status,
          requestId: requestIdOf(headers),
          message: redact(`${name} ${endpoint}: response is not JSON: ${JSON.stringify(snippet(text))}`),
        });
      }
    }

    const parsed = req.schema.safeParse(json, { reportInput: true });
    if (!parsed.success) {
      throw new ResponseValidationError({
        method: req.method,
        provider,
        endpoint,
        status,
        requestId: requestIdOf(headers),
        message: redact(`${name} ${endpoint}: ${describeIssues(parsed.error.issues)}`),
        details: issueDetails(parsed.error.issues, redact),
      });
    }
    return parsed.data;
  }

  return { call };
}

/**
 * Checks a request (body, query or form parameters) against its schema before anything is sent; a
 * failure is a RequestValidationError whose message names every offending field. Returns the parsed value.
 */
export function validateRequest<S extends z.ZodType>(
  provider: ProviderId,
  endpoint: string,
  schema: S,
  value: unknown,
  secrets: readonly string[] = [],
): z.output<S> {
  const checked = schema.safeParse(value, { reportInput: true });
  if (checked.success) return checked.data;
  const redact = (s: string): string => redactText(s, secrets);
  throw new RequestValidationError({
    provider,
    endpoint,
    message: redact(`${PROVIDER_DISPLAY_NAMES[provider]} ${endpoint}: invalid request: ${describeIssues(checked.error.issues)}`),
    details: issueDetails(checked.error.issues, redact),
  });
}

/** `?a=1&b=x` from the defined entries (empty string when none); values are form-encoded. */
export function queryString(params: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.append(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** Encodes one path parameter; refuses values that would change the route. */
export function pathSegment(value: string | number): string {
  const s = String(value);
  if (s === '' || s === '.' || s === '..' || (typeof value === 'number' && !Number.isFinite(value))) {
    throw new Error(`Refusing path segment ${JSON.stringify(s)}: empty, '.', '..' or not a number`);
  }
  return encodeURIComponent(s);
}

function encodeBody(body: unknown): { body?: string | UndiciFormData; contentType?: string } {
  if (body === undefined) return {};
  // undici sets the multipart boundary itself; it accepts Node's global FormData too (duck-typed).
  // File parts (fs.openAsBlob) are streamed from disk with a computed Content-Length.
  if (isFormData(body)) return { body: body as UndiciFormData };
  if (body instanceof URLSearchParams) return { body: body.toString(), contentType: 'application/x-www-form-urlencoded' };
  return { body: JSON.stringify(body), contentType: 'application/json' };
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

function isRedirect(status: number): boolean {
  return REDIRECT_STATUSES.has(status);
}

function firstHeader(v: string | string[] | undefined): string | undefined {
  const first = Array.isArray(v) ? v[0] : v;
  return first && first.trim() !== '' ? first.trim() : undefined;
}

function isFormData(v: unknown): boolean {
  return typeof v === 'object' && v !== null && (v as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag] === 'FormData';
}

async function readBounded(
  body: Dispatcher.ResponseData['body'],
  limit: number,
  contentLength: string | string[] | undefined,
  truncate: boolean,
): Promise<{ text: string; tooLarge: boolean }> {
  const declared = Number(Array.isArray(contentLength) ? contentLength[0] : contentLength);
  if (!truncate && Number.isFinite(declared) && declared > limit) {
    body.destroy();
    return { text: '', tooLarge: true };
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    total += buf.length;
    if (total > limit) {
      body.destroy();
      if (!truncate) return { text: '', tooLarge: true };
      chunks.push(buf.subarray(0, buf.length - (total - limit)));
      break;
    }
    chunks.push(buf);
  }
  return { text: Buffer.concat(chunks).toString('utf8'), tooLarge: false };
}

const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);
const TIMED_OUT = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/** Network failures: never opened → not ambiguous; opened then lost or timed out → ambiguous. */
function classifyNetworkError(provider: ProviderId, endpoint: string, err: unknown, redact: (s: string) => string): ProviderError {
  const name = PROVIDER_DISPLAY_NAMES[provider];
  const code = errorCode(err);
  const reason = redact(errorText(err));
  if (code && TIMED_OUT.has(code)) {
    return new APITimeoutError({ provider, endpoint, message: `${name} timed out on ${endpoint} (${code})`, cause: err });
  }
  const ambiguous = !(code && NOT_CONNECTED.has(code));
  return new APIConnectionError({
    provider,
    endpoint,
    ambiguous,
    message: `${name} connection error on ${endpoint}: ${reason}`,
    cause: err,
  });
}

function errorCode(err: unknown, depth = 0): string | undefined {
  if (depth > 4 || typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown };
  const nested = [e.cause, ...(Array.isArray(e.errors) ? e.errors : [])];
  // Prefer the most specific cause: undici wraps socket errors ("other side closed") around them.
  for (const n of nested) {
    const c = errorCode(n, depth + 1);
    if (c && (NOT_CONNECTED.has(c) || TIMED_OUT.has(c))) return c;
  }
  if (typeof e.code === 'string') return e.code;
  for (const n of nested) {
    const c = errorCode(n, depth + 1);
    if (c) return c;
  }
  return undefined;
}

function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  const msg = err.message || (err instanceof AggregateError ? err.errors.map((e) => errorText(e)).join('; ') : err.name);
  return typeof code === 'string' && !msg.includes(code) ? `${msg} (${code})` : msg;
}

function requestIdOf(headers: Record<string, string | string[] | undefined>): string | undefined {
  const v = headers['x-request-id'] ?? headers['request-id'];
  return Array.isArray(v) ? v[0] : v;
}

function secretValues(headers: Record<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(headers)) {
    if (!SECRET_HEADER.test(k) || !v) continue;
    out.push(v);
    const space = v.indexOf(' ');
    if (space > 0) out.push(v.slice(space + 1)); // 'Bearer <token>'
  }
  return out;
}

function snippet(text: string): string {
  const t = text.trim();
  return t.length > 80 ? `${t.slice(0, 80)}…` : t;
}

type Issue = z.core.$ZodIssue;

/** `data.shot_status: expected one of running|finished|failed|not_started, got "weird"` */
export function describeIssues(issues: readonly Issue[]): string {
  const shown = issues.slice(0, 3).map((i) => `${formatPath(i.path)}: ${describeIssue(i)}`);
  if (issues.length > 3) shown.push(`(${issues.length - 3} more)`);
  return shown.join('; ');
}

function describeIssue(issue: Issue): string {
  const got = `got ${describeValue((issue as { input?: unknown }).input)}`;
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}, ${got}`;
    case 'invalid_value':
      return issue.values.length === 1
        ? `expected ${String(issue.values[0])}, ${got}`
        : `expected one of ${issue.values.map(String).join('|')}, ${got}`;
    case 'custom':
      return issue.message;
    default:
      return `${issue.message}, ${got}`;
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return 'response';
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return String(v);
}

function issueDetails(issues: readonly Issue[], redact: (s: string) => string): Array<{ path: string; code: string; message: string }> {
  return issues.map((i) => ({ path: formatPath(i.path), code: i.code, message: redact(describeIssue(i)) }));
}
