import { randomUUID } from 'node:crypto';
import { request } from 'undici';
import { downloadTtlSeconds } from './config';
import { VIVIDFLOW_OUTPUT_CONTENT_TYPE, vividflowOutputFromHash } from './derive';
import { HttpError, Router, drain, isLoopbackHost, readJsonBody, sendJson, type RequestContext } from './http';
import { firstField, formKind, readForm } from './multipart';
import type { ProviderDeps, ProviderService } from './provider';
import { safeSegment } from './store';

type Status = 'queued' | 'processing' | 'completed' | 'failed' | 'cancelled';

interface Job {
  id: string;
  seq: number;
  owner: string;
  prompt: string;
  /** The submitted parameters as strings, without the image. */
  params: Record<string, string>;
  imageSha256: string | undefined;
  imageUrl: string | undefined;
  status: Status;
  createdAt: number;
  startedAt: number | null;
  /** processMs as it was when the job started. */
  processMs: number;
  finishedAt: number | null;
  errorMessage: string | null;
  /** Fault injection: fails when it would have completed. */
  doomed: boolean;
  output: Promise<string> | null;
  resultUrl: string | null;
}

export interface VividflowStats {
  processing: number;
  queued: number;
  /** The most jobs ever processing at once. */
  maxProcessingSeen: number;
  rateLimited: number;
}

export interface VividflowService extends ProviderService {
  stats(): VividflowStats;
}

/** `result_url` is documented as a long-lived URL: the sandbox signs it for 30 days. */
const RESULT_URL_TTL_SECONDS = 30 * 24 * 3600;
const MODELS = ['wan2.1', 'veo3.1'];
const MAX_HISTORY = 100;

/** `2025-01-15T10:30:00` (UTC, no zone), as in the docs' examples. */
function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}

function invalid(details: string[]): HttpError {
  return new HttpError(400, 'Invalid parameters', 'BadRequest', {}, { error: 'Invalid parameters', details });
}

