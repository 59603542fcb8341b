/**
 * Fault injection for the sandbox. A profile (validated with zod) is a list of rules, each matching
 * requests by service, method, route pattern or counter key and naming the faults to inject there.
 * One interceptor at the head of every service's chain applies the request-level faults; the
 * providers and the object store call small hooks for the rest (job failures, signed URL expiry,
 * slow uploads) and record every billable create in a ledger, whether or not its answer got out.
 *
 * Decisions are reproducible: the n-th request to an endpoint gets the same dice for a given seed,
 * whatever other endpoints are doing at the same time (a counter-based RNG, see `uniform`).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { STATUS_CODES, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { Transform, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { z } from 'zod';
import { HttpError, drain, type Interceptor, type RequestContext, type ServiceName } from './http';

export const FAULT_KINDS = [
  'latencyMs',
  'rateLimit',
  'reset',
  'serverError',
  'htmlError',
  'lostResponse',
  'holdAnswerMs',
  'malformedJson',
  'unknownStatus',
  'jobFails',
  'expiredSignedUrls',
  'slowUpload',
  'slowDownload',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const FAULT_SERVICES = ['store', 'lipdub', 'dublab', 'text2video', 'vividflow', 'aistudio'] as const;
export type FaultService = (typeof FAULT_SERVICES)[number];

// Schema. Every rate is a probability 0–1; `"kind": 0.2` is short for `"kind": { "rate": 0.2 }`.

const Rate = z.number().min(0).max(1);
const rateShorthand = (v: unknown) => (typeof v === 'number' ? { rate: v } : v);
/** `first: n` limits a request fault to the first n requests to the endpoint since the profile was set. */
const withRate = <T extends z.ZodRawShape>(shape: T) =>
  z.preprocess(rateShorthand, z.strictObject({ rate: Rate, first: z.int().min(1).optional(), ...shape }));

const LatencyFault = z.preprocess(
  (v) => (typeof v === 'number' ? { min: v, max: v } : v),
  z
    .strictObject({ min: z.number().min(0), max: z.number().min(0), rate: Rate.default(1) })
    .refine((v) => v.max >= v.min, { message: 'max must be at least min', path: ['max'] }),
);

export const FaultSettingsSchema = z.strictObject({
  /** Added before anything else: a fixed delay (`50`) or a uniform one in `{ min, max }`. */
  latencyMs: LatencyFault.optional(),
  /** 429 bursts: once hit, `burst` consecutive requests to the endpoint are refused (this one included). */
  rateLimit: withRate({ burst: z.int().min(1).default(3), retryAfterSeconds: z.number().min(0).default(1) }).optional(),
  /** The connection is destroyed before the request is processed. */
  reset: withRate({}).optional(),
  /** A 5xx in the provider's error format; the request is not processed. */
  serverError: withRate({ statuses: z.array(z.int().min(500).max(599)).min(1).default([500, 502, 503]) }).optional(),
  /** A 502 HTML page from a "gateway"; the request is not processed. */
  htmlError: withRate({}).optional(),
  /** The request is processed (job created, billed), then the connection is destroyed before any answer byte. */
  lostResponse: withRate({}).optional(),
  /**
   * The request is processed at once (job created, billed, in the ledger), then its answer is held back
   * `ms` before it is sent (`"holdAnswerMs": 3000` is short for that): a create the client is still
   * waiting on, e.g. while the run that made it is cancelled. A client gone by then gets nothing.
   */
  holdAnswerMs: z
    .preprocess(
      (v) => (typeof v === 'number' ? { ms: v } : v),
      z.strictObject({ ms: z.number().min(0), rate: Rate.default(1), first: z.int().min(1).optional() }),
    )
    .optional(),
  /** The request is processed, then its 2xx JSON answer is cut in half. */
  malformedJson: withRate({}).optional(),
  /** A status endpoint's status field carries a value the docs do not list (`value` overrides the default). */
  unknownStatus: withRate({ value: z.union([z.string().min(1), z.number()]).optional() }).optional(),
  /** Jobs created here fail at the provider, with the provider's own reason. */
  jobFails: withRate({}).optional(),
  /** Signed URLs issued while answering here get `ttlSeconds` (negative: already expired). */
  expiredSignedUrls: withRate({ ttlSeconds: z.int().min(-86_400).max(86_400).default(-60) }).optional(),
  /** The store reads a PUT body at most `bytesPerSecond` (`"slowUpload": 65536` is short for that). */
  slowUpload: z
    .preprocess((v) => (typeof v === 'number' ? { bytesPerSecond: v } : v), z.strictObject({ bytesPerSecond: z.number().positive(), rate: Rate.default(1) }))
    .optional(),
  /** The store sends a GET body at most `bytesPerSecond` (`"slowDownload": 65536` is short for that): a long download. */
  slowDownload: z
    .preprocess((v) => (typeof v === 'number' ? { bytesPerSecond: v } : v), z.strictObject({ bytesPerSecond: z.number().positive(), rate: Rate.default(1) }))
    .optional(),
});
export type FaultSettings = z.output<typeof FaultSettingsSchema>;

