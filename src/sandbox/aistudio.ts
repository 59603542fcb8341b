import { createHash, randomUUID } from 'node:crypto';
import { AISTUDIO_DEFAULT_TOKENS, AISTUDIO_TOKEN_COST, downloadTtlSeconds } from './config';
import { AISTUDIO_OUTPUT_CONTENT_TYPE, aistudioOutputFromHashes, type AistudioFiles } from './derive';
import { HttpError, Router, drain, sendJson, type RequestContext } from './http';
import { formKind, lastField, readForm } from './multipart';
import type { ProviderDeps, ProviderService } from './provider';
import { safeSegment } from './store';

type Status = 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
const STATUSES: Status[] = ['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'];

interface LogEntry {
  timestamp: string;
  level: 'info' | 'warning' | 'error';
  message: string;
}

interface Job {
  id: string;
  seq: number;
  token: string;
  userId: string;
  fields: Record<string, string>;
  files: AistudioFiles<string>;
  prompt: string | null;
  model: string;
  resolution: string;
  aspectRatio: string;
  durationSeconds: number;
  mockMode: boolean;
  status: Status;
  statusMessage: string;
  progressPercentage: number;
  logs: LogEntry[];
  /** When the current phase (PENDING or RUNNING) began. */
  phaseAt: number;
  /** runMs as it was when the job started running. */
  runMs: number;
  halfwayLogged: boolean;
  createdAt: number;
  completedAt: number | null;
  errorMessage: string | null;
  /** Fault injection: fails when it would have succeeded. */
  doomed: boolean;
  cloudinaryUrl: string | null;
  output: Promise<string> | null;
  /** Deleted jobs keep running (the API deletes the record only) but are no longer listed. */
  deleted: boolean;
}

export interface AistudioStats {
  /** Per token: jobs PENDING or RUNNING now, deleted records included (a deleted job keeps running). */
  running: Record<string, number>;
  /** Per token: the most jobs ever PENDING or RUNNING at once. */
  maxRunningSeen: Record<string, number>;
  /** Per token: the token balance. */
  tokens: Record<string, number>;
}

export interface AistudioService extends ProviderService {
  stats(): AistudioStats;
}

/** Like the docs' `cloudinaryUrl`, a long-lived video URL: signed for 30 days. */
const VIDEO_URL_TTL_SECONDS = 30 * 24 * 3600;
const MAX_REFERENCE_IMAGES = 3;
const FILE_FIELDS = ['initialImage', 'endFrame', 'referenceImages'];

