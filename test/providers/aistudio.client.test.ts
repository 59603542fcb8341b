import { mkdtempSync, promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { AistudioClient } from '../../src/pipelines/aistudio/client';
import type { AistudioCreateJobRequest } from '../../src/pipelines/aistudio/schemas';
import {
  AuthenticationError,
  BadRequestError,
  InsufficientCreditsError,
  NotFoundError,
  ProviderConfigError,
  RateLimitError,
  RequestValidationError,
} from '../../src/providers/errors';
import { getSigned, pollUntil, providerFailure } from './support';

let sb: Sandbox;
let studio: AistudioClient;
// Created at load time: the it.each tables below name files in it.
const dir = mkdtempSync(path.join(os.tmpdir(), 'reelay-aistudio-'));
const img = (n: string) => path.join(dir, n);

beforeAll(async () => {
  sb = await startSandbox({ timings: { aistudio: { pendingMs: 100, runMs: 150 } } });
  studio = AistudioClient.fromEnv(sb.env());
  for (const n of ['first.png', 'last.png', 'r1.jpg', 'r2.jpg', 'r3.jpg']) {
    await fsp.writeFile(img(n), Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47]), Buffer.alloc(5000, 9)]));
  }
});

afterAll(async () => {
  await sb?.close();
  await fsp.rm(dir, { recursive: true, force: true });
});

const base: AistudioCreateJobRequest = {
  prompt: 'A cinematic shot of a sunset over mountains',
  model: 'veo-3.1-fast-generate-preview',
  resolution: '1080p',
  aspectRatio: '16:9',
  durationSeconds: 8,
  mockMode: true,
};
const finished = (j: { status: string }) => ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(j.status);
const calls = (): number => Object.entries(sb.counters()).reduce((n, [k, v]) => (k.startsWith('aistudio ') ? n + v : n), 0);