const Pattern = z.string().min(1);

export const FaultRuleSchema = z.strictObject({
  /** A service name or `*`; absent matches every service. */
  service: z.enum([...FAULT_SERVICES, '*']).optional(),
  /** `GET`, `POST`, `PUT`, `DELETE` or `*` (case-insensitive). */
  method: z
    .string()
    .transform((m) => m.toUpperCase())
    .pipe(z.enum(['GET', 'POST', 'PUT', 'DELETE', '*']))
    .optional(),
  /** A route pattern as the counters show it (`/v1/shots/:shotId/generate`); `*` matches any run of characters. */
  route: Pattern.optional(),
  /** A whole counter key (`lipdub POST /v1/video`, `store PUT`); `*` matches any run of characters. */
  key: Pattern.optional(),
  faults: FaultSettingsSchema,
});
export type FaultRule = z.output<typeof FaultRuleSchema>;

export const FaultProfileSchema = z.strictObject({
  seed: z.int().default(1),
  /**
   * Every matching rule contributes; for each fault kind the most specific rule wins (key > route >
   * method > service; among equals, the later one). `{ "serverError": 0 }` on an endpoint turns off a
   * wildcard's serverError there.
   */
  rules: z.array(FaultRuleSchema).default([]),
});
/** The profile as validated (defaults filled in). */
export type FaultProfile = z.output<typeof FaultProfileSchema>;
/** What a caller may write: shorthands allowed, defaults optional. */
export type FaultProfileInput = z.input<typeof FaultProfileSchema>;

export class FaultProfileError extends Error {
  override name = 'FaultProfileError';
}

