/**
 * One error tree for every provider, built by one factory from the HTTP status (openai-node style).
 * Classification happens here, once: activities only translate `type`, `retryable` and
 * `retryAfterMs` into a Temporal failure.
 */
import { redactText } from './redact';

export type ProviderId = 'lipdub' | 'dublab' | 'text2video' | 'vividflow' | 'aistudio';

export const PROVIDER_DISPLAY_NAMES: Record<ProviderId, string> = {
  lipdub: 'LipDub',
  dublab: 'DubLab',
  text2video: 'Text2Video',
  vividflow: 'VividFlow',
  aistudio: 'AI Studio',
};

/** Longest provider message kept on an error (HTML pages and stack dumps are cut). */
export const MAX_PROVIDER_MESSAGE_CHARS = 500;

export interface ProviderErrorInit {
  provider: ProviderId;
  endpoint: string;
  status?: number;
  providerMessage?: string;
  retryAfterMs?: number;
  requestId?: string;
  details?: unknown;
  /** Overrides the default for the class (connection errors choose it per cause). */
  ambiguous?: boolean;
  /** Overrides the generated message (already redacted by the caller). */
  message?: string;
  cause?: unknown;
}

export class ProviderError extends Error {
  readonly provider: ProviderId;
  readonly endpoint: string;
  readonly status: number | undefined;
  readonly providerMessage: string;
  readonly type: string = 'ProviderError';
  readonly retryable: boolean = false;
  readonly ambiguous: boolean;
  readonly retryAfterMs: number | undefined;
  readonly requestId: string | undefined;
  readonly details: unknown;

  constructor(init: ProviderErrorInit) {
    const providerMessage = redactText(init.providerMessage ?? '');
    super(init.message ?? defaultMessage(init.provider, init.endpoint, init.status, providerMessage), {
      cause: init.cause,
    });
    this.name = new.target.name;
    this.provider = init.provider;
    this.endpoint = init.endpoint;
    this.status = init.status;
    this.providerMessage = providerMessage;
    this.ambiguous = init.ambiguous ?? isAmbiguousStatus(init.status);
    this.retryAfterMs = init.retryAfterMs;
    this.requestId = init.requestId;
    this.details = redactDeep(init.details);
  }

