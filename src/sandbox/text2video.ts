import { randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { TEXT2VIDEO_OUTPUT_CONTENT_TYPE, text2videoOutput } from './derive';
import { HttpError, Router, readJsonBody, sendJson, type RequestContext } from './http';
import type { ProviderDeps, ProviderService } from './provider';

type Status = 'queued' | 'processing' | 'completed' | 'failed';

/** The documented progress stages after `queued` (0%): each takes stageMs; the last one ends at 100%. */
const STAGES = [
  { progress: 20, message: 'Generating audio...', start: 'Starting audio generation...', done: 'Audio generation completed' },
  { progress: 40, message: 'Generating captions...', start: 'Starting caption generation...', done: 'Caption generation completed' },
  { progress: 60, message: 'Generating video search queries...', start: 'Starting search query generation...', done: 'Search query generation completed' },
  { progress: 80, message: 'Fetching background videos...', start: 'Starting background video fetching...', done: 'Background video fetching completed' },
  { progress: 90, message: 'Rendering video...', start: 'Starting video rendering...', done: 'Video rendering completed' },
] as const;
/** failTexts make a job fail at the end of this stage (search query generation). */
const FAIL_STAGE = 2;

interface Job {
  id: string;
  text: string;
  status: Status;
  /** Index into STAGES while processing. */
  stage: number;
  progress: number;
  message: string;
  createdAt: number;
  /** When the current phase (queued or the current stage) began. */
  phaseAt: number;
  logs: string[];
  error: string | null;
  /** Fault injection: fails during search query generation. */
  doomed: boolean;
  output: Promise<string> | null;
}

export interface Text2videoService extends ProviderService {
  /** Forgets every job, as the real server (jobs in memory) does when it restarts. */
  restart(): void;
  stats(): { jobs: number };
}

export function createText2video(deps: ProviderDeps): Text2videoService {
  const { store, config } = deps;
  let jobs = new Map<string, Job>();

  function findJob(id: string): Job {
    const j = jobs.get(id);
    if (!j) throw new HttpError(404, 'Job not found');
    return j;
  }

  // Lazy, phase-by-phase progression (as in lipdub.ts): a config change affects only phases not begun.
  function advance(job: Job, now: number): void {
    const t = config.timings.text2video;
    if (job.status === 'queued' && now - job.phaseAt >= t.queueMs) {
      job.phaseAt += t.queueMs;
      job.status = 'processing';
      enterStage(job, 0);
    }
    while (job.status === 'processing' && now - job.phaseAt >= t.stageMs) {
      job.phaseAt += t.stageMs;
      const stage = STAGES[job.stage]!;
      if (job.stage === FAIL_STAGE) {
        const hit = config.text2video.failTexts.find((f) => f !== '' && job.text.includes(f));
        if (hit !== undefined || job.doomed) {
          job.status = 'failed';
          job.error =
            hit !== undefined
              ? `Error generating search queries: the sandbox was told to fail texts containing ${JSON.stringify(hit)}`
              : 'Error generating search queries: the language model returned no queries';
          job.message = `Error: ${job.error}`;
          job.logs.push(`Error: ${job.error}`);
          return;
        }
      }
      job.logs.push(stage.done);
      if (job.stage + 1 < STAGES.length) enterStage(job, job.stage + 1);
      else {
        job.status = 'completed';
        job.progress = 100;
        job.message = 'Video generation completed';
        job.logs.push('Video generation completed');
        void produceOutput(job);
      }
    }
  }

  function enterStage(job: Job, index: number): void {
    const stage = STAGES[index]!;
    job.stage = index;
    job.progress = stage.progress;
    job.message = stage.message;
    job.logs.push(stage.start);
  }

  function outputKey(job: Job): string {
    return `text2video/output/${job.id}/video_${job.id}.mp4`;
  }

  function produceOutput(job: Job): Promise<string> {
    if (!job.output) {
      job.output = deps.track(store.compose(outputKey(job), TEXT2VIDEO_OUTPUT_CONTENT_TYPE, [text2videoOutput(job.text)]).then((o) => o.key));
      job.output.catch(() => undefined);
    }
    return job.output;
  }

  /** The docs' status answer; the faithful profile adds a failed job's `error` (assumed), docs-minimal does not. */
  function statusJson(job: Job) {
    return {
      status: job.status,
      progress: job.progress,
      message: job.message,
      created_at: Math.floor(job.createdAt / 1000),
      logs: [...job.logs],
      ...(job.error !== null && config.profile !== 'docs-minimal' ? { error: job.error } : {}),
    };
  }

  const router = new Router();

  router.post('/api/v1/generate', async (ctx: RequestContext) => {
    const body = await readJsonBody(ctx.req);
    const text = body.text;
    if (text === undefined || text === null || (typeof text === 'string' && text.trim() === '')) {
      throw new HttpError(400, 'No text provided in request body');
    }
    if (typeof text !== 'string') throw new HttpError(400, 'text must be a string');
    const now = deps.now();
    const job: Job = {
      id: randomUUID(),
      text,
      status: 'queued',
      stage: -1,
      progress: 0,
      message: 'Job queued',
      createdAt: now,
      phaseAt: now,
      logs: [],
      error: null,
      doomed: deps.faults.jobFails(ctx),
      output: null,
    };
    jobs.set(job.id, job);
    deps.faults.created(ctx, { id: job.id, key: text });
    sendJson(ctx.res, 202, { job_id: job.id, status: 'queued', message: 'Video generation started' });
  });

  router.get('/api/v1/status/:jobId', (ctx) => {
    const job = findJob(ctx.params.jobId!);
    advance(job, deps.now());
    sendJson(ctx.res, 200, statusJson(job));
  });

  router.get('/api/v1/download/:jobId', async (ctx) => {
    const job = findJob(ctx.params.jobId!);
    advance(job, deps.now());
    if (job.status !== 'completed') throw new HttpError(400, 'Video not ready for download');
    let key: string;
    try {
      key = await produceOutput(job);
    } catch {
      throw new HttpError(500, 'Output file not found');
    }
    const info = store.info(key);
    if (!info) throw new HttpError(500, 'Video file not found');
    ctx.res.writeHead(200, {
      'content-type': TEXT2VIDEO_OUTPUT_CONTENT_TYPE,
      'content-length': String(info.bytes),
      'content-disposition': `attachment; filename=generated_video_${job.id}.mp4`,
    });
    await pipeline(store.readStream(key), ctx.res);
  });

  router.get('/api/v1/jobs', (ctx) => {
    const now = deps.now();
    const out: Record<string, unknown> = {};
    for (const job of jobs.values()) {
      advance(job, now);
      out[job.id] = { ...statusJson(job), ...(job.status === 'completed' ? { output_file: `output/video_${job.id}.mp4` } : {}) };
    }
    sendJson(ctx.res, 200, { jobs: out });
  });

  return {
    router,
    formatError: (ctx, err) => sendJson(ctx.res, err.status, err.body ?? { error: err.message }),
    restart: () => {
      jobs = new Map();
    },
    stats: () => ({ jobs: jobs.size }),
    running: () => {
      const now = deps.now();
      for (const j of jobs.values()) advance(j, now);
      return [...jobs.values()]
        .filter((j) => j.status === 'queued' || j.status === 'processing')
        .map((j) => ({ provider: 'text2video' as const, kind: 'job' as const, id: j.id, status: j.status, key: j.text }));
    },
  };
}