/** Validates a profile; a bad one throws a FaultProfileError naming each bad field (`faults.rules[0].faults.serverError.rate: …`). */
export function parseFaultProfile(input: unknown): FaultProfile {
  const parsed = FaultProfileSchema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${formatPath(['faults', ...i.path])}: ${i.message}`);
  throw new FaultProfileError(`invalid fault profile: ${issues.join('; ')}`);
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out;
}

// Accounting and the ledger.

export type FaultCounts = Partial<Record<FaultKind, number>>;

export interface FaultStats {
  total: FaultCounts;
  /** Per counter key (`lipdub POST /v1/video`, `store PUT` …). */
  byEndpoint: Record<string, FaultCounts>;
}

export interface LedgerEntry {
  provider: Exclude<ServiceName, 'store' | 'admin'>;
  /** `POST /v1/video`: method and route pattern. */
  endpoint: string;
  /** The id the provider gave the created thing (video_id, audio_id, generate id, fileId, projectId, job id). */
  id: string;
  /** The content a client can reconcile by (scene_name, file_name, output_filename, name, fileId, prompt, text). */
  key: string;
  /** LipDub generate: the shot the output_filename is unique within. */
  shotId?: string;
  /** ISO time the create was performed. */
  at: string;
}

/** What the simulated providers call. */
export interface ProviderFaultHooks {
  /** Rolled once per job on its create endpoint: true dooms the job to fail with the provider's own reason. */
  jobFails(ctx: RequestContext): boolean;
  /** Records a billable create, before its answer is sent (so a lost answer still counts). */
  created(ctx: RequestContext, entry: { id: string; key: string; shotId?: string }): void;
}

/** What the object store calls. */
export interface StoreFaultHooks {
  /** The TTL to sign with, given the one asked for (the request being answered decides). */
  signedUrlTtl(ttlSeconds: number): number;
  /** A bytes-per-second cap for this PUT, or null. */
  uploadBytesPerSecond(ctx: RequestContext): number | null;
  /** A bytes-per-second cap for this GET's body, or null. */
  downloadBytesPerSecond(ctx: RequestContext): number | null;
}

export interface FaultEngine {
  /** Put first in every service's chain. */
  interceptor: Interceptor;
  provider: ProviderFaultHooks;
  store: StoreFaultHooks;
  /** Validates and installs a profile; resets the dice, bursts and stats (not the ledger). */
  set(input: unknown): FaultProfile;
  profile(): FaultProfile;
  stats(): FaultStats;
  ledger(): LedgerEntry[];
}

// What `unknownStatus` rewrites: per status endpoint, the paths of its status field (`*`: every array item).

const UNKNOWN_STATUS: Record<string, { paths: string[][]; value: string | number }> = {
  'lipdub GET /v1/video/status/:videoId': { paths: [['data', 'shot_status']], value: 'on_hold' },
  'lipdub GET /v1/audio/status/:audioId': { paths: [['data', 'upload_status']], value: 'on_hold' },
  'lipdub GET /v1/shots/:shotId/status': { paths: [['data', 'shot_status']], value: 'on_hold' },
  'lipdub GET /v1/shots/:shotId/generate/:generateId': { paths: [['data', 'status']], value: 'on_hold' },
  'dublab GET /api/v1/dubs': { paths: [['dubs', '*', 'externalStatusId']], value: 6 },
  'dublab GET /api/v1/dubs/:fileId/outputs': { paths: [['externalStatusId']], value: 6 },
  'dublab GET /api/v1/projects/:projectId/outputs': { paths: [['files', '*', 'externalStatusId']], value: 6 },
  'text2video GET /api/v1/status/:jobId': { paths: [['status']], value: 'paused' },
  'vividflow GET /api/v1/status/:jobId': { paths: [['status']], value: 'paused' },
  'aistudio GET /api/v1/video-jobs/:jobId': { paths: [['status']], value: 'PAUSED' },
};

/** Endpoints whose answers are streamed bytes, never JSON: not captured for malformedJson. */
const BINARY_ENDPOINTS = new Set(['text2video GET /api/v1/download/:jobId']);

/** The page nginx serves in front of an upstream that failed (502) or is overloaded (503). */
const gatewayPage = (status: 502 | 503): string => {
  const title = `${status} ${STATUS_CODES[status]}`;
  return ['<html>', `<head><title>${title}</title></head>`, '<body>', `<center><h1>${title}</h1></center>`, '<hr><center>nginx</center>', '</body>', '</html>', ''].join('\r\n');
};
const HTML_502 = gatewayPage(502);

function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'content-length': String(Buffer.byteLength(html)) });
  res.end(html);
}

const MAX_SEQUENCE_KEYS = 10_000;

export interface FaultEngineOptions {
  /** Whether an injected 502/503 from a provider (not the object store) is a gateway's HTML page rather than the provider's JSON error (the docs-minimal profile). */
  htmlGatewayErrors?: () => boolean;
}

export function createFaultEngine(initial: unknown = {}, log: (line: string) => void = () => undefined, options: FaultEngineOptions = {}): FaultEngine {
  let profile = parseFaultProfile(initial);
  const als = new AsyncLocalStorage<RequestContext>();
  /** Requests seen per counter key since the profile was set: the `n` of the dice. */
  let requestSeq = new Map<string, number>();
  /** Hook rolls per `kind counterKey`. */
  let hookSeq = new Map<string, number>();
  /** 429s still to give per counter key. */
  let bursts = new Map<string, number>();
  let resolved = new Map<string, Partial<FaultSettings>>();
  let byEndpoint = new Map<string, FaultCounts>();
  const ledger: LedgerEntry[] = [];

  function count(ctx: RequestContext, kind: FaultKind): void {
    const counts = byEndpoint.get(ctx.counterKey) ?? {};
    counts[kind] = (counts[kind] ?? 0) + 1;
    byEndpoint.set(ctx.counterKey, counts);
    log(`fault ${kind} on ${ctx.counterKey} (${ctx.method} ${ctx.path})`);
  }

  function settingsFor(ctx: RequestContext): Partial<FaultSettings> {
    let s = resolved.get(ctx.counterKey);
    if (!s) {
      s = resolve(profile.rules, ctx);
      if (resolved.size < MAX_SEQUENCE_KEYS) resolved.set(ctx.counterKey, s);
    }
    return s;
  }

  /** The dice for (kind, this endpoint, n): uniform in [0, 1). */
  const dice = (ctx: RequestContext, kind: string, n: number) => uniform(profile.seed, kind, ctx.counterKey, n);

  function next(map: Map<string, number>, key: string): number {
    const n = map.get(key) ?? 0;
    if (map.size < MAX_SEQUENCE_KEYS || map.has(key)) map.set(key, n + 1);
    return n;
  }

  /** A hook's roll: the hook's own sequence per endpoint (one request may sign several URLs). */
  function rollHook(ctx: RequestContext, kind: FaultKind, rate: number): boolean {
    if (!(rate > 0)) return false;
    const n = next(hookSeq, `${kind} ${ctx.counterKey}`);
    return dice(ctx, kind, n) < rate;
  }

  async function apply(ctx: RequestContext, proceed: () => Promise<void>): Promise<void> {
    const f = settingsFor(ctx);
    if (Object.keys(f).length === 0) return proceed();
    const key = ctx.counterKey;
    const n = next(requestSeq, key);
    const hit = (kind: FaultKind, setting: { rate: number; first?: number }) =>
      setting.rate > 0 && (setting.first === undefined || n < setting.first) && dice(ctx, kind, n) < setting.rate;

    if (f.latencyMs && hit('latencyMs', f.latencyMs)) {
      const { min, max } = f.latencyMs;
      count(ctx, 'latencyMs');
      await sleep(min + (max - min) * dice(ctx, 'latencyMs.amount', n));
    }

    if (f.rateLimit) {
      const left = bursts.get(key) ?? 0;
      if (left > 0 || hit('rateLimit', f.rateLimit)) {
        bursts.set(key, left > 0 ? left - 1 : f.rateLimit.burst - 1);
        count(ctx, 'rateLimit');
        await drain(ctx.req);
        throw rateLimited(ctx.service, f.rateLimit.retryAfterSeconds);
      }
    }

    if (f.reset && hit('reset', f.reset)) {
      count(ctx, 'reset');
      destroyConnection(ctx);
      return;
    }

    if (f.serverError && hit('serverError', f.serverError)) {
      const statuses = f.serverError.statuses;
      const status = statuses[Math.floor(dice(ctx, 'serverError.status', n) * statuses.length)]!;
      count(ctx, 'serverError');
      await drain(ctx.req);
      if ((status === 502 || status === 503) && ctx.service !== 'store' && options.htmlGatewayErrors?.()) {
        sendHtml(ctx.res, status, gatewayPage(status));
        return;
      }
      throw new HttpError(status, STATUS_CODES[status] ?? 'Server Error', status === 503 ? 'ServiceUnavailable' : 'InternalError');
    }

    if (f.htmlError && hit('htmlError', f.htmlError)) {
      count(ctx, 'htmlError');
      await drain(ctx.req);
      sendHtml(ctx.res, 502, HTML_502);
      return;
    }

    if (f.lostResponse && hit('lostResponse', f.lostResponse)) {
      count(ctx, 'lostResponse');
      try {
        await captured(ctx, proceed, false);
      } catch {
        // The handler's answer (an error this time) is lost all the same.
      }
      destroyConnection(ctx);
      return;
    }

    if (f.holdAnswerMs && hit('holdAnswerMs', f.holdAnswerMs)) {
      count(ctx, 'holdAnswerMs');
      let answer: CapturedAnswer;
      try {
        answer = await captured(ctx, proceed, true);
      } catch (err) {
        await sleep(f.holdAnswerMs.ms);
        throw err;
      }
      await sleep(f.holdAnswerMs.ms);
      if (ctx.res.destroyed || ctx.res.writableEnded) return;
      ctx.res.writeHead(answer.status, { ...answer.headers, 'content-length': String(answer.body.length) });
      ctx.res.end(answer.body);
      return;
    }

    const jsonAnswer = ctx.service !== 'store' && !BINARY_ENDPOINTS.has(key);
    const unknown = UNKNOWN_STATUS[key];
    const rewrite: 'malformedJson' | 'unknownStatus' | null =
      jsonAnswer && f.malformedJson && hit('malformedJson', f.malformedJson)
        ? 'malformedJson'
        : unknown && f.unknownStatus && hit('unknownStatus', f.unknownStatus)
          ? 'unknownStatus'
          : null;
    if (rewrite === null) return proceed();

    const answer = await captured(ctx, proceed, true);
    let body = answer.body;
    const isJson = /\bjson\b/i.test(String(answer.headers['content-type'] ?? ''));
    if (answer.status >= 200 && answer.status < 300 && isJson) {
      if (rewrite === 'malformedJson') {
        const text = body.toString('utf8');
        body = Buffer.from(text.slice(0, Math.max(1, Math.floor(text.length / 2))), 'utf8');
        count(ctx, 'malformedJson');
      } else {
        const json: unknown = JSON.parse(body.toString('utf8'));
        const value = f.unknownStatus?.value ?? unknown!.value;
        const changed = unknown!.paths.reduce((sum, p) => sum + setPath(json, p, value), 0);
        if (changed > 0) {
          body = Buffer.from(JSON.stringify(json), 'utf8');
          count(ctx, 'unknownStatus');
        }
      }
    }
    ctx.res.writeHead(answer.status, { ...answer.headers, 'content-length': String(body.length) });
    ctx.res.end(body);
  }

  const engine: FaultEngine = {
    interceptor: (ctx, proceed) => als.run(ctx, () => apply(ctx, proceed)),
    provider: {
      jobFails: (ctx) => {
        const rate = settingsFor(ctx).jobFails?.rate ?? 0;
        const doomed = rollHook(ctx, 'jobFails', rate);
        if (doomed) count(ctx, 'jobFails');
        return doomed;
      },
      created: (ctx, entry) => {
        ledger.push({
          provider: ctx.service as LedgerEntry['provider'],
          endpoint: `${ctx.method} ${ctx.route ?? ctx.path}`,
          id: entry.id,
          key: entry.key,
          ...(entry.shotId !== undefined ? { shotId: entry.shotId } : {}),
          at: new Date().toISOString(),
        });
      },
    },
    store: {
      signedUrlTtl: (ttlSeconds) => {
        const ctx = als.getStore();
        if (!ctx) return ttlSeconds;
        const f = settingsFor(ctx).expiredSignedUrls;
        if (!f || !rollHook(ctx, 'expiredSignedUrls', f.rate)) return ttlSeconds;
        count(ctx, 'expiredSignedUrls');
        return f.ttlSeconds;
      },
      uploadBytesPerSecond: (ctx) => {
        const f = settingsFor(ctx).slowUpload;
        if (!f || !rollHook(ctx, 'slowUpload', f.rate)) return null;
        count(ctx, 'slowUpload');
        return f.bytesPerSecond;
      },
      downloadBytesPerSecond: (ctx) => {
        const f = settingsFor(ctx).slowDownload;
        if (!f || !rollHook(ctx, 'slowDownload', f.rate)) return null;
        count(ctx, 'slowDownload');
        return f.bytesPerSecond;
      },
    },
    set: (input) => {
      profile = parseFaultProfile(input);
      requestSeq = new Map();
      hookSeq = new Map();
      bursts = new Map();
      resolved = new Map();
      byEndpoint = new Map();
      return structuredClone(profile);
    },
    profile: () => structuredClone(profile),
    stats: () => {
      const total: FaultCounts = {};
      const perKey: Record<string, FaultCounts> = {};
      for (const [k, counts] of [...byEndpoint.entries()].sort(([a], [b]) => a.localeCompare(b))) {
        perKey[k] = { ...counts };
        for (const [kind, c] of Object.entries(counts) as Array<[FaultKind, number]>) total[kind] = (total[kind] ?? 0) + c;
      }
      return { total, byEndpoint: perKey };
    },
    ledger: () => ledger.map((e) => ({ ...e })),
  };
  return engine;
}

/** The merged settings for a request: per kind, the most specific matching rule wins. */
function resolve(rules: FaultRule[], ctx: RequestContext): Partial<FaultSettings> {
  const matching = rules
    .map((rule, index) => ({ rule, index, weight: specificity(rule) }))
    .filter(({ rule }) => matches(rule, ctx))
    .sort((a, b) => a.weight - b.weight || a.index - b.index);
  const merged: Record<string, unknown> = {};
  for (const { rule } of matching) {
    for (const [kind, setting] of Object.entries(rule.faults)) if (setting !== undefined) merged[kind] = setting;
  }
  return merged as Partial<FaultSettings>;
}

function specificity(rule: FaultRule): number {
  const set = (v: string | undefined) => v !== undefined && v !== '*';
  return (set(rule.key) ? 8 : 0) + (set(rule.route) ? 4 : 0) + (set(rule.method) ? 2 : 0) + (set(rule.service) ? 1 : 0);
}

function matches(rule: FaultRule, ctx: RequestContext): boolean {
  if (rule.service !== undefined && rule.service !== '*' && rule.service !== ctx.service) return false;
  if (rule.method !== undefined && rule.method !== '*' && rule.method !== ctx.method) return false;
  if (rule.route !== undefined && !glob(rule.route, ctx.route)) return false;
  if (rule.key !== undefined && !glob(rule.key, ctx.counterKey)) return false;
  return true;
}

function glob(pattern: string, value: string | null): boolean {
  if (pattern === '*') return true;
  if (value === null) return false;
  if (!pattern.includes('*')) return pattern === value;
  const re = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`);
  return re.test(value);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