  /** Plain JSON for logs and Temporal failure details: no stack, no cause, no secrets. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      type: this.type,
      message: this.message,
      provider: this.provider,
      endpoint: this.endpoint,
      status: this.status,
      providerMessage: this.providerMessage,
      retryable: this.retryable,
      ambiguous: this.ambiguous,
      retryAfterMs: this.retryAfterMs,
      requestId: this.requestId,
      details: this.details,
    };
  }
}

function defaultMessage(provider: ProviderId, endpoint: string, status: number | undefined, providerMessage: string): string {
  const head = `${PROVIDER_DISPLAY_NAMES[provider]} ${status ?? 'error'} on ${endpoint}`;
  return providerMessage ? `${head}: ${providerMessage}` : head;
}

/**
 * Whether a status leaves it open that the provider applied the request. 5xx do, except 503: "unable
 * to handle the request" (RFC 9110 §15.6.4) says it was not processed, like a 429.
 */
export function isAmbiguousStatus(status: number | undefined): boolean {
  return status !== undefined && status >= 500 && status !== 503;
}

export class BadRequestError extends ProviderError {
  override readonly type = 'BadRequest';
}
export class AuthenticationError extends ProviderError {
  override readonly type = 'Unauthorized';
}
export class InsufficientCreditsError extends ProviderError {
  override readonly type = 'PaymentRequired';
}
export class PermissionDeniedError extends ProviderError {
  override readonly type = 'Forbidden';
}
export class NotFoundError extends ProviderError {
  override readonly type = 'NotFound';
}
export class ConflictError extends ProviderError {
  override readonly type = 'Conflict';
}
export class PreconditionFailedError extends ProviderError {
  override readonly type = 'PreconditionFailed';
}
export class RateLimitError extends ProviderError {
  override readonly type = 'RateLimited';
  override readonly retryable = true;
}
export class InternalServerError extends ProviderError {
  override readonly type = 'ProviderServerError';
  override readonly retryable = true;
}
/** Any other non-2xx status (405, 410, 413, 422, 3xx …); only 408 is worth retrying. */
export class UnexpectedStatusError extends ProviderError {
  override readonly type = 'ProviderHttpError';
  override readonly retryable: boolean;
  constructor(init: ProviderErrorInit) {
    super(init);
    this.retryable = init.status === 408;
  }
}
/** No HTTP answer. `ambiguous` is false only when the connection never opened. */
export class APIConnectionError extends ProviderError {
  override readonly type = 'ProviderConnectionError';
  override readonly retryable = true;
}
export class APITimeoutError extends ProviderError {
  override readonly type = 'ProviderTimeout';
  override readonly retryable = true;
  constructor(init: ProviderErrorInit) {
    super({ ambiguous: true, ...init });
  }
}
/** Said at the end of every unusable answer, so a reader knows what happens next. */
const RETRIED_READ = ' (a read: retried, the answer may be a proxy\'s page or a passing state)';
const UNRETRIED_WRITE = ' (not retried: the provider may have applied the request; a create is reconciled, never sent blindly again)';

/**
 * A 2xx whose body we could not read, parse or validate (a truncated answer, a status value the docs
 * do not list).
 */
export class ResponseValidationError extends ProviderError {
  override readonly type = 'ProviderResponseInvalid';
  override readonly retryable: boolean;
  constructor(init: ProviderErrorInit & { method: string }) {
    // A read (GET) changed nothing and may answer well next time: retried. A write did apply, so it is
    // ambiguous, and sending it again would get the same surprise: not retried (creates reconcile instead).
    const read = init.method.toUpperCase() === 'GET';
    super({ ambiguous: !read, ...init, ...(init.message ? { message: `${init.message}${read ? RETRIED_READ : UNRETRIED_WRITE}` } : {}) });
    this.retryable = read;
  }
}
/** Our own request failed its schema before anything was sent: a caller bug, never retried. */
export class RequestValidationError extends ProviderError {
  override readonly type = 'ProviderRequestInvalid';
  constructor(init: ProviderErrorInit) {
    super({ ambiguous: false, ...init });
  }
}

/** Missing or malformed configuration (API key, base URL); names the variable, never its value. */
export class ProviderConfigError extends Error {
  readonly type = 'ProviderConfigError';
  readonly retryable = false;
  constructor(
    readonly provider: ProviderId,
    readonly variable: string,
    problem: string,
  ) {
    super(`${PROVIDER_DISPLAY_NAMES[provider]}: ${variable} ${problem}`);
    this.name = 'ProviderConfigError';
  }
}

export function isProviderError(e: unknown): e is ProviderError {
  return e instanceof ProviderError;
}

type HeaderValue = string | string[] | number | undefined;

export interface ErrorFromResponseInput {
  provider: ProviderId;
  endpoint: string;
  status: number;
  headers?: Record<string, HeaderValue>;
  /** Raw body text (JSON, HTML, empty …) or an already parsed JSON value. */
  body?: unknown;
  /** Clock for HTTP-date Retry-After values (tests). */
  now?: number;
}

/** The factory: one non-2xx answer → the right ProviderError subclass. Works on any body. */
export function errorFromResponse(input: ErrorFromResponseInput): ProviderError {
  const { status } = input;
  const parsed = typeof input.body === 'string' ? tryParseJson(input.body) : input.body;
  const providerMessage = extractProviderMessage(parsed, typeof input.body === 'string' ? input.body : undefined);
  const headers = input.headers ?? {};
  const details = bodyField(parsed, 'details') ?? bodyField(parsed, 'detail');
  const cleanMessage = redactText(providerMessage);
  const extra = detailsSuffix(details, cleanMessage);
  const init: ProviderErrorInit = {
    provider: input.provider,
    endpoint: input.endpoint,
    status,
    providerMessage,
    retryAfterMs: parseRetryAfter(headerValue(headers, 'retry-after'), bodyField(parsed, 'retry_after'), input.now),
    requestId: headerValue(headers, 'x-request-id') ?? headerValue(headers, 'request-id'),
    details,
    ...(extra ? { message: `${defaultMessage(input.provider, input.endpoint, status, cleanMessage)} ${extra}` } : {}),
  };
  switch (status) {
    case 400:
      return new BadRequestError(init);
    case 401:
      return new AuthenticationError(init);
    case 402:
      return new InsufficientCreditsError(init);
    case 403:
      return new PermissionDeniedError(init);
    case 404:
      return new NotFoundError(init);
    case 409:
      return new ConflictError(init);
    case 412:
      return new PreconditionFailedError(init);
    case 429:
      return new RateLimitError(init);
  }
  if (status >= 500) return new InternalServerError(init);
  return new UnexpectedStatusError(init);
}

/**
 * What the error's message adds from a body's `details` / `detail`, so a log line says why without
 * opening `details`: a list of strings (VividFlow's 400 `details: ["duration_seconds must be 4, 6, or 8"]`)
 * and the numbers of a credits answer (AI Studio's 402 `detail: { message, cost, availableTokens }`).
 */
function detailsSuffix(details: unknown, providerMessage: string): string | undefined {
  if (Array.isArray(details)) {
    const items = details.filter((d): d is string => typeof d === 'string' && d.trim() !== '' && d.trim() !== providerMessage);
    return items.length ? redactText(cut(`(${items.map((d) => d.trim()).join('; ')})`)) : undefined;
  }
  if (isRecord(details)) {
    const parts: string[] = [];
    for (const [key, label] of [
      ['cost', 'cost'],
      ['availableTokens', 'available'],
    ] as const) {
      const v = details[key];
      if (typeof v === 'number' || (typeof v === 'string' && v.trim() !== '')) parts.push(`${label} ${String(v).trim()}`);
    }
    return parts.length ? redactText(cut(`(tokens: ${parts.join(', ')})`)) : undefined;
  }
  return undefined;
}

/**
 * The provider's own message: the first of `error` (string), `error.message`, `message`,
 * `detail` (string), `detail.message`, `details` (string); otherwise the raw text, cut.
 */
export function extractProviderMessage(parsed: unknown, rawText?: string): string {
  if (isRecord(parsed)) {
    const { error, message, detail, details } = parsed;
    const candidates: unknown[] = [
      error,
      isRecord(error) ? error.message : undefined,
      message,
      detail,
      isRecord(detail) ? detail.message : undefined,
      details,
    ];
    for (const c of candidates) {
      if (typeof c === 'string' && c.trim() !== '') return cut(c.trim());
    }
  } else if (typeof parsed === 'string' && parsed.trim() !== '') {
    return cut(parsed.trim());
  }
  return cut(readableText((rawText ?? '').trim()));
}

/** An HTML error page (a gateway's 502) read as text: its title, or its text without markup. */
function readableText(raw: string): string {
  if (!/^\s*(<!doctype html|<html|<head|<body|<center|<h1)/i.test(raw)) return raw;
  const title = /<title[^>]*>([^<]*)<\/title>/i.exec(raw)?.[1]?.trim();
  if (title) return title;
  return raw
    .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * Retry delay in ms from a `Retry-After` header (seconds or HTTP date) or, failing that, a body
 * `retry_after` in seconds. Header wins; unusable values give undefined.
 */
export function parseRetryAfter(header: string | undefined, bodyRetryAfter?: unknown, now: number = Date.now()): number | undefined {
  if (header !== undefined && header.trim() !== '') {
    const h = header.trim();
    if (/^\d+(\.\d+)?$/.test(h)) return Math.round(Number(h) * 1000);
    const at = Date.parse(h);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  const seconds =
    typeof bodyRetryAfter === 'number'
      ? bodyRetryAfter
      : typeof bodyRetryAfter === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(bodyRetryAfter)
        ? Number(bodyRetryAfter)
        : NaN;
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  return undefined;
}

function headerValue(headers: Record<string, HeaderValue>, name: string): string | undefined {
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() !== name) continue;
    const first = Array.isArray(v) ? v[0] : v;
    return first === undefined ? undefined : String(first);
  }
  return undefined;
}

function bodyField(parsed: unknown, field: string): unknown {
  return isRecord(parsed) ? parsed[field] : undefined;
}

function tryParseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function cut(s: string): string {
  return s.length > MAX_PROVIDER_MESSAGE_CHARS ? `${s.slice(0, MAX_PROVIDER_MESSAGE_CHARS)}…` : s;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function redactDeep(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return redactText(v);
  if (depth > 8 || typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) return v.map((x) => redactDeep(x, depth + 1));
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redactDeep(x, depth + 1)]));
}
