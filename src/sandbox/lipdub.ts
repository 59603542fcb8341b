import { randomUUID } from 'node:crypto';
import { LIPDUB_OUTPUT_CONTENT_TYPE, lipdubOutputHeader } from './derive';
import {
  HttpError,
  Router,
  drain,
  optionalBoolean,
  readJsonBody,
  requireMimeType,
  requirePositiveNumber,
  requireString,
  sendJson,
  type RequestContext,
} from './http';
import { downloadTtlSeconds } from './config';
import type { ProviderDeps, ProviderService, RunningJob } from './provider';
import { safeSegment } from './store';

type UploadStatus = 'uploading' | 'completed' | 'failed';
type ShotStatus = 'not_started' | 'running' | 'finished' | 'failed';
type TrainingStatus = 'not_started' | 'processing' | 'finished' | 'failed';
type GenerationStatus = 'not_started' | 'pending' | 'running' | 'finished' | 'failed';

interface Video {
  id: string;
  fileName: string;
  contentType: string;
  projectId: number;
  projectName: string;
  sceneId: number;
  sceneName: string;
  actorId: number;
  uploadKey: string;
  uploadStatus: UploadStatus;
  shotId: number | null;
  /** When POST /video/success made the shot. */
  successAt: number | null;
  /** Whether LipDub has shown the shot id yet (docs-minimal: some polls of video status after success). */
  shotShown: boolean;
  /** Video status answers given without the shot id since success (docs-minimal). */
  hiddenPolls: number;
}

interface Shot {
  id: number;
  video: Video;
  status: ShotStatus;
  statusAt: number;
  training: TrainingStatus;
  trainingAt: number;
}

interface Audio {
  id: string;
  fileName: string;
  contentType: string;
  sizeBytes: number;
  uploadKey: string;
  uploadStatus: UploadStatus;
  completedAt: number | null;
  createdAt: Date;
}

interface Generation {
  id: string | number;
  shot: Shot;
  audio: Audio;
  language: string;
  outputFilename: string;
  maintainExpression: boolean;
  createdAt: number;
  status: GenerationStatus;
  statusAt: number;
  failure: string | null;
  /** Fault injection: fails when it would have finished. */
  doomed: boolean;
  output: Promise<string> | null;
}

/** Share of shotMs spent `not_started` before `running`. */
const SHOT_QUEUED_SHARE = 0.25;
const ID_FIELDS = ['generate_id', 'generateId', 'id'] as const;

/**
 * docs-minimal: POST /video/success answers without a shot id (the docs' flow reads it from video
 * status), and GET /video/status (and GET /shots) show it only once this many status answers were given
 * without it and this share of shotMs has passed since success.
 */
export const DOCS_MINIMAL_SHOT_ID_HIDDEN_POLLS = 2;
export const DOCS_MINIMAL_SHOT_ID_SHARE = 0.1;

