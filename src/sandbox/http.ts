import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';

export type ServiceName = 'store' | 'lipdub' | 'dublab' | 'text2video' | 'vividflow' | 'aistudio' | 'admin';

/** `localhost`, `::1` (bracketed or not) and 127.0.0.0/8. */
export function isLoopbackHost(host: string): boolean {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/** Thrown by handlers; the service's error formatter turns it into the provider's error body. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
    readonly headers: Record<string, string> = {},
    /** A provider-specific error body; the service's formatter sends it instead of its default shape. */
    readonly body?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export interface RequestContext {
  service: ServiceName;
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  path: string;
  query: URLSearchParams;
  /** Route pattern, e.g. `/v1/shots/:shotId/status`; null when nothing matched. */
  route: string | null;
  params: Record<string, string>;
  /** The counter key this request was recorded under. */
  counterKey: string;
  startedAt: number;
}

export type Handler = (ctx: RequestContext) => Promise<void> | void;

/**
 * Every request of every service passes through the interceptor chain before its handler: the hook
 * where fault injection (5xx rates, 429 bursts, latency, resets, lost responses) plugs in.
 */
export type Interceptor = (ctx: RequestContext, next: () => Promise<void>) => Promise<void>;

export type ErrorFormatter = (ctx: RequestContext, err: HttpError) => void;

interface Route {
  method: string;
  pattern: string;
  segments: string[];
  handler: Handler;
}

export class Router {
  private readonly routes: Route[] = [];

  add(method: string, pattern: string, handler: Handler): this {
    this.routes.push({ method, pattern, segments: splitPath(pattern), handler });
    return this;
  }

  get(pattern: string, handler: Handler): this {
    return this.add('GET', pattern, handler);
  }

  post(pattern: string, handler: Handler): this {
    return this.add('POST', pattern, handler);
  }

  delete(pattern: string, handler: Handler): this {
    return this.add('DELETE', pattern, handler);
  }

  match(method: string, path: string): { route: Route; params: Record<string, string> } | null {
    const parts = splitPath(path);
    for (const route of this.routes) {
      if (route.method !== method || route.segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < parts.length; i++) {
        const seg = route.segments[i]!;
        if (seg.startsWith(':')) params[seg.slice(1)] = parts[i]!;
        else if (seg !== parts[i]) {
          ok = false;
          break;
        }
      }
      if (ok) return { route, params };
    }
    return null;
  }
}

function splitPath(path: string): string[] {
  return path.split('/').filter((s) => s.length > 0);
}

export class Counters {
  private readonly counts = new Map<string, number>();

  hit(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }

  reset(): void {
    this.counts.clear();
  }
}

export interface ServiceOptions {
  service: ServiceName;
  router: Router;
  formatError: ErrorFormatter;
  /** Custom dispatch for requests no route matched (the object store's `/o/<key>`). */
  fallback?: { counterKey: (method: string, path: string) => string | null; handler: Handler };
  counters: Counters | null;
  interceptors: Interceptor[];
  log: (line: string) => void;
}

export function createRequestListener(opts: ServiceOptions) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    void dispatch(opts, req, res);
  };
}

async function dispatch(opts: ServiceOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = (req.method ?? 'GET').toUpperCase();
  const url = new URL(req.url ?? '/', 'http://sandbox.invalid');
  const path = url.pathname;
  const matched = opts.router.match(method, path);
  let handler: Handler;
  let counterKey: string;
  let route: string | null = null;
  let params: Record<string, string> = {};
  const fallbackKey = matched ? null : opts.fallback?.counterKey(method, path) ?? null;
  if (matched) {
    route = matched.route.pattern;
    params = matched.params;
    handler = matched.route.handler;
    counterKey = `${opts.service} ${method} ${route}`;
  } else if (fallbackKey !== null && opts.fallback) {
    handler = opts.fallback.handler;
    counterKey = fallbackKey;
  } else {
    handler = () => {
      throw new HttpError(404, `No route for ${method} ${path}`, 'NotFound');
    };
    counterKey = `${opts.service} ${method} (no route)`;
  }
  const ctx: RequestContext = {
    service: opts.service,
    req,
    res,
    method,
    path,
    query: url.searchParams,
    route,
    params,
    counterKey,
    startedAt: Date.now(),
  };
  opts.counters?.hit(counterKey);
  res.on('finish', () => opts.log(`${opts.service} ${method} ${path} -> ${res.statusCode} ${Date.now() - ctx.startedAt}ms`));

  const chain = [...opts.interceptors];
  const run = async (i: number): Promise<void> => {
    const next = chain[i];
    if (next) return next(ctx, () => run(i + 1));
    await handler(ctx);
  };
  try {
    decodeParams(ctx);
    await run(0);
  } catch (err) {
    const httpErr = err instanceof HttpError ? err : new HttpError(500, `Internal sandbox error: ${String(err)}`, 'InternalError');
    if (res.headersSent) {
      res.destroy(httpErr);
      return;
    }
    for (const [k, v] of Object.entries(httpErr.headers)) res.setHeader(k, v);
    opts.formatError(ctx, httpErr);
  }
}