describe('AistudioClient against the sandbox', () => {
  it('runs a job end to end: create, poll, download redirect, fetch the video', async () => {
    const job = await studio.createJob(base);
    expect(job).toMatchObject({ id: expect.any(String), status: 'PENDING', prompt: base.prompt, resolution: '1080p', aspectRatio: '16:9', tokensConsumed: 50 });

    const done = await pollUntil(() => studio.getJob(job.id), finished);
    expect(done).toMatchObject({ status: 'SUCCEEDED', progressPercentage: 100, cloudinaryUrl: expect.stringMatching(/^https?:\/\//) });
    expect(done.logs.length).toBeGreaterThan(0);

    const { location } = await studio.downloadUrl(job.id);
    expect(location).toMatch(/^https?:\/\//);
    const file = await getSigned(location);
    expect(file.status).toBe(200);
    expect(file.bytes).toBeGreaterThan(0);
  });

  it('sends images as file parts: initialImage without prompt, endFrame, 3 referenceImages', async () => {
    const job = await studio.createJob({
      ...base,
      prompt: undefined,
      generateAudio: true,
      initialImage: img('first.png'),
      endFrame: img('last.png'),
      referenceImages: [img('r1.jpg'), img('r2.jpg'), img('r3.jpg')],
    });
    expect(job.status).toBe('PENDING');
    expect((await pollUntil(() => studio.getJob(job.id), finished)).status).toBe('SUCCEEDED');
  });

  it('reports a failed job with its errorMessage', async () => {
    sb.configure({ aistudio: { failPrompts: ['doomed'] } });
    try {
      const job = await studio.createJob({ ...base, prompt: 'A doomed sunset' });
      const done = await pollUntil(() => studio.getJob(job.id), finished);
      expect(done.status).toBe('FAILED');
      expect(done.errorMessage).toEqual(expect.any(String));
      const err = await providerFailure(studio.downloadUrl(job.id));
      expect(err).toBeInstanceOf(BadRequestError);
    } finally {
      sb.configure({ aistudio: { failPrompts: [] } });
    }
  });

  it('answers 400 on download before SUCCEEDED (a redirect is not an error, a 400 is)', async () => {
    const job = await studio.createJob(base);
    const err = await providerFailure(studio.downloadUrl(job.id));
    expect(err).toBeInstanceOf(BadRequestError);
    expect(err).toMatchObject({ status: 400, endpoint: 'GET /video-jobs/{id}/download' });
    expect(err.providerMessage).not.toBe('');
    await pollUntil(() => studio.getJob(job.id), finished);
  });

  it('lists jobs with status_filter, limit, offset and total', async () => {
    const all = await studio.listJobs();
    expect(all.total).toBeGreaterThanOrEqual(3);
    const succeeded = await studio.listJobs({ statusFilter: 'SUCCEEDED' });
    expect(succeeded.jobs.every((j) => j.status === 'SUCCEEDED')).toBe(true);
    const page = await studio.listJobs({ limit: 1, offset: 1 });
    expect(page.jobs).toHaveLength(1);
    expect(page.total).toBe(all.total);
    expect(page.jobs[0]!.id).toBe(all.jobs[1]!.id);
  });

  it('deletes a job record: 204, then 404', async () => {
    const job = await studio.createJob(base);
    await pollUntil(() => studio.getJob(job.id), finished);
    await expect(studio.deleteJob(job.id)).resolves.toBeUndefined();
    const err = await providerFailure(studio.getJob(job.id));
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err).toMatchObject({ status: 404, endpoint: 'GET /video-jobs/{id}' });
    expect(await providerFailure(studio.downloadUrl(job.id))).toBeInstanceOf(NotFoundError);
    expect(await providerFailure(studio.deleteJob(job.id))).toBeInstanceOf(NotFoundError);
  });

  it('answers 402 with cost and availableTokens in the message and details', async () => {
    const before = sb.config().aistudio.tokens;
    sb.configure({ aistudio: { tokens: 20 } });
    try {
      const err = await providerFailure(studio.createJob(base));
      expect(err).toBeInstanceOf(InsufficientCreditsError);
      expect(err).toMatchObject({ status: 402, type: 'PaymentRequired', retryable: false });
      expect(err.details).toMatchObject({ cost: 50, availableTokens: 20 });
      expect(err.message).toContain('(tokens: cost 50, available 20)');
    } finally {
      sb.configure({ aistudio: { tokens: before } });
    }
  });

  it('answers 429 over the concurrent-job limit, with no retry delay', async () => {
    sb.configure({ aistudio: { maxConcurrent: 1 } });
    try {
      const first = await studio.createJob(base);
      const err = await providerFailure(studio.createJob(base));
      expect(err).toBeInstanceOf(RateLimitError);
      expect(err).toMatchObject({ status: 429, type: 'RateLimited', retryable: true, retryAfterMs: undefined, endpoint: 'POST /video-jobs' });
      expect(err.providerMessage).toMatch(/concurrent/i);
      await pollUntil(() => studio.getJob(first.id), finished);
    } finally {
      sb.configure({ aistudio: { maxConcurrent: 3 } });
    }
  });

  it.each<[string, AistudioCreateJobRequest, string]>([
    ['resolution', { ...base, resolution: '4k' as never }, 'resolution: expected one of 720p|1080p'],
    ['aspectRatio', { ...base, aspectRatio: '1:1' as never }, 'aspectRatio: expected one of 16:9|9:16'],
    ['durationSeconds', { ...base, durationSeconds: 6 as never }, 'durationSeconds: expected one of 4|8'],
    ['4 referenceImages', { ...base, referenceImages: [img('r1.jpg'), img('r2.jpg'), img('r3.jpg'), img('first.png')] }, 'referenceImages: at most 3'],
    ['neither prompt nor initialImage', { ...base, prompt: undefined }, 'prompt: one of prompt or initialImage is required'],
    ['mockMode missing', { ...base, mockMode: undefined as never }, 'mockMode: expected boolean, got missing'],
    ['an image that is not a file', { ...base, endFrame: img('missing.png') }, 'endFrame: cannot open'],
  ])('refuses %s before sending', async (_label, params, expected) => {
    sb.resetCounters();
    const err = await providerFailure(studio.createJob(params));
    expect(err).toBeInstanceOf(RequestValidationError);
    expect(err.message).toContain(expected);
    expect(calls()).toBe(0);
  });

  it('fails with 401 on a wrong token, without leaking it', async () => {
    const wrong = new AistudioClient({ baseUrl: sb.urls.aistudio, apiKey: 'definitely-wrong-token' });
    const err = await providerFailure(wrong.listJobs());
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err).toMatchObject({ status: 401, type: 'Unauthorized', retryable: false, endpoint: 'GET /video-jobs' });
    expect(err.providerMessage).not.toBe('');
    expect(JSON.stringify(err.toJSON())).not.toContain('definitely-wrong-token');
  });

  it('fromEnv names the missing variable', () => {
    expect(() => AistudioClient.fromEnv({})).toThrow(ProviderConfigError);
    expect(() => AistudioClient.fromEnv({})).toThrow(/AISTUDIO_TOKEN/);
  });
});