/** A counter-based RNG: a hash of (seed, kind, endpoint, n) read as a number in [0, 1). */
export function uniform(seed: number, kind: string, key: string, n: number): number {
  const digest = createHash('sha256').update(`${seed}\0${kind}\0${key}\0${n}`).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

/** A 429 in the provider's own shape: Vivid Flow's documented body `retry_after`, elsewhere a Retry-After header. */
function rateLimited(service: ServiceName, retryAfterSeconds: number): HttpError {
  const seconds = Math.max(0, Math.ceil(retryAfterSeconds));
  if (service === 'vividflow') {
    return new HttpError(429, 'Rate limit exceeded', 'TooManyRequests', {}, { error: 'Rate limit exceeded', details: '429 Too Many Requests', retry_after: seconds });
  }
  const message = service === 'store' ? 'Please reduce your request rate.' : 'Too many requests';
  return new HttpError(429, message, service === 'store' ? 'SlowDown' : 'TooManyRequests', { 'retry-after': String(seconds) });
}

function destroyConnection(ctx: RequestContext): void {
  const noop = () => undefined;
  ctx.req.on('error', noop);
  ctx.res.on('error', noop);
  ctx.req.socket.destroy();
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function setPath(target: unknown, path: string[], value: unknown): number {
  if (target === null || typeof target !== 'object') return 0;
  const [head, ...rest] = path;
  if (head === undefined) return 0;
  if (head === '*') {
    if (!Array.isArray(target)) return 0;
    return target.reduce((sum: number, item: unknown) => sum + setPath(item, rest, value), 0);
  }
  const obj = target as Record<string, unknown>;
  if (!(head in obj)) return 0;
  if (rest.length === 0) {
    obj[head] = value;
    return 1;
  }
  return setPath(obj[head], rest, value);
}

interface CapturedAnswer {
  status: number;
  headers: OutgoingHttpHeaders;
  body: Buffer;
}

/**
 * Runs the rest of the chain with `ctx.res` swapped for a stand-in that keeps (or drops) what the
 * handler writes, so nothing reaches the client until the fault decides what does.
 */
async function captured(ctx: RequestContext, proceed: () => Promise<void>, keep: boolean): Promise<CapturedAnswer> {
  const real = ctx.res;
  const stand = new CapturedResponse(keep);
  ctx.res = stand as unknown as ServerResponse;
  try {
    await proceed();
    await stand.done();
  } finally {
    ctx.res = real;
  }
  return { status: stand.statusCode, headers: stand.getHeaders(), body: stand.body() };
}

/** The part of ServerResponse the handlers use (writeHead, setHeader, write, end, piping into it). */
class CapturedResponse extends Writable {
  statusCode = 200;
  statusMessage = '';
  private readonly headers = new Map<string, { name: string; value: number | string | readonly string[] }>();
  private readonly chunks: Buffer[] = [];
  private sent = false;

  constructor(private readonly keep: boolean) {
    super();
  }

  get headersSent(): boolean {
    return this.sent;
  }

  setHeader(name: string, value: number | string | readonly string[]): this {
    this.headers.set(name.toLowerCase(), { name, value });
    return this;
  }

  getHeader(name: string): number | string | readonly string[] | undefined {
    return this.headers.get(name.toLowerCase())?.value;
  }

  hasHeader(name: string): boolean {
    return this.headers.has(name.toLowerCase());
  }

  removeHeader(name: string): void {
    this.headers.delete(name.toLowerCase());
  }

  getHeaders(): OutgoingHttpHeaders {
    return Object.fromEntries([...this.headers.entries()].map(([k, v]) => [k, v.value])) as OutgoingHttpHeaders;
  }

  writeHead(status: number, messageOrHeaders?: string | OutgoingHttpHeaders, headers?: OutgoingHttpHeaders): this {
    this.statusCode = status;
    const h = typeof messageOrHeaders === 'string' ? headers : messageOrHeaders;
    if (typeof messageOrHeaders === 'string') this.statusMessage = messageOrHeaders;
    for (const [k, v] of Object.entries(h ?? {})) if (v !== undefined) this.setHeader(k, v);
    this.sent = true;
    return this;
  }

  flushHeaders(): void {
    this.sent = true;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.sent = true;
    if (this.keep) this.chunks.push(chunk);
    callback();
  }

  async done(): Promise<void> {
    if (this.writableEnded && !this.writableFinished) await finished(this);
  }

  body(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** Slows a stream to `bytesPerSecond` by holding each chunk until its bytes are due (backpressure does the rest). */
export function throttle(bytesPerSecond: number): Transform {
  const start = Date.now();
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      const wait = start + (bytes / bytesPerSecond) * 1000 - Date.now();
      if (wait > 0) setTimeout(() => callback(null, chunk), wait);
      else callback(null, chunk);
    },
  });
}