function decodeParams(ctx: RequestContext): void {
  for (const [k, v] of Object.entries(ctx.params)) {
    try {
      ctx.params[k] = decodeURIComponent(v);
    } catch {
      throw new HttpError(400, `Malformed path parameter ${k}`, 'BadRequest');
    }
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

const MAX_JSON_BODY_BYTES = 1024 * 1024;

/**
 * Reads a JSON body the way an Express `json()` parser does: only when the Content-Type says JSON,
 * otherwise the body counts as empty (so a client that forgets the header gets "field is required").
 */
export async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_JSON_BODY_BYTES) throw new HttpError(413, 'Request body too large', 'PayloadTooLarge');
    chunks.push(chunk);
  }
  const contentType = String(req.headers['content-type'] ?? '').toLowerCase();
  if (!/^application\/([a-z0-9.+-]+\+)?json\b/.test(contentType)) return {};
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'Malformed JSON body', 'BadRequest');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new HttpError(400, 'Request body must be a JSON object', 'BadRequest');
  }
  return parsed as Record<string, unknown>;
}

/** Drains and discards a request body (used before answering without reading it). */
export async function drain(req: IncomingMessage): Promise<void> {
  for await (const _ of req as AsyncIterable<Buffer>) void _;
}

// Field validators: each throws a 400 whose message names the field.

export function requireString(body: Record<string, unknown>, field: string): string {
  const v = body[field];
  if (v === undefined || v === null) throw new HttpError(400, `${field} is required`, 'BadRequest');
  if (typeof v !== 'string' || v.trim() === '') throw new HttpError(400, `${field} must be a non-empty string`, 'BadRequest');
  return v;
}

export function optionalBoolean(body: Record<string, unknown>, field: string): boolean | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new HttpError(400, `${field} must be a boolean`, 'BadRequest');
  return v;
}

export function requirePositiveNumber(body: Record<string, unknown>, field: string, opts: { integer?: boolean } = {}): number {
  const v = body[field];
  if (v === undefined || v === null) throw new HttpError(400, `${field} is required`, 'BadRequest');
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (opts.integer && !Number.isInteger(v))) {
    throw new HttpError(400, `${field} must be a positive ${opts.integer ? 'integer' : 'number'}`, 'BadRequest');
  }
  return v;
}

export function requireStringArray(body: Record<string, unknown>, field: string): string[] {
  const v = body[field];
  if (v === undefined || v === null) throw new HttpError(400, `${field} is required`, 'BadRequest');
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'string' && x.trim() !== '')) {
    throw new HttpError(400, `${field} must be a non-empty array of strings`, 'BadRequest');
  }
  return v as string[];
}

/** MIME type shape `type/subtype`, optionally restricted to a top-level type. */
export function requireMimeType(body: Record<string, unknown>, field: string, topLevel?: string[]): string {
  const v = requireString(body, field);
  const m = /^([a-z0-9][a-z0-9!#$&^_.+-]*)\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i.exec(v.trim());
  if (!m || (topLevel && !topLevel.includes(m[1]!.toLowerCase()))) {
    const allowed = topLevel ? ` (${topLevel.map((t) => `${t}/*`).join(' or ')})` : '';
    throw new HttpError(400, `${field} must be a MIME type${allowed}`, 'BadRequest');
  }
  return v;
}
