import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import {
  AuthenticationError,
  BadRequestError,
  NotFoundError,
  PermissionDeniedError,
  ProviderConfigError,
  RateLimitError,
  RequestValidationError,
} from '../../src/providers/errors';
import { createHttpClient } from '../../src/providers/http';
import { VividflowClient } from '../../src/pipelines/vividflow/client';
import type { VividflowGenerateRequest } from '../../src/pipelines/vividflow/schemas';
import { z } from 'zod';
import { getSigned, pollUntil, providerFailure } from './support';

const OTHER_KEY = 'sandbox-vividflow-other-key';

let sb: Sandbox;
let vivid: VividflowClient;
let dir: string;
let image: string;

beforeAll(async () => {
  sb = await startSandbox({ timings: { vividflow: { processMs: 300, workers: 1 } }, vividflow: { extraKeys: [OTHER_KEY] } });
  vivid = VividflowClient.fromEnv(sb.env());
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'reelay-vivid-'));
  image = path.join(dir, 'city.png');
  await fsp.writeFile(image, Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(20_000, 5)]));
});

afterAll(async () => {
  await sb?.close();
  if (dir) await fsp.rm(dir, { recursive: true, force: true });
});

const finished = (s: { status: string }) => ['completed', 'failed', 'cancelled'].includes(s.status);
const calls = (): number => Object.entries(sb.counters()).reduce((n, [k, v]) => (k.startsWith('vividflow ') ? n + v : n), 0);