/** `2024-01-15T10:30:00Z`, as in the docs' examples. */
function isoSeconds(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

function bad(detail: string): HttpError {
  return new HttpError(400, detail);
}

export function createAistudio(deps: ProviderDeps): AistudioService {
  const { store, config } = deps;
  const jobs = new Map<string, Job>();
  const maxRunningSeen = new Map<string, number>();
  /** Balances of the extra tokens; the primary token's balance is config.aistudio.tokens. */
  const extraBalances = new Map<string, number>();
  let seq = 0;

  function authenticate(ctx: RequestContext): string {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(String(ctx.req.headers.authorization ?? ''));
    const token = m?.[1];
    if (!token || !(token === deps.apiKey || config.aistudio.extraTokens.includes(token))) {
      throw new HttpError(401, 'Not authenticated', 'Unauthorized', { 'www-authenticate': 'Bearer' });
    }
    return token;
  }

  function userIdOf(token: string): string {
    return token === deps.apiKey ? 'user-sandbox' : `user-${createHash('sha256').update(token).digest('hex').slice(0, 12)}`;
  }

  function balance(token: string): number {
    return token === deps.apiKey ? config.aistudio.tokens : (extraBalances.get(token) ?? AISTUDIO_DEFAULT_TOKENS);
  }

  function charge(token: string, amount: number): void {
    if (token === deps.apiKey) config.aistudio.tokens = balance(token) - amount;
    else extraBalances.set(token, balance(token) - amount);
  }

  // Lazy, phase-by-phase progression (as in lipdub.ts): a config change affects only phases not begun.
  function advance(job: Job, now: number): void {
    const t = config.timings.aistudio;
    if (job.status === 'PENDING' && now - job.phaseAt >= t.pendingMs) {
      job.phaseAt += t.pendingMs;
      job.status = 'RUNNING';
      job.runMs = job.mockMode ? Math.min(t.runMs, t.mockRunMs) : t.runMs;
      job.statusMessage = 'Video generation in progress...';
      job.progressPercentage = 10;
      log(job, job.phaseAt, 'info', '🚀 Starting video generation');
      log(job, job.phaseAt, 'info', job.mockMode ? '🧪 Mock mode: skipping Google Veo API' : '☁️  Calling Google Veo API...');
    }
    if (job.status !== 'RUNNING') return;
    const elapsed = now - job.phaseAt;
    if (elapsed < job.runMs) {
      job.progressPercentage = Math.max(job.progressPercentage, 10 + Math.floor((80 * elapsed) / Math.max(1, job.runMs)));
      if (!job.halfwayLogged && elapsed >= job.runMs / 2) {
        job.halfwayLogged = true;
        log(job, job.phaseAt + job.runMs / 2, 'info', '⏳ Waiting for the video to be generated...');
      }
      return;
    }
    const at = job.phaseAt + job.runMs;
    job.completedAt = at;
    const hit = config.aistudio.failPrompts.find((f) => f !== '' && (job.prompt ?? '').includes(f));
    if (hit !== undefined || job.doomed) {
      job.status = 'FAILED';
      job.errorMessage = 'Video generation failed: the Veo API returned no video for this prompt';
      job.statusMessage = 'Video generation failed';
      log(job, at, 'error', `❌ ${job.errorMessage}`);
      return;
    }
    job.status = 'SUCCEEDED';
    job.progressPercentage = 100;
    job.statusMessage = 'Video generation completed successfully!';
    log(job, at, 'info', '☁️  Uploading video to Cloudinary...');
    log(job, at, 'info', '✅ Video generation completed');
    void produceOutput(job);
  }

  function log(job: Job, at: number, level: LogEntry['level'], message: string): void {
    job.logs.push({ timestamp: isoSeconds(at), level, message });
  }

  const outputKey = (job: Job) => `aistudio/videos/${job.id}.mp4`;

  /** Faithful: one URL for 30 days. Docs-minimal: signed afresh on every answer, expiring after downloadTtlSeconds. */
  function videoUrl(job: Job): string {
    if (config.profile !== 'docs-minimal') return job.cloudinaryUrl!;
    return store.signedUrl('GET', outputKey(job), AISTUDIO_OUTPUT_CONTENT_TYPE, downloadTtlSeconds(config));
  }

  function produceOutput(job: Job): Promise<string> {
    if (!job.output) {
      const key = outputKey(job);
      job.cloudinaryUrl = store.signedUrl('GET', key, AISTUDIO_OUTPUT_CONTENT_TYPE, VIDEO_URL_TTL_SECONDS);
      job.output = deps.track(store.compose(key, AISTUDIO_OUTPUT_CONTENT_TYPE, [aistudioOutputFromHashes(job.fields, job.files)]).then((o) => o.key));
      job.output.catch(() => undefined);
    }
    return job.output;
  }

  function active(token: string, opts: { includeDeleted: boolean }): number {
    const now = deps.now();
    let n = 0;
    for (const j of jobs.values()) {
      if (j.token !== token || (j.deleted && !opts.includeDeleted)) continue;
      advance(j, now);
      if (j.status === 'PENDING' || j.status === 'RUNNING') n++;
    }
    return n;
  }

  function findJob(id: string, token: string): Job {
    const job = jobs.get(id);
    // Another user's job is as unknown as a missing one.
    if (!job || job.deleted || job.token !== token) throw new HttpError(404, 'Job not found');
    advance(job, deps.now());
    return job;
  }

  /**
   * Docs-minimal VideoJob, as the docs show it on create and in lists: the create example's fields, none
   * of them null (a job without a prompt or a duration has none), then `cloudinaryUrl` and `completedAt`
   * once SUCCEEDED (Quick Start 3) and `errorMessage` once FAILED (the frontend example).
   */
  async function docsMinimalJobJson(job: Job) {
    if (job.status === 'SUCCEEDED') await produceOutput(job);
    return {
      id: job.id,
      userId: job.userId,
      ...(job.prompt !== null ? { prompt: job.prompt } : {}),
      model: job.model,
      resolution: job.resolution,
      aspectRatio: job.aspectRatio,
      ...(job.fields.durationSeconds !== undefined ? { durationSeconds: job.durationSeconds } : {}),
      status: job.status,
      statusMessage: job.statusMessage,
      progressPercentage: job.progressPercentage,
      logs: job.logs.map((l) => ({ ...l })),
      tokensConsumed: AISTUDIO_TOKEN_COST,
      createdAt: isoSeconds(job.createdAt),
      ...(job.status === 'SUCCEEDED' ? { cloudinaryUrl: videoUrl(job), completedAt: isoSeconds(job.completedAt!) } : {}),
      ...(job.status === 'FAILED' ? { errorMessage: job.errorMessage } : {}),
    };
  }

  /**
   * Docs-minimal GET /video-jobs/{id}: the fields of the docs' poll examples for the job's state
   * (Quick Start 2 while PENDING or RUNNING, 3 once SUCCEEDED, `errorMessage` once FAILED).
   */
  async function docsMinimalPollJson(job: Job) {
    const base = { id: job.id, status: job.status, statusMessage: job.statusMessage };
    switch (job.status) {
      case 'PENDING':
      case 'RUNNING':
        return { ...base, progressPercentage: job.progressPercentage, logs: job.logs.map((l) => ({ ...l })) };
      case 'SUCCEEDED':
        await produceOutput(job);
        return { ...base, progressPercentage: job.progressPercentage, cloudinaryUrl: videoUrl(job), completedAt: isoSeconds(job.completedAt!) };
      case 'FAILED':
        return { ...base, errorMessage: job.errorMessage };
      case 'CANCELLED':
        return base;
    }
  }

  async function jobJson(job: Job) {
    if (config.profile === 'docs-minimal') return docsMinimalJobJson(job);
    if (job.status === 'SUCCEEDED') await produceOutput(job);
    return {
      id: job.id,
      userId: job.userId,
      prompt: job.prompt,
      model: job.model,
      resolution: job.resolution,
      aspectRatio: job.aspectRatio,
      durationSeconds: job.durationSeconds,
      status: job.status,
      statusMessage: job.statusMessage,
      progressPercentage: job.progressPercentage,
      logs: job.logs.map((l) => ({ ...l })),
      tokensConsumed: AISTUDIO_TOKEN_COST,
      cloudinaryUrl: job.cloudinaryUrl,
      errorMessage: job.errorMessage,
      createdAt: isoSeconds(job.createdAt),
      completedAt: job.completedAt === null ? null : isoSeconds(job.completedAt),
    };
  }

  function validate(fields: Record<string, string>, files: AistudioFiles<string>): void {
    const prompt = fields.prompt?.trim() ? fields.prompt : undefined;
    if (prompt === undefined && files.initialImage === undefined) throw bad('Either prompt or initialImage is required');
    if (!fields.model?.trim()) throw bad('model is required');
    if (fields.resolution === undefined) throw bad('resolution is required');
    if (!['720p', '1080p'].includes(fields.resolution)) throw bad(`Resolution must be '720p' or '1080p'`);
    if (fields.aspectRatio === undefined) throw bad('aspectRatio is required');
    if (!['16:9', '9:16'].includes(fields.aspectRatio)) throw bad(`aspectRatio must be '16:9' or '9:16'`);
    if (fields.durationSeconds !== undefined && !['4', '8'].includes(fields.durationSeconds.trim())) throw bad('durationSeconds must be 4 or 8');
    if (fields.mockMode === undefined) throw bad(`mockMode is required ('true' or 'false')`);
    if (!['true', 'false'].includes(fields.mockMode)) throw bad(`mockMode must be 'true' or 'false'`);
    if (fields.generateAudio !== undefined && !['true', 'false'].includes(fields.generateAudio)) throw bad(`generateAudio must be 'true' or 'false'`);
  }

  const router = new Router();
  const route = (method: 'GET' | 'POST' | 'DELETE', pattern: string, handler: (ctx: RequestContext, token: string) => Promise<void> | void) =>
    router.add(method, pattern, async (ctx) => {
      const token = authenticate(ctx);
      await handler(ctx, token);
    });

  route('POST', '/api/v1/video-jobs', async (ctx, token) => {
    const uploads: string[] = [];
    const files: AistudioFiles<string> = {};
    try {
      const fields: Record<string, string> = {};
      if (formKind(ctx.req)) {
        const fileKeys: Array<{ field: string; key: string }> = [];
        const uploadId = randomUUID();
        const form = await readForm(ctx.req, {
          onFile: (info) => {
            if (!FILE_FIELDS.includes(info.field)) return null;
            if (info.field === 'referenceImages' && info.index >= MAX_REFERENCE_IMAGES) throw bad(`referenceImages: at most ${MAX_REFERENCE_IMAGES} images`);
            if (info.field !== 'referenceImages' && info.index > 0) throw bad(`${info.field}: only one file may be uploaded`);
            const key = `aistudio/uploads/${uploadId}/${info.field}-${info.index}-${safeSegment(info.filename)}`;
            uploads.push(key);
            fileKeys.push({ field: info.field, key });
            return store.createWriter(key, info.contentType);
          },
        });
        // Starlette's FormData[name]: the last value of a repeated field.
        for (const [k] of form!.fields) fields[k] = lastField(form!, k)!;
        for (const f of FILE_FIELDS) if (f in fields) throw bad(`${f} must be a file`);
        for (const { field, key } of fileKeys) {
          const sha = await store.sha256(key);
          if (field === 'referenceImages') (files.referenceImages ??= []).push(sha);
          else files[field as 'initialImage' | 'endFrame'] = sha;
        }
      } else {
        await drain(ctx.req);
      }
      validate(fields, files);
      const available = balance(token);
      if (available < AISTUDIO_TOKEN_COST) {
        throw new HttpError(402, 'Insufficient tokens', 'PaymentRequired', {}, {
          detail: {
            message: `Insufficient tokens. Operation 'video_generation' costs ${AISTUDIO_TOKEN_COST} tokens but you have ${available}.`,
            cost: AISTUDIO_TOKEN_COST,
            availableTokens: available,
          },
        });
      }
      const limit = config.aistudio.maxConcurrent;
      if (active(token, { includeDeleted: false }) >= limit) {
        throw new HttpError(429, `Maximum ${limit} concurrent video jobs allowed. Please wait for existing jobs to complete.`);
      }
      charge(token, AISTUDIO_TOKEN_COST);
      const now = deps.now();
      const job: Job = {
        id: randomUUID(),
        seq: seq++,
        token,
        userId: userIdOf(token),
        fields,
        files,
        prompt: fields.prompt?.trim() ? fields.prompt : null,
        model: fields.model!,
        resolution: fields.resolution!,
        aspectRatio: fields.aspectRatio!,
        durationSeconds: Number(fields.durationSeconds ?? 8),
        mockMode: fields.mockMode === 'true',
        status: 'PENDING',
        statusMessage: 'Job queued for processing',
        progressPercentage: 0,
        logs: [],
        phaseAt: now,
        runMs: 0,
        halfwayLogged: false,
        createdAt: now,
        completedAt: null,
        errorMessage: null,
        doomed: deps.faults.jobFails(ctx),
        cloudinaryUrl: null,
        output: null,
        deleted: false,
      };
      log(job, now, 'info', '📝 Job created');
      jobs.set(job.id, job);
      deps.faults.created(ctx, { id: job.id, key: job.prompt ?? '' });
      maxRunningSeen.set(token, Math.max(maxRunningSeen.get(token) ?? 0, active(token, { includeDeleted: true })));
      sendJson(ctx.res, 202, await jobJson(job));
    } catch (err) {
      await Promise.all(uploads.map((k) => store.remove(k)));
      throw err;
    }
  });

  route('GET', '/api/v1/video-jobs', async (ctx, token) => {
    const q = ctx.query;
    const filter = q.get('status_filter') || null;
    if (filter !== null && !STATUSES.includes(filter as Status)) throw bad(`status_filter must be one of ${STATUSES.join(', ')}`);
    const int = (name: string, dflt: number, min: number): number => {
      const raw = q.get(name);
      if (raw === null || raw === '') return dflt;
      if (!/^\d+$/.test(raw) || Number(raw) < min) throw bad(`${name} must be an integer >= ${min}`);
      return Number(raw);
    };
    const limit = int('limit', 50, 1);
    const offset = int('offset', 0, 0);
    const now = deps.now();
    const mine = [...jobs.values()].filter((j) => j.token === token && !j.deleted);
    for (const j of mine) advance(j, now);
    const matching = mine.filter((j) => filter === null || j.status === filter).sort((a, b) => b.seq - a.seq);
    const page = [];
    for (const j of matching.slice(offset, offset + limit)) page.push(await jobJson(j));
    sendJson(ctx.res, 200, { jobs: page, total: matching.length });
  });

  route('GET', '/api/v1/video-jobs/:jobId', async (ctx, token) => {
    const job = findJob(ctx.params.jobId!, token);
    sendJson(ctx.res, 200, config.profile === 'docs-minimal' ? await docsMinimalPollJson(job) : await jobJson(job));
  });

  route('GET', '/api/v1/video-jobs/:jobId/download', async (ctx, token) => {
    const job = findJob(ctx.params.jobId!, token);
    if (job.status === 'FAILED') throw bad('Video generation failed; there is no video');
    if (job.status !== 'SUCCEEDED') throw bad('Video not ready yet');
    await produceOutput(job);
    ctx.res.writeHead(302, { location: videoUrl(job), 'content-length': '0' });
    ctx.res.end();
  });

  route('DELETE', '/api/v1/video-jobs/:jobId', async (ctx, token) => {
    await drain(ctx.req);
    const job = findJob(ctx.params.jobId!, token);
    job.deleted = true;
    ctx.res.writeHead(204);
    ctx.res.end();
  });

  return {
    router,
    formatError: (ctx, err) => sendJson(ctx.res, err.status, err.body ?? { detail: err.message }),
    stats: () => {
      const tokens = new Set([deps.apiKey, ...config.aistudio.extraTokens, ...[...jobs.values()].map((j) => j.token)]);
      const running: Record<string, number> = {};
      const seen: Record<string, number> = {};
      const balances: Record<string, number> = {};
      for (const t of tokens) {
        running[t] = active(t, { includeDeleted: true });
        seen[t] = maxRunningSeen.get(t) ?? 0;
        balances[t] = balance(t);
      }
      return { running, maxRunningSeen: seen, tokens: balances };
    },
    running: () => {
      const now = deps.now();
      for (const j of jobs.values()) advance(j, now);
      return [...jobs.values()]
        .filter((j) => j.status === 'PENDING' || j.status === 'RUNNING')
        .map((j) => ({ provider: 'aistudio' as const, kind: 'job' as const, id: j.id, status: j.status, key: j.prompt ?? '' }));
    },
  };
}