export function createLipdub(deps: ProviderDeps): ProviderService {
  const { store, config } = deps;
  const videos = new Map<string, Video>();
  const shots = new Map<number, Shot>();
  const audios = new Map<string, Audio>();
  const generations = new Map<string, Generation>();
  const projects = new Map<string, number>();
  const scenes = new Map<string, number>();
  const actors = new Map<string, number>();
  let nextProjectId = 12345;
  let nextSceneId = 67890;
  let nextActorId = 11111;
  let nextShotId = 746176;
  let nextNumericGenerateId = 456;
  let generateCalls = 0;

  function idFor(map: Map<string, number>, name: string, next: () => number): number {
    let id = map.get(name);
    if (id === undefined) {
      id = next();
      map.set(name, id);
    }
    return id;
  }

  function authenticate(ctx: RequestContext): void {
    const key = ctx.req.headers['x-api-key'];
    if (key === undefined) throw new HttpError(401, 'Missing x-api-key header');
    if (key !== deps.apiKey) throw new HttpError(401, 'Invalid API key');
  }

  function findVideo(id: string): Video {
    const v = videos.get(id);
    if (!v) throw new HttpError(404, `Video ${id} not found`);
    return v;
  }

  function findAudio(id: string): Audio {
    const a = audios.get(id);
    if (!a) throw new HttpError(404, `Audio ${id} not found`);
    return a;
  }

  function findShot(id: string): Shot {
    const s = /^\d+$/.test(id) ? shots.get(Number(id)) : undefined;
    if (!s) throw new HttpError(404, `Shot ${id} not found`);
    return s;
  }

  function findGeneration(shot: Shot, id: string): Generation {
    const g = generations.get(id);
    if (!g || g.shot !== shot) throw new HttpError(404, `Generation ${id} not found for shot ${shot.id}`);
    return g;
  }

  // Statuses advance lazily on read, one phase at a time, each phase starting when the previous
  // one ended; so a config change affects only phases not yet completed and never goes backwards.

  function advanceShot(shot: Shot, now: number): void {
    const t = config.timings.lipdub;
    if (shot.status === 'not_started' && now - shot.statusAt >= t.shotMs * SHOT_QUEUED_SHARE) {
      shot.statusAt += t.shotMs * SHOT_QUEUED_SHARE;
      shot.status = 'running';
    }
    if (shot.status === 'running' && now - shot.statusAt >= t.shotMs * (1 - SHOT_QUEUED_SHARE)) {
      shot.statusAt += t.shotMs * (1 - SHOT_QUEUED_SHARE);
      shot.status = config.lipdub.failShot ? 'failed' : 'finished';
      if (shot.status === 'finished') {
        shot.training = 'processing';
        shot.trainingAt = shot.statusAt;
      }
    }
    if (shot.training === 'processing' && now - shot.trainingAt >= t.trainingMs) {
      shot.trainingAt += t.trainingMs;
      shot.training = config.lipdub.failTraining ? 'failed' : 'finished';
    }
  }

  function advanceGeneration(g: Generation, now: number): void {
    const t = config.timings.lipdub;
    if (g.status === 'not_started') {
      advanceShot(g.shot, now);
      if (g.shot.status === 'failed' || g.shot.training === 'failed') {
        g.status = 'failed';
        g.statusAt = Math.max(g.createdAt, g.shot.status === 'failed' ? g.shot.statusAt : g.shot.trainingAt);
        g.failure = g.shot.status === 'failed' ? 'Shot processing failed' : 'AI training failed';
        return;
      }
      if (g.audio.uploadStatus === 'failed') {
        g.status = 'failed';
        g.statusAt = now;
        g.failure = 'Audio upload failed';
        return;
      }
      if (g.shot.training !== 'finished' || g.audio.completedAt === null) return;
      g.status = 'pending';
      g.statusAt = Math.max(g.createdAt, g.shot.trainingAt, g.audio.completedAt);
    }
    if (g.status === 'pending' && now - g.statusAt >= t.generateQueueMs) {
      g.statusAt += t.generateQueueMs;
      g.status = 'running';
    }
    if (g.status === 'running' && now - g.statusAt >= t.generateMs) {
      g.statusAt += t.generateMs;
      if (config.lipdub.failGenerateLanguages.includes(g.language)) {
        g.status = 'failed';
        g.failure = `Generation failed for language ${g.language}`;
      } else if (g.doomed) {
        g.status = 'failed';
        g.failure = 'Generation failed: the lip-sync model could not render this shot';
      } else {
        g.status = 'finished';
        void produceOutput(g);
      }
    }
  }

  function produceOutput(g: Generation): Promise<string> {
    if (!g.output) {
      const key = `lipdub/outputs/${String(g.id)}/${safeSegment(g.outputFilename)}`;
      const video = g.shot.video;
      g.output = deps.track(
        (async () => {
          const [videoSha, audioSha] = await Promise.all([store.sha256(video.uploadKey), store.sha256(g.audio.uploadKey)]);
          await store.compose(key, LIPDUB_OUTPUT_CONTENT_TYPE, [lipdubOutputHeader(videoSha, audioSha, g.language), { key: video.uploadKey }]);
          return key;
        })(),
      );
      g.output.catch(() => undefined);
    }
    return g.output;
  }

  /**
   * Whether the shot id of a confirmed video is shown now. faithful: from success on. docs-minimal: after
   * DOCS_MINIMAL_SHOT_ID_HIDDEN_POLLS video status answers without it and a share of shotMs; a status
   * read (`poll`) that does not show it counts as one of them.
   */
  function shotShown(video: Video, now: number, poll: boolean): boolean {
    if (video.shotId === null || video.successAt === null) return false;
    if (video.shotShown || config.profile !== 'docs-minimal') return (video.shotShown = true);
    const delayMs = config.timings.lipdub.shotMs * DOCS_MINIMAL_SHOT_ID_SHARE;
    if (video.hiddenPolls >= DOCS_MINIMAL_SHOT_ID_HIDDEN_POLLS && now - video.successAt >= delayMs) return (video.shotShown = true);
    if (poll) video.hiddenPolls++;
    return false;
  }

  function newGenerateId(): { field: (typeof ID_FIELDS)[number]; id: string | number } {
    const call = generateCalls++;
    // docs-minimal: the least convenient documented forms, a number (as the status example shows) named
    // `id` or `generateId` (the docs' note), never `generate_id`.
    if (config.profile === 'docs-minimal') return { field: call % 2 === 0 ? 'id' : 'generateId', id: nextNumericGenerateId++ };
    const { generateIdVariant, numericGenerateIds } = config.lipdub;
    const field = generateIdVariant === 'rotate' ? ID_FIELDS[call % ID_FIELDS.length]! : generateIdVariant;
    const numeric = numericGenerateIds === 'rotate' ? call % 2 === 1 : numericGenerateIds;
    return { field, id: numeric ? nextNumericGenerateId++ : randomUUID() };
  }

  const router = new Router();
  const route = (method: 'GET' | 'POST', pattern: string, handler: (ctx: RequestContext) => Promise<void> | void) =>
    router.add(method, pattern, async (ctx) => {
      authenticate(ctx);
      await handler(ctx);
    });

  route('POST', '/v1/video', async (ctx) => {
    const body = await readJsonBody(ctx.req);
    const fileName = requireString(body, 'file_name');
    const contentType = requireMimeType(body, 'content_type', ['video']);
    const projectName = requireString(body, 'project_name');
    const sceneName = requireString(body, 'scene_name');
    const actorName = requireString(body, 'actor_name');
    const projectId = idFor(projects, projectName, () => nextProjectId++);
    const video: Video = {
      id: randomUUID(),
      fileName,
      contentType,
      projectId,
      projectName,
      sceneId: idFor(scenes, `${projectId}\n${sceneName}`, () => nextSceneId++),
      sceneName,
      actorId: idFor(actors, actorName, () => nextActorId++),
      uploadKey: '',
      uploadStatus: 'uploading',
      shotId: null,
      successAt: null,
      shotShown: false,
      hiddenPolls: 0,
    };
    video.uploadKey = `lipdub/videos/${video.id}/${safeSegment(fileName)}`;
    videos.set(video.id, video);
    deps.faults.created(ctx, { id: video.id, key: sceneName });
    sendJson(ctx.res, 200, {
      data: {
        project_id: video.projectId,
        scene_id: video.sceneId,
        actor_id: video.actorId,
        video_id: video.id,
        upload_url: store.signedUrl('PUT', video.uploadKey, contentType, config.urlTtlSeconds),
        success_url: `/v1/video/success/${video.id}`,
        failure_url: `/v1/video/failure/${video.id}`,
      },
    });
  });

  route('GET', '/v1/video/status/:videoId', (ctx) => {
    const video = findVideo(ctx.params.videoId!);
    const now = deps.now();
    if (config.profile === 'docs-minimal') {
      const shown = shotShown(video, now, true);
      const shot = shown ? shots.get(video.shotId!) : undefined;
      if (shot) advanceShot(shot, now);
      // The documented fields only; the shot id absent until LipDub shows it.
      sendJson(ctx.res, 200, {
        data: {
          ...(shot ? { shot_id: shot.id } : {}),
          upload_status: video.uploadStatus,
          shot_status: shot?.status ?? 'not_started',
          ai_training_status: shot?.training ?? 'not_started',
        },
      });
      return;
    }
    const shot = video.shotId === null ? undefined : shots.get(video.shotId);
    if (shot) advanceShot(shot, now);
    sendJson(ctx.res, 200, {
      data: {
        shot_id: video.shotId,
        upload_status: video.uploadStatus,
        shot_status: shot?.status ?? 'not_started',
        ai_training_status: shot?.training ?? 'not_started',
      },
    });
  });

  route('POST', '/v1/video/success/:videoId', async (ctx) => {
    await drain(ctx.req);
    const video = findVideo(ctx.params.videoId!);
    if (video.uploadStatus === 'failed') throw new HttpError(400, 'Video upload was reported as failed');
    if (!store.has(video.uploadKey)) throw new HttpError(400, 'Video has not been uploaded');
    if (video.shotId === null) {
      const now = deps.now();
      const shot: Shot = { id: nextShotId++, video, status: 'not_started', statusAt: now, training: 'not_started', trainingAt: now };
      shots.set(shot.id, shot);
      video.shotId = shot.id;
      video.successAt = now;
      video.uploadStatus = 'completed';
    }
    if (config.profile === 'docs-minimal' && !shotShown(video, deps.now(), false)) {
      // The docs' flow reads the shot id from GET /video/status; this answer does not have it yet.
      sendJson(ctx.res, 200, { data: { asset_type: 'dubbing-video' } });
      return;
    }
    video.shotShown = true;
    sendJson(ctx.res, 200, { data: { shot_id: video.shotId, asset_type: 'dubbing-video' } });
  });

  route('POST', '/v1/video/failure/:videoId', async (ctx) => {
    await drain(ctx.req);
    const video = findVideo(ctx.params.videoId!);
    if (video.uploadStatus === 'completed') throw new HttpError(409, 'Video upload already completed');
    video.uploadStatus = 'failed';
    sendJson(ctx.res, 200, {});
  });

  route('POST', '/v1/audio', async (ctx) => {
    const body = await readJsonBody(ctx.req);
    const fileName = requireString(body, 'file_name');
    const contentType = requireMimeType(body, 'content_type', ['audio']);
    const sizeBytes = requirePositiveNumber(body, 'size_bytes', { integer: true });
    const id = randomUUID();
    const audio: Audio = {
      id,
      fileName,
      contentType,
      sizeBytes,
      uploadKey: `lipdub/audio/${id}/${safeSegment(fileName)}`,
      uploadStatus: 'uploading',
      completedAt: null,
      createdAt: new Date(deps.now()),
    };
    audios.set(id, audio);
    deps.faults.created(ctx, { id, key: fileName });
    sendJson(ctx.res, 200, {
      data: {
        audio_id: id,
        upload_url: store.signedUrl('PUT', audio.uploadKey, contentType, config.urlTtlSeconds),
        success_url: `/v1/audio/success/${id}`,
        failure_url: `/v1/audio/failure/${id}`,
      },
    });
  });

  route('GET', '/v1/audio/status/:audioId', (ctx) => {
    const audio = findAudio(ctx.params.audioId!);
    sendJson(ctx.res, 200, { data: { audio_id: audio.id, upload_status: audio.uploadStatus } });
  });

  route('POST', '/v1/audio/success/:audioId', async (ctx) => {
    await drain(ctx.req);
    const audio = findAudio(ctx.params.audioId!);
    if (audio.uploadStatus === 'failed') throw new HttpError(400, 'Audio upload was reported as failed');
    if (!store.has(audio.uploadKey)) throw new HttpError(400, 'Audio has not been uploaded');
    if (audio.uploadStatus !== 'completed') {
      audio.uploadStatus = 'completed';
      audio.completedAt = deps.now();
    }
    sendJson(ctx.res, 200, {});
  });

  route('POST', '/v1/audio/failure/:audioId', async (ctx) => {
    await drain(ctx.req);
    const audio = findAudio(ctx.params.audioId!);
    if (audio.uploadStatus === 'completed') throw new HttpError(409, 'Audio upload already completed');
    audio.uploadStatus = 'failed';
    sendJson(ctx.res, 200, {});
  });

  route('GET', '/v1/audio', (ctx) => {
    const data = [...audios.values()].map((a) => ({
      audio_id: a.id,
      upload_status: a.uploadStatus,
      content_type: a.contentType,
      file_name: a.fileName,
      created_at: a.createdAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    }));
    sendJson(ctx.res, 200, { data, count: data.length });
  });

  route('GET', '/v1/shots', (ctx) => {
    const now = deps.now();
    const data = [...shots.values()].filter((s) => shotShown(s.video, now, false)).map((s) => ({
      shot_id: s.id,
      shot_label: s.video.fileName,
      shot_project_id: s.video.projectId,
      shot_scene_id: s.video.sceneId,
      shot_project_name: s.video.projectName,
      shot_scene_name: s.video.sceneName,
    }));
    sendJson(ctx.res, 200, { data, count: data.length });
  });

  route('GET', '/v1/shots/:shotId/status', (ctx) => {
    const shot = findShot(ctx.params.shotId!);
    advanceShot(shot, deps.now());
    sendJson(ctx.res, 200, { data: { shot_status: shot.status, ai_training_status: shot.training } });
  });

  route('POST', '/v1/shots/:shotId/generate', async (ctx) => {
    const body = await readJsonBody(ctx.req);
    const shot = findShot(ctx.params.shotId!);
    const audioId = requireString(body, 'audio_id');
    const outputFilename = requireString(body, 'output_filename');
    const language = requireString(body, 'language');
    const maintainExpression = optionalBoolean(body, 'maintain_expression') ?? false;
    const audio = findAudio(audioId);
    const { field, id } = newGenerateId();
    const now = deps.now();
    const g: Generation = {
      id,
      shot,
      audio,
      language,
      outputFilename,
      maintainExpression,
      createdAt: now,
      status: 'not_started',
      statusAt: now,
      failure: null,
      doomed: deps.faults.jobFails(ctx),
      output: null,
    };
    generations.set(String(id), g);
    deps.faults.created(ctx, { id: String(id), key: outputFilename, shotId: String(shot.id) });
    sendJson(ctx.res, 200, { data: { [field]: id, status: 'processing' } });
  });

  route('GET', '/v1/shots/:shotId/generate/:generateId', (ctx) => {
    const g = findGeneration(findShot(ctx.params.shotId!), ctx.params.generateId!);
    advanceGeneration(g, deps.now());
    const data: Record<string, unknown> = { status: g.status, generate_id: g.id };
    // The reason is not documented: docs-minimal leaves it out.
    if (g.status === 'failed' && config.profile !== 'docs-minimal') data.error = g.failure;
    sendJson(ctx.res, 200, { data });
  });

  route('GET', '/v1/shots/:shotId/generate/:generateId/download', async (ctx) => {
    const g = findGeneration(findShot(ctx.params.shotId!), ctx.params.generateId!);
    advanceGeneration(g, deps.now());
    if (g.status === 'failed') throw new HttpError(400, `Generation failed: ${g.failure}`);
    if (g.status !== 'finished') throw new HttpError(400, 'Generation not finished');
    const key = await produceOutput(g);
    sendJson(ctx.res, 200, { data: { download_url: store.signedUrl('GET', key, LIPDUB_OUTPUT_CONTENT_TYPE, downloadTtlSeconds(config)) } });
  });

  return {
    router,
    formatError: (ctx, err) => sendJson(ctx.res, err.status, { message: err.message }),
    running: () => {
      const now = deps.now();
      const out: RunningJob[] = [];
      // A shot runs until it is processed and its AI training ended; a generation until it finished or failed.
      for (const shot of shots.values()) {
        advanceShot(shot, now);
        const busy = shot.status === 'not_started' || shot.status === 'running' || shot.training === 'processing';
        const status = shot.status === 'finished' ? `training ${shot.training}` : shot.status;
        if (busy) out.push({ provider: 'lipdub', kind: 'shot', id: String(shot.id), status, key: shot.video.sceneName });
      }
      for (const g of generations.values()) {
        advanceGeneration(g, now);
        if (g.status !== 'finished' && g.status !== 'failed') out.push({ provider: 'lipdub', kind: 'generation', id: String(g.id), status: g.status, key: g.outputFilename });
      }
      return out;
    },
  };
}