describe('VividflowClient against the sandbox', () => {
  it('runs a Veo 3.1 job from a local image: generate (multipart), poll, result_url, metrics', async () => {
    const started = await vivid.generate({ prompt: 'A cinematic shot of a futuristic city', model: 'veo3.1', durationSeconds: 6, imagePath: image });
    expect(started).toMatchObject({ jobId: expect.any(String), status: 'queued', message: expect.any(String) });

    const done = await pollUntil(() => vivid.status(started.jobId), finished);
    expect(done).toMatchObject({ jobId: started.jobId, status: 'completed', resultUrl: expect.stringMatching(/^https?:\/\//) });
    expect(done.metrics).toEqual({ generationTime: expect.any(Number), spinUpTime: expect.any(Number), totalTime: expect.any(Number) });
    const file = await getSigned(done.resultUrl!);
    expect(file.status).toBe(200);
    expect(file.bytes).toBeGreaterThan(0);
  });

  it('runs a Wan 2.1 job from a gs:// image_url (urlencoded)', async () => {
    const started = await vivid.generate({ prompt: 'A sunset over mountains', imageUrl: 'gs://your-bucket/images/sunset.jpg', cfg: 9, steps: 20, seed: 7 });
    const done = await pollUntil(() => vivid.status(started.jobId), finished);
    expect(done.status).toBe('completed');
  });

  it('reports a failed job with its error_message', async () => {
    sb.configure({ vividflow: { failPrompts: ['doomed'] } });
    try {
      const { jobId } = await vivid.generate({ prompt: 'A doomed shot', imageUrl: 'gs://b/doomed.jpg' });
      const s = await pollUntil(() => vivid.status(jobId), finished);
      expect(s.status).toBe('failed');
      expect(s.errorMessage).toEqual(expect.any(String));
    } finally {
      sb.configure({ vividflow: { failPrompts: [] } });
    }
  });

  it('cancels a queued job; a processing one is a 400 naming its status', async () => {
    const first = await vivid.generate({ prompt: 'First', imageUrl: 'gs://b/1.jpg' });
    const second = await vivid.generate({ prompt: 'Second', imageUrl: 'gs://b/2.jpg' });
    await expect(vivid.cancel(second.jobId)).resolves.toEqual({ message: expect.any(String), jobId: second.jobId });
    expect((await vivid.status(second.jobId)).status).toBe('cancelled');

    await pollUntil(() => vivid.status(first.jobId), (s) => s.status !== 'queued');
    const err = await providerFailure(vivid.cancel(first.jobId));
    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.endpoint).toBe('POST /cancel/{job_id}');
    expect(err.providerMessage).toMatch(/cannot be cancelled/i);
    await pollUntil(() => vivid.status(first.jobId), finished);
  });

  it('lists history newest first within the limit, and usage', async () => {
    const h = await vivid.history({ limit: 2 });
    expect(h.count).toBe(2);
    expect(h.jobs).toHaveLength(2);
    expect(h.jobs[0]).toMatchObject({ jobId: expect.any(String), status: expect.any(String), prompt: expect.any(String) });
    const all = await vivid.history({ limit: 100 });
    expect(all.jobs.slice(0, 2).map((j) => j.jobId)).toEqual(h.jobs.map((j) => j.jobId));

    const u = await vivid.usage();
    expect(u).toMatchObject({ totalJobs: all.count, creditsRemaining: expect.any(Number), dailyLimit: expect.any(Number) });
    expect(u.completedJobs).toBeGreaterThan(0);
    expect(u.creditsRemaining).toBeLessThan(u.dailyLimit!);
  });

  it('answers 429 over the hourly limit with retry_after as retryAfterMs', async () => {
    sb.configure({ vividflow: { hourlyLimit: 1 } });
    try {
      const err = await providerFailure(vivid.usage());
      expect(err).toBeInstanceOf(RateLimitError);
      expect(err).toMatchObject({ status: 429, type: 'RateLimited', retryable: true, endpoint: 'GET /usage' });
      expect(err.retryAfterMs).toBeGreaterThan(0);
      expect(err.retryAfterMs).toBeLessThanOrEqual(3_600_000);
    } finally {
      sb.configure({ vividflow: { hourlyLimit: 500 } });
    }
  });

  it('carries a server 400 details[] in the error details and message', async () => {
    // The client refuses this before sending; a raw call shows how the server's answer is classified.
    const raw = createHttpClient({ provider: 'vividflow', baseUrl: sb.urls.vividflow, headers: { 'x-api-key': sb.keys.vividflow } });
    const body = new URLSearchParams({ prompt: 'x', model: 'veo3.1', duration_seconds: '5', image_url: 'gs://b/x.jpg' });
    const err = await providerFailure(raw.call({ method: 'POST', path: '/generate', endpoint: 'POST /generate', body, schema: z.unknown() }));
    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.details).toEqual(expect.arrayContaining([expect.stringContaining('duration_seconds')]));
    expect(err.message).toMatch(/^VividFlow 400 on POST \/generate: .+\(.*duration_seconds.*\)$/);
  });

  it.each<[string, VividflowGenerateRequest, string]>([
    ['no image', { prompt: 'x' }, 'imagePath: one of imagePath or imageUrl is required'],
    ['cfg out of 1.0–20.0', { prompt: 'x', imageUrl: 'gs://b/x.jpg', cfg: 25 }, 'cfg: Too big'],
    ['duration_seconds not 4|6|8', { prompt: 'x', imageUrl: 'gs://b/x.jpg', model: 'veo3.1', durationSeconds: 5 as never }, 'durationSeconds: expected one of 4|6|8'],
    ['resolution', { prompt: 'x', imageUrl: 'gs://b/x.jpg', model: 'veo3.1', resolution: '4k' as never }, 'resolution: expected one of 720p|1080p'],
    ['missing image file', { prompt: 'x', imagePath: '/no/such/image.png' }, 'imagePath: cannot open'],
  ])('refuses %s before sending', async (_label, params, expected) => {
    sb.resetCounters();
    const err = await providerFailure(vivid.generate(params));
    expect(err).toBeInstanceOf(RequestValidationError);
    expect(err.message).toContain(expected);
    expect(await providerFailure(vivid.history({ limit: 101 }))).toBeInstanceOf(RequestValidationError);
    expect(calls()).toBe(0);
  });

  it("answers 404 for an unknown job and 403 for another key's job", async () => {
    const missing = await providerFailure(vivid.status('no-such-job'));
    expect(missing).toBeInstanceOf(NotFoundError);
    expect(missing).toMatchObject({ status: 404, endpoint: 'GET /status/{job_id}' });

    const { jobId } = await vivid.generate({ prompt: 'Mine', imageUrl: 'gs://b/m.jpg' });
    const other = new VividflowClient({ baseUrl: sb.urls.vividflow, apiKey: OTHER_KEY });
    expect(await providerFailure(other.status(jobId))).toBeInstanceOf(PermissionDeniedError);
    await pollUntil(() => vivid.status(jobId), finished);
  });

  it('fails with 401 on a wrong key, without leaking the key', async () => {
    const wrong = new VividflowClient({ baseUrl: sb.urls.vividflow, apiKey: 'definitely-wrong-key' });
    const err = await providerFailure(wrong.usage());
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err).toMatchObject({ status: 401, type: 'Unauthorized', retryable: false, endpoint: 'GET /usage' });
    expect(JSON.stringify(err.toJSON())).not.toContain('definitely-wrong-key');
  });

  it('fromEnv names the missing variable', () => {
    expect(() => VividflowClient.fromEnv({})).toThrow(ProviderConfigError);
    expect(() => VividflowClient.fromEnv({})).toThrow(/VIVIDFLOW_API_KEY/);
  });
});
