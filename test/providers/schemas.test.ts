import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DublabClient } from '../../src/pipelines/dublab/client';
import { DublabDubList, DublabInitDubGroupResponse } from '../../src/pipelines/dublab/schemas';
import { AistudioClient } from '../../src/pipelines/aistudio/client';
import { AistudioVideoJob } from '../../src/pipelines/aistudio/schemas';
import { RequestValidationError, ResponseValidationError } from '../../src/providers/errors';
import { LipdubClient } from '../../src/pipelines/lipdub/client';
import { LipdubGenerate, LipdubGeneration, LipdubVideoStatus } from '../../src/pipelines/lipdub/schemas';
import { Text2videoClient } from '../../src/pipelines/text2video/client';
import { Text2videoJobStatusResponse } from '../../src/pipelines/text2video/schemas';
import { VividflowClient } from '../../src/pipelines/vividflow/client';
import { VividflowJobStatusResponse, VividflowUsage } from '../../src/pipelines/vividflow/schemas';
import { providerFailure } from './support';

const dub = { id: 7, projectId: 3, name: 'a.mp4', targetLang: 'es', externalStatusId: 5, externalErrorMessage: null };

describe('documented variants parse to one shape', () => {
  it('LipDub generation ids: generate_id, generateId or id, string or number → string', () => {
    expect(LipdubGenerate.parse({ generate_id: 'g1', status: 'processing' })).toEqual({ generateId: 'g1', status: 'processing' });
    expect(LipdubGenerate.parse({ generateId: 42, status: 'processing' })).toEqual({ generateId: '42', status: 'processing' });
    expect(LipdubGenerate.parse({ id: 'g3', status: 'processing' })).toEqual({ generateId: 'g3', status: 'processing' });
    expect(LipdubGeneration.parse({ status: 'running', generate_id: 456 })).toEqual({ generateId: '456', status: 'running' });
    expect(LipdubGeneration.parse({ status: 'failed', error: 'face not found' })).toEqual({
      generateId: undefined,
      status: 'failed',
      failureReason: 'face not found',
    });
  });

  it('LipDub generation without any id is refused with a message naming the variants', () => {
    const r = LipdubGenerate.safeParse({ status: 'processing' });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toContain('generate_id, generateId or id');
  });

  it('LipDub video status before the upload: shot_id null or absent → null', () => {
    expect(LipdubVideoStatus.parse({ upload_status: 'uploading' })).toEqual({
      shot_id: null,
      upload_status: 'uploading',
      shot_status: 'not_started',
      ai_training_status: 'not_started',
    });
    expect(LipdubVideoStatus.parse({ shot_id: '746176', upload_status: 'completed', shot_status: 'running', ai_training_status: 'not_started' }))
      .toMatchObject({ shot_id: 746176 });
  });

  it('DubLab dub lists: { dubs }, { data } or a bare array; numeric ids → strings', () => {
    const expected = [expect.objectContaining({ id: '7', projectId: '3', externalStatusId: 5 })];
    expect(DublabDubList.parse({ dubs: [dub] })).toEqual(expected);
    expect(DublabDubList.parse({ data: [dub] })).toEqual(expected);
    expect(DublabDubList.parse([dub])).toEqual(expected);
  });

  it('DubLab group files: dest_lang, targetLang or lang → destLang', () => {
    const parsed = DublabInitDubGroupResponse.parse({
      projectId: 9,
      uploadUrl: 'https://s3.example.com/u?sig=1',
      files: [
        { fileId: 1, dest_lang: 'tr' },
        { fileId: '2', targetLang: 'de' },
        { fileId: 3, lang: 'es' },
      ],
    });
    expect(parsed).toEqual({
      projectId: '9',
      uploadUrl: 'https://s3.example.com/u?sig=1',
      files: [
        { fileId: '1', destLang: 'tr' },
        { fileId: '2', destLang: 'de' },
        { fileId: '3', destLang: 'es' },
      ],
    });
  });

  it('DubLab dub entries: the id as id or fileId; an undocumented status passes through', () => {
    expect(DublabDubList.parse([{ fileId: 8, externalStatusId: 6 }])).toEqual([{ id: '8', projectId: undefined, externalStatusId: 6, externalErrorMessage: null }]);
    expect(DublabDubList.parse([{ id: 'a', externalStatusId: '5' }])).toMatchObject([{ id: 'a', externalStatusId: 5 }]);
  });
});