export function createVividflow(deps: ProviderDeps): VividflowService {
  const { store, config } = deps;
  const jobs = new Map<string, Job>();
  /** FIFO of queued jobs across all keys (one shared worker pool). */
  let queue: Job[] = [];
  const processing = new Set<Job>();
  let maxProcessingSeen = 0;
  /** Per key: times of the requests counted against the rate limits, oldest first (last 24 h). */
  const hits = new Map<string, number[]>();
  let seq = 0;
  /** Requests refused with 429 (tests: a client that paces itself sees none). */
  let rateLimited = 0;

  function authenticate(ctx: RequestContext): string {
    const key = ctx.req.headers['x-api-key'];
    if (key === undefined || key === '') throw new HttpError(401, 'API key required');
    if (typeof key !== 'string' || !(key === deps.apiKey || config.vividflow.extraKeys.includes(key))) throw new HttpError(401, 'Invalid API key');
    return key;
  }

  /** Rolling hour and day windows per key; a refused request is not counted. */
  function rateLimit(key: string, now: number): void {
    const HOUR_MS = config.vividflow.hourMs;
    const DAY_MS = 24 * HOUR_MS;
    const list = (hits.get(key) ?? []).filter((t) => t > now - DAY_MS);
    hits.set(key, list);
    let waitMs = 0;
    const check = (limit: number, windowMs: number) => {
      const inWindow = list.filter((t) => t > now - windowMs);
      if (inWindow.length < limit) return;
      // Enough requests must leave the window for the count to drop below the limit.
      const leaving = limit > 0 ? inWindow[inWindow.length - limit]! : now;
      waitMs = Math.max(waitMs, leaving + windowMs - now);
    };
    check(config.vividflow.hourlyLimit, HOUR_MS);
    check(config.vividflow.dailyLimit, DAY_MS);
    if (waitMs > 0) {
      rateLimited++;
      const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
      throw new HttpError(429, 'Rate limit exceeded', 'TooManyRequests', { 'retry-after': String(retryAfter) }, {
        error: 'Rate limit exceeded',
        details: '429 Too Many Requests',
        retry_after: retryAfter,
      });
    }
    list.push(now);
  }

  // The queue is simulated lazily and in time order: every read first replays what happened up to now
  // (completions at their end time, each freeing a worker for the next queued job at that moment).
  function pump(now: number): void {
    for (;;) {
      let next: Job | undefined;
      for (const j of processing) if (!next || j.startedAt! + j.processMs < next.startedAt! + next.processMs) next = j;
      if (!next || next.startedAt! + next.processMs > now) break;
      const at = next.startedAt! + next.processMs;
      finish(next, at);
      startQueued(at);
    }
    startQueued(now);
  }

  function startQueued(at: number): void {
    while (processing.size < config.timings.vividflow.workers && queue.length > 0) {
      const job = queue.shift()!;
      job.status = 'processing';
      job.startedAt = Math.max(at, job.createdAt);
      job.processMs = config.timings.vividflow.processMs;
      processing.add(job);
      maxProcessingSeen = Math.max(maxProcessingSeen, processing.size);
    }
  }

  function finish(job: Job, at: number): void {
    processing.delete(job);
    job.finishedAt = at;
    const hit = config.vividflow.failPrompts.find((f) => f !== '' && job.prompt.includes(f));
    if (hit !== undefined || job.doomed) {
      job.status = 'failed';
      job.errorMessage = 'Video generation returned no results.';
      return;
    }
    job.status = 'completed';
    void produceOutput(job);
  }

  const outputKey = (job: Job) => `vividflow/videos/${job.id}.mp4`;

  /** Faithful: one URL for 30 days. Docs-minimal: signed afresh on every answer, expiring after downloadTtlSeconds. */
  function resultUrl(job: Job): string | null {
    if (config.profile !== 'docs-minimal') return job.resultUrl;
    return store.signedUrl('GET', outputKey(job), VIVIDFLOW_OUTPUT_CONTENT_TYPE, downloadTtlSeconds(config));
  }

  function produceOutput(job: Job): Promise<string> {
    if (!job.output) {
      const key = outputKey(job);
      job.resultUrl = store.signedUrl('GET', key, VIVIDFLOW_OUTPUT_CONTENT_TYPE, RESULT_URL_TTL_SECONDS);
      job.output = deps.track(
        store
          .compose(key, VIVIDFLOW_OUTPUT_CONTENT_TYPE, [vividflowOutputFromHash(job.params, job.imageSha256, job.imageUrl)])
          .then((o) => o.key),
      );
      job.output.catch(() => undefined);
    }
    return job.output;
  }

  function findJob(id: string, key: string): Job {
    const job = jobs.get(id);
    if (!job) throw new HttpError(404, 'Job not found');
    if (job.owner !== key) throw new HttpError(403, 'Access denied: you do not own this job');
    return job;
  }

  async function statusJson(job: Job) {
    if (config.profile === 'docs-minimal') return docsMinimalStatusJson(job);
    const base = { job_id: job.id, status: job.status, created_at: isoSeconds(job.createdAt) };
    switch (job.status) {
      case 'queued':
        return { ...base, message: 'Job is in queue. It will start processing shortly.' };
      case 'processing':
        return { ...base, updated_at: isoSeconds(job.startedAt!), message: 'Job is currently being processed.' };
      case 'completed': {
        await produceOutput(job);
        return { ...base, updated_at: isoSeconds(job.finishedAt!), result_url: job.resultUrl, metrics: metricsJson(job), message: 'Job completed successfully.' };
      }
      case 'failed':
        return { ...base, updated_at: isoSeconds(job.finishedAt!), error_message: job.errorMessage, message: 'Job failed. Check error details.' };
      case 'cancelled':
        return { ...base, updated_at: isoSeconds(job.finishedAt!), message: 'Job was cancelled.' };
    }
  }

  /** A finished job's metrics in seconds (spin-up: the wait in the queue). */
  function metricsJson(job: Job) {
    const seconds = (ms: number) => Math.round(ms) / 1000;
    return {
      generation_time: seconds(job.processMs),
      spin_up_time: seconds(job.startedAt! - job.createdAt),
      total_time: seconds(job.finishedAt! - job.createdAt),
    };
  }

  /**
   * Exactly the fields of the docs' example for the job's state (docs § Check Job Status): no times on a
   * completed or failed job, no `updated_at` but while processing; a cancelled job (no example) carries
   * the fields every example shares.
   */
  async function docsMinimalStatusJson(job: Job) {
    const base = { job_id: job.id, status: job.status };
    switch (job.status) {
      case 'queued':
        return { ...base, created_at: isoSeconds(job.createdAt), message: 'Job is in queue. It will start processing shortly.' };
      case 'processing':
        return { ...base, created_at: isoSeconds(job.createdAt), updated_at: isoSeconds(job.startedAt!), message: 'Job is currently being processed.' };
      case 'completed': {
        await produceOutput(job);
        return { ...base, result_url: resultUrl(job), metrics: metricsJson(job), message: 'Job completed successfully.' };
      }
      case 'failed':
        return { ...base, error_message: job.errorMessage, message: 'Job failed. Check error details.' };
      case 'cancelled':
        return { ...base, message: 'Job was cancelled.' };
    }
  }

  /** Fetches an `https://` image URL on a loopback host (over plain HTTP: the sandbox has no TLS) into the store. */
  async function fetchImage(imageUrl: string, uploads: string[]): Promise<string> {
    const url = new URL(imageUrl);
    if (!isLoopbackHost(url.hostname)) throw invalid([`image_url: the sandbox only fetches loopback URLs, not ${url.hostname}`]);
    url.protocol = 'http:';
    const key = `vividflow/fetched/${randomUUID()}/image`;
    let writer: ReturnType<typeof store.createWriter> | null = null;
    try {
      const res = await request(url, { method: 'GET', headersTimeout: 10_000, bodyTimeout: 30_000 });
      if (res.statusCode !== 200) {
        await res.body.dump();
        throw invalid([`image_url could not be fetched: HTTP ${res.statusCode}`]);
      }
      const ct = res.headers['content-type'];
      writer = store.createWriter(key, (Array.isArray(ct) ? ct[0] : ct) ?? 'application/octet-stream');
      for await (const chunk of res.body as AsyncIterable<Buffer>) await writer.write(chunk);
      const info = await writer.end();
      uploads.push(key);
      return info.sha256;
    } catch (err) {
      await writer?.abort();
      if (err instanceof HttpError) throw err;
      throw invalid([`image_url could not be fetched: ${(err as Error).message}`]);
    }
  }

  /** The generate body as string fields plus the uploaded image's key (multipart, urlencoded or JSON). */
  async function readGenerateBody(ctx: RequestContext, uploads: string[]): Promise<{ fields: Record<string, string>; imageKey?: string; details: string[] }> {
    const details: string[] = [];
    const fields: Record<string, string> = {};
    let imageKey: string | undefined;
    if (formKind(ctx.req)) {
      const form = await readForm(ctx.req, {
        onFile: (info) => {
          if (info.field !== 'image') return null;
          if (info.index > 0) throw invalid(['image: only one file may be uploaded']);
          imageKey = `vividflow/uploads/${randomUUID()}/${safeSegment(info.filename)}`;
          uploads.push(imageKey);
          return store.createWriter(imageKey, info.contentType);
        },
      });
      // Werkzeug's MultiDict.get: the first value of a repeated field.
      for (const [k] of form!.fields) if (!(k in fields)) fields[k] = firstField(form!, k)!;
    } else if (/^application\/([a-z0-9.+-]+\+)?json\b/i.test(String(ctx.req.headers['content-type'] ?? ''))) {
      const body = await readJsonBody(ctx.req);
      for (const [k, v] of Object.entries(body)) {
        if (v === null || v === undefined) continue;
        if (typeof v === 'string') fields[k] = v;
        else if (typeof v === 'number' || typeof v === 'boolean') fields[k] = String(v);
        else details.push(`${k} must be a string, number or boolean`);
      }
    } else {
      await drain(ctx.req);
    }
    if ('image' in fields) {
      details.push('image must be a file upload (multipart/form-data); use image_url for a URL');
      delete fields.image;
    }
    return { fields, ...(imageKey ? { imageKey } : {}), details };
  }

  function validate(fields: Record<string, string>, hasImage: boolean, details: string[]): void {
    const prompt = fields.prompt;
    if (prompt === undefined || prompt.trim() === '') details.push('prompt is required');
    if (fields.model !== undefined && !MODELS.includes(fields.model)) details.push(`model must be 'wan2.1' or 'veo3.1'`);
    const imageUrl = fields.image_url;
    if (hasImage && imageUrl !== undefined) details.push('image and image_url: provide only one');
    if (!hasImage && imageUrl === undefined) details.push('image or image_url is required');
    if (imageUrl !== undefined) {
      if (imageUrl.startsWith('gs://')) {
        if (!/^gs:\/\/[a-z0-9][a-z0-9._-]*\/\S+$/.test(imageUrl)) details.push('image_url must be gs://bucket/path');
      } else if (imageUrl.startsWith('https://')) {
        try {
          new URL(imageUrl);
        } catch {
          details.push('image_url is not a valid URL');
        }
      } else details.push('image_url must be a gs:// or https:// URL');
    }
    const int = (f: string, ok: (n: number) => boolean, what: string) => {
      const v = fields[f];
      if (v === undefined) return;
      if (!/^[+-]?\d+$/.test(v.trim()) || !ok(Number(v))) details.push(`${f} must be ${what}`);
    };
    const cfg = fields.cfg;
    if (cfg !== undefined) {
      const n = Number(cfg);
      if (cfg.trim() === '' || !Number.isFinite(n) || n < 1 || n > 20) details.push('cfg must be a number between 1.0 and 20.0');
    }
    for (const f of ['width', 'height', 'length', 'steps']) int(f, (n) => n > 0, 'a positive integer');
    int('seed', Number.isSafeInteger, 'an integer');
    const duration = fields.duration_seconds;
    if (duration !== undefined && !['4', '6', '8'].includes(duration.trim())) details.push('duration_seconds must be 4, 6, or 8');
    if (fields.resolution !== undefined && !['720p', '1080p'].includes(fields.resolution)) details.push(`resolution must be '720p' or '1080p'`);
    if (fields.enhance_prompt !== undefined && !['true', 'false'].includes(fields.enhance_prompt)) details.push(`enhance_prompt must be 'true' or 'false'`);
  }

  const router = new Router();
  const route = (method: 'GET' | 'POST', pattern: string, handler: (ctx: RequestContext, key: string) => Promise<void> | void) =>
    router.add(method, pattern, async (ctx) => {
      const key = authenticate(ctx);
      rateLimit(key, deps.now());
      await handler(ctx, key);
    });

  route('POST', '/api/v1/generate', async (ctx, key) => {
    const uploads: string[] = [];
    try {
      const { fields, imageKey, details } = await readGenerateBody(ctx, uploads);
      validate(fields, imageKey !== undefined, details);
      if (details.length > 0) throw invalid(details);
      if (imageKey !== undefined && store.info(imageKey)!.bytes === 0) throw invalid(['image is empty']);
      const imageUrl = fields.image_url;
      let imageSha256: string | undefined;
      if (imageKey !== undefined) imageSha256 = await store.sha256(imageKey);
      else if (imageUrl!.startsWith('https://')) imageSha256 = await fetchImage(imageUrl!, uploads);
      const now = deps.now();
      pump(now);
      const job: Job = {
        id: randomUUID(),
        seq: seq++,
        owner: key,
        prompt: fields.prompt!,
        params: Object.fromEntries(Object.entries(fields).filter(([k]) => k !== 'image_url')),
        imageSha256,
        imageUrl,
        status: 'queued',
        createdAt: now,
        startedAt: null,
        processMs: 0,
        finishedAt: null,
        errorMessage: null,
        doomed: deps.faults.jobFails(ctx),
        output: null,
        resultUrl: null,
      };
      jobs.set(job.id, job);
      deps.faults.created(ctx, { id: job.id, key: job.prompt });
      queue.push(job);
      pump(now);
      sendJson(ctx.res, 202, { message: 'Generation job accepted', job_id: job.id, status: 'queued', estimated_wait_time: '~2-5 minutes' });
    } catch (err) {
      await Promise.all(uploads.map((k) => store.remove(k)));
      throw err;
    }
  });

  route('GET', '/api/v1/status/:jobId', async (ctx, key) => {
    const job = findJob(ctx.params.jobId!, key);
    pump(deps.now());
    sendJson(ctx.res, 200, await statusJson(job));
  });

  route('POST', '/api/v1/cancel/:jobId', async (ctx, key) => {
    await drain(ctx.req);
    const job = findJob(ctx.params.jobId!, key);
    const now = deps.now();
    pump(now);
    if (job.status !== 'queued') throw new HttpError(400, `Job cannot be cancelled (status: ${job.status})`);
    queue = queue.filter((j) => j !== job);
    job.status = 'cancelled';
    job.finishedAt = now;
    sendJson(ctx.res, 200, { message: 'Job cancelled successfully', job_id: job.id });
  });

  route('GET', '/api/v1/history', async (ctx, key) => {
    const raw = ctx.query.get('limit');
    let limit = 20;
    if (raw !== null) {
      if (!/^\d+$/.test(raw) || Number(raw) < 1) throw invalid(['limit must be a positive integer']);
      limit = Math.min(Number(raw), MAX_HISTORY);
    }
    pump(deps.now());
    const mine = [...jobs.values()].filter((j) => j.owner === key).sort((a, b) => b.seq - a.seq).slice(0, limit);
    const list = [];
    for (const j of mine) {
      if (j.status === 'completed') await produceOutput(j);
      list.push({
        job_id: j.id,
        status: j.status,
        prompt: j.prompt,
        ...(j.status === 'completed' ? { result_url: resultUrl(j) } : {}),
        created_at: isoSeconds(j.createdAt),
      });
    }
    sendJson(ctx.res, 200, { count: list.length, jobs: list });
  });

  route('GET', '/api/v1/usage', (ctx, key) => {
    const now = deps.now();
    pump(now);
    const mine = [...jobs.values()].filter((j) => j.owner === key);
    const count = (s: Status) => mine.filter((j) => j.status === s).length;
    const recent = mine.filter((j) => j.createdAt > now - 24 * config.vividflow.hourMs).length;
    const dailyLimit = config.vividflow.dailyLimit;
    const midnight = new Date(now);
    midnight.setUTCHours(24, 0, 0, 0);
    sendJson(ctx.res, 200, {
      total_jobs: mine.length,
      completed_jobs: count('completed'),
      failed_jobs: count('failed'),
      queued_jobs: count('queued'),
      recent_24h_jobs: recent,
      credits_remaining: Math.max(0, dailyLimit - recent),
      daily_limit: dailyLimit,
      reset_time: isoSeconds(midnight.getTime()),
    });
  });

  return {
    router,
    formatError: (ctx, err) => sendJson(ctx.res, err.status, err.body ?? { error: err.message }),
    stats: () => {
      pump(deps.now());
      return { processing: processing.size, queued: queue.length, maxProcessingSeen, rateLimited };
    },
    running: () => {
      pump(deps.now());
      return [...jobs.values()]
        .filter((j) => j.status === 'queued' || j.status === 'processing')
        .map((j) => ({ provider: 'vividflow' as const, kind: 'job' as const, id: j.id, status: j.status, key: j.prompt }));
    },
  };
}