describe('surprises become ProviderResponseInvalid through the clients', () => {
  let server: http.Server;
  let base: string;
  let body: unknown = {};

  beforeAll(async () => {
    server = http.createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('DubLab externalStatusId missing', async () => {
    body = { dubs: [{ ...dub, externalStatusId: undefined }] };
    const err = await providerFailure(new DublabClient({ baseUrl: base, apiKey: 'k-123456' }).listDubs());
    expect(err).toBeInstanceOf(ResponseValidationError);
    expect(err.message).toMatch(/^DubLab GET \/dubs: \[0\]\.externalStatusId: expected a status id .*got missing \(a read: retried/);
  });

  it('LipDub status outside the documented literals passes as text (the workflow keeps waiting); a status that is not text is refused', async () => {
    body = { data: { status: 'queued', generate_id: 'g' } };
    await expect(new LipdubClient({ baseUrl: base, apiKey: 'k-123456' }).generateStatus(1, 'g')).resolves.toEqual({ generateId: 'g', status: 'queued' });
    body = { data: { status: 5, generate_id: 'g' } };
    const err = await providerFailure(new LipdubClient({ baseUrl: base, apiKey: 'k-123456' }).generateStatus(1, 'g'));
    expect(err).toBeInstanceOf(ResponseValidationError);
    expect(err.message).toMatch(/^LipDub GET \/shots\/\{shot_id\}\/generate\/\{generate_id\}: data\.status: /);
  });

  it('LipDub generation status without an id keeps the one asked for', async () => {
    body = { data: { status: 'pending' } };
    await expect(new LipdubClient({ baseUrl: base, apiKey: 'k-123456' }).generateStatus(1, 'g-9')).resolves.toEqual({
      generateId: 'g-9',
      status: 'pending',
    });
  });
});

describe('text2video, Vivid Flow and AI Studio answers parse to camelCase', () => {
  it('text2video status: logs default to [], a failed job keeps its error, an undocumented status or an unusable progress does not fail the read', () => {
    expect(Text2videoJobStatusResponse.parse({ status: 'queued', progress: 0, message: 'Job queued', created_at: 1648656000 })).toEqual({
      status: 'queued',
      progress: 0,
      message: 'Job queued',
      createdAt: 1648656000,
      logs: [],
    });
    expect(Text2videoJobStatusResponse.parse({ status: 'failed', progress: 40, message: 'Failed', logs: ['x'], error: 'Pexels down' })).toMatchObject({
      status: 'failed',
      error: 'Pexels down',
    });
    expect(Text2videoJobStatusResponse.parse({ status: 'done', progress: 100 })).toMatchObject({ status: 'done', progress: 100 });
    expect(Text2videoJobStatusResponse.parse({ status: 'processing', progress: 140 })).toMatchObject({ progress: 100 });
    expect(Text2videoJobStatusResponse.parse({ status: 'processing', progress: '40%' })).not.toHaveProperty('progress');
    expect(Text2videoJobStatusResponse.safeParse({ progress: 40 }).success).toBe(false);
  });

  it('Vivid Flow status: result_url, metrics and error_message in camelCase', () => {
    expect(
      VividflowJobStatusResponse.parse({
        job_id: 'c2c6',
        status: 'completed',
        result_url: 'https://storage.googleapis.com/b/videos/job_123.mp4',
        metrics: { generation_time: 45.2, spin_up_time: 12.5, total_time: 57.7 },
        message: 'Job completed successfully.',
      }),
    ).toEqual({
      jobId: 'c2c6',
      status: 'completed',
      message: 'Job completed successfully.',
      resultUrl: 'https://storage.googleapis.com/b/videos/job_123.mp4',
      metrics: { generationTime: 45.2, spinUpTime: 12.5, totalTime: 57.7 },
      errorMessage: undefined,
      createdAt: undefined,
      updatedAt: undefined,
    });
    expect(VividflowJobStatusResponse.parse({ job_id: 'x', status: 'failed', error_message: 'no results' })).toMatchObject({
      status: 'failed',
      errorMessage: 'no results',
    });
    expect(VividflowJobStatusResponse.parse({ job_id: 'x', status: 'running' })).toMatchObject({ status: 'running' });
    expect(VividflowJobStatusResponse.safeParse({ job_id: 'x', status: 'completed' }).success).toBe(false);
  });

  it('Vivid Flow usage in camelCase', () => {
    expect(
      VividflowUsage.parse({
        total_jobs: 25,
        completed_jobs: 23,
        failed_jobs: 2,
        queued_jobs: 0,
        recent_24h_jobs: 5,
        credits_remaining: 495,
        daily_limit: 500,
        reset_time: '2025-01-16T00:00:00',
      }),
    ).toEqual({
      totalJobs: 25,
      completedJobs: 23,
      failedJobs: 2,
      queuedJobs: 0,
      recent24hJobs: 5,
      creditsRemaining: 495,
      dailyLimit: 500,
      resetTime: '2025-01-16T00:00:00',
    });
  });

  it('AI Studio VideoJob: only status is required when polled; nulls and unusable values read as absent', () => {
    expect(AistudioVideoJob.parse({ id: 'j', status: 'RUNNING', cloudinaryUrl: null, progressPercentage: 45 })).toMatchObject({
      id: 'j',
      status: 'RUNNING',
      cloudinaryUrl: undefined,
      progressPercentage: 45,
      logs: [],
    });
    expect(AistudioVideoJob.parse({ status: 'PAUSED', progressPercentage: 'half', cloudinaryUrl: 'data:video/mp4;base64,AAAA' })).toMatchObject({
      status: 'PAUSED',
      progressPercentage: undefined,
      cloudinaryUrl: undefined,
    });
    expect(AistudioVideoJob.safeParse({ id: 'j' }).success).toBe(false);
  });
});

describe('request limits are refused before sending, naming the field', () => {
  // Nothing listens on port 9: a request that got past validation would be a connection error.
  const nowhere = 'http://127.0.0.1:9/api/v1';
  const vivid = new VividflowClient({ baseUrl: nowhere, apiKey: 'k-123456' });
  const studio = new AistudioClient({ baseUrl: nowhere, apiKey: 't-123456' });
  const t2v = new Text2videoClient({ baseUrl: nowhere });
  const img = { prompt: 'A sunset', imageUrl: 'https://example.com/a.jpg' };
  const veo = { ...img, model: 'veo3.1' as const };
  const job = { prompt: 'A sunset', model: 'veo-3.1-fast-generate-preview', resolution: '720p', aspectRatio: '16:9', mockMode: true };

  async function refused(p: Promise<unknown>): Promise<string> {
    const err = await providerFailure(p);
    expect(err).toBeInstanceOf(RequestValidationError);
    expect(err).toMatchObject({ type: 'ProviderRequestInvalid', retryable: false, ambiguous: false });
    return err.message;
  }

  it.each([
    ['prompt missing', { imageUrl: img.imageUrl }, 'prompt: expected string, got missing'],
    ['prompt blank', { ...img, prompt: '  ' }, 'prompt: must not be empty'],
    ['no image', { prompt: 'x' }, 'imagePath: one of imagePath or imageUrl is required'],
    ['both images', { ...img, imagePath: '/tmp/a.png' }, 'imageUrl: give imagePath or imageUrl, not both'],
    ['image_url scheme', { ...img, imageUrl: 'http://example.com/a.jpg' }, 'imageUrl: expected a gs://bucket/path or https:// URL'],
    ['model', { ...img, model: 'sora' }, 'model: expected one of wan2.1|veo3.1, got "sora"'],
    ['cfg below 1.0', { ...img, cfg: 0.5 }, 'cfg: Too small: expected number to be >=1, got 0.5'],
    ['cfg above 20.0', { ...img, cfg: 20.5 }, 'cfg: Too big: expected number to be <=20, got 20.5'],
    ['width not an integer', { ...img, width: 12.5 }, 'width: '],
    ['height not positive', { ...img, height: 0 }, 'height: '],
    ['length not positive', { ...img, length: -1 }, 'length: '],
    ['steps not an integer', { ...img, steps: 1.5 }, 'steps: '],
    ['seed not an integer', { ...img, seed: 0.1 }, 'seed: '],
    ['duration_seconds', { ...veo, durationSeconds: 5 }, 'durationSeconds: expected one of 4|6|8, got 5'],
    ['resolution', { ...veo, resolution: '4k' }, 'resolution: expected one of 720p|1080p, got "4k"'],
    ['enhance_prompt', { ...veo, enhancePrompt: 'yes' }, 'enhancePrompt: expected boolean, got "yes"'],
    ['a Veo parameter on Wan 2.1', { ...img, durationSeconds: 8 }, 'durationSeconds: applies to model veo3.1 only (model is wan2.1)'],
    ['a Wan parameter on Veo 3.1', { ...veo, cfg: 7 }, 'cfg: applies to model wan2.1 only (model is veo3.1)'],
  ])('Vivid Flow generate: %s', async (_label, params, expected) => {
    const message = await refused(vivid.generate(params as never));
    expect(message.startsWith('VividFlow POST /generate: invalid request: ')).toBe(true);
    expect(message).toContain(expected);
  });

  it.each([
    ['limit 0', { limit: 0 }, 'limit: Too small'],
    ['limit 101', { limit: 101 }, 'limit: Too big'],
  ])('Vivid Flow history: %s', async (_label, params, expected) => {
    expect(await refused(vivid.history(params))).toContain(expected);
  });

  it.each([
    ['model missing', { ...job, model: undefined }, 'model: expected string, got missing'],
    ['resolution', { ...job, resolution: '4k' }, 'resolution: expected one of 720p|1080p, got "4k"'],
    ['aspectRatio', { ...job, aspectRatio: '1:1' }, 'aspectRatio: expected one of 16:9|9:16, got "1:1"'],
    ['durationSeconds', { ...job, durationSeconds: 6 }, 'durationSeconds: expected one of 4|8, got 6'],
    ['mockMode missing', { ...job, mockMode: undefined }, 'mockMode: expected boolean, got missing'],
    ['generateAudio', { ...job, generateAudio: 'true' }, 'generateAudio: expected boolean, got "true"'],
    ['4 reference images', { ...job, referenceImages: ['a', 'b', 'c', 'd'] }, 'referenceImages: at most 3 reference images'],
    ['neither prompt nor initialImage', { ...job, prompt: undefined }, 'prompt: one of prompt or initialImage is required'],
    ['initialImage not a file', { ...job, initialImage: '/no/such/frame.png' }, 'initialImage: cannot open "/no/such/frame.png" (ENOENT)'],
    ['a reference image not a file', { ...job, referenceImages: ['/no/such/ref.png'] }, 'referenceImages[0]: cannot open'],
  ])('AI Studio createJob: %s', async (_label, params, expected) => {
    const message = await refused(studio.createJob(params as never));
    expect(message.startsWith('AI Studio POST /video-jobs: invalid request: ')).toBe(true);
    expect(message).toContain(expected);
  });

  it.each([
    ['statusFilter', { statusFilter: 'DONE' }, 'statusFilter: expected one of PENDING|RUNNING|SUCCEEDED|FAILED|CANCELLED, got "DONE"'],
    ['limit', { limit: 0 }, 'limit: Too small'],
    ['offset', { offset: -1 }, 'offset: Too small'],
  ])('AI Studio listJobs: %s', async (_label, params, expected) => {
    expect(await refused(studio.listJobs(params as never))).toContain(expected);
  });

  it.each([
    ['missing', {}, 'text: expected string, got missing'],
    ['blank', { text: ' ' }, 'text: must not be empty'],
  ])('text2video generate: text %s', async (_label, params, expected) => {
    expect(await refused(t2v.generate(params as never))).toBe(`Text2Video POST /generate: invalid request: ${expected}`);
  });
});
