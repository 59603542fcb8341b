/**
 * What goes on the wire for the form-based providers (VividFlow, AI Studio) and how their
 * documented error bodies and the AI Studio 302 come back, against a real node:http server.
 */
import { promises as fsp } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { AistudioClient } from '../../src/pipelines/aistudio/client';
import {
  BadRequestError,
  InsufficientCreditsError,
  RateLimitError,
  RequestValidationError,
  ResponseValidationError,
} from '../../src/providers/errors';
import { Text2videoClient, text2videoDownloadUrl } from '../../src/pipelines/text2video/client';
import { VividflowClient } from '../../src/pipelines/vividflow/client';
import { providerFailure } from './support';

type Seen = { method: string; url: string; headers: http.IncomingHttpHeaders; body: Buffer };
type Handler = (req: Seen, res: http.ServerResponse) => void;

const KEY = 'vf-secret-key-0123456789';
const TOKEN = 'ai-studio-jwt-0123456789';
const JOB = { id: 'job-1', status: 'PENDING', logs: [{ timestamp: '2024-01-15T10:30:00Z', level: 'info', message: 'Job created' }] };

let server: http.Server;
let base: string;
let handler: Handler;
let dir: string;
const seen: Seen[] = [];

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** Parses a multipart or urlencoded body the way a server framework would. */
async function formOf(s: Seen): Promise<FormData> {
  return new Request('http://x/', { method: 'POST', headers: { 'content-type': s.headers['content-type']! }, body: s.body }).formData();
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) };
      seen.push(s);
      handler(s, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'reelay-enc-'));
  await fsp.writeFile(path.join(dir, 'frame.png'), Buffer.alloc(300_000, 1));
  await fsp.writeFile(path.join(dir, 'end.jpg'), Buffer.alloc(1000, 2));
  for (const n of [1, 2, 3, 4]) await fsp.writeFile(path.join(dir, `ref${n}.webp`), Buffer.alloc(100 * n, n));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await fsp.rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  seen.length = 0;
  handler = (_s, res) => json(res, 500, { error: 'no handler' });
});

const vivid = () => new VividflowClient({ baseUrl: base, apiKey: KEY });
const studio = () => new AistudioClient({ baseUrl: base, apiKey: TOKEN });
const accepted = { message: 'Generation job accepted', job_id: 'c2c6', status: 'queued', estimated_wait_time: '~2-5 minutes' };

describe('VividFlow POST /generate encoding', () => {
  it('sends a local image as a multipart file part named image, with snake_case string fields', async () => {
    handler = (_s, res) => json(res, 202, accepted);
    const res = await vivid().generate({
      prompt: 'A cinematic shot',
      model: 'veo3.1',
      imagePath: path.join(dir, 'frame.png'),
      durationSeconds: 6,
      cameraMotion: 'Pan (right)',
      enhancePrompt: true,
    });
    expect(res).toEqual({ jobId: 'c2c6', status: 'queued', message: 'Generation job accepted', estimatedWaitTime: '~2-5 minutes' });

    const s = seen[0]!;
    expect(s).toMatchObject({ method: 'POST', url: '/api/v1/generate' });
    expect(s.headers['x-api-key']).toBe(KEY);
    expect(s.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(Number(s.headers['content-length'])).toBe(s.body.length); // sized up front, not chunked
    const form = await formOf(s);
    expect(Object.fromEntries([...form.entries()].filter(([, v]) => typeof v === 'string'))).toEqual({
      prompt: 'A cinematic shot',
      model: 'veo3.1',
      duration_seconds: '6',
      camera_motion: 'Pan (right)',
      enhance_prompt: 'true',
    });
    const image = form.get('image') as File;
    expect(image.name).toBe('frame.png');
    expect(image.type).toBe('image/png');
    expect(image.size).toBe(300_000);
  });

  it('sends image_url urlencoded, with the Wan 2.1 parameters', async () => {
    handler = (_s, res) => json(res, 202, accepted);
    await vivid().generate({
      prompt: 'A sunset',
      imageUrl: 'gs://bucket/images/sunset.jpg',
      negativePrompt: 'blurry',
      cfg: 12.5,
      width: 640,
      height: 360,
      length: 49,
      steps: 20,
      seed: -3,
    });
    const s = seen[0]!;
    expect(s.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(s.body.toString('utf8')))).toEqual({
      prompt: 'A sunset',
      negative_prompt: 'blurry',
      cfg: '12.5',
      width: '640',
      height: '360',
      length: '49',
      steps: '20',
      seed: '-3',
      image_url: 'gs://bucket/images/sunset.jpg',
    });
  });

  it('refuses an image path that is not a file, naming the field, before sending', async () => {
    const err = await providerFailure(vivid().generate({ prompt: 'x', imagePath: path.join(dir, 'missing.png') }));
    expect(err).toBeInstanceOf(RequestValidationError);
    expect(err.message).toMatch(/^VividFlow POST \/generate: invalid request: imagePath: cannot open ".*missing\.png" \(ENOENT\)$/);
    expect(await providerFailure(vivid().generate({ prompt: 'x', imagePath: dir }))).toBeInstanceOf(RequestValidationError);
    expect(seen).toHaveLength(0);
  });

  it('puts a 400 details[] in the error details and in the message', async () => {
    handler = (_s, res) => json(res, 400, { error: 'Invalid parameters', details: ['duration_seconds must be 4, 6, or 8'] });
    const err = await providerFailure(vivid().generate({ prompt: 'x', imageUrl: 'https://example.com/a.jpg' }));
    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.details).toEqual(['duration_seconds must be 4, 6, or 8']);
    expect(err.message).toBe('VividFlow 400 on POST /generate: Invalid parameters (duration_seconds must be 4, 6, or 8)');
  });

  it('reads a 429 body retry_after as retryAfterMs', async () => {
    handler = (_s, res) => json(res, 429, { error: 'Rate limit exceeded', details: '429 Too Many Requests', retry_after: 3600 });
    const err = await providerFailure(vivid().usage());
    expect(err).toBeInstanceOf(RateLimitError);
    expect(err).toMatchObject({ retryable: true, retryAfterMs: 3_600_000, providerMessage: 'Rate limit exceeded' });
  });

  it('sends history limit as a query parameter and maps the answer to camelCase', async () => {
    handler = (_s, res) =>
      json(res, 200, {
        count: 1,
        jobs: [{ job_id: 'abc', status: 'completed', prompt: 'A sunset', result_url: 'https://cdn.example.com/v.mp4', created_at: '2025-01-15T10:30:00' }],
      });
    await expect(vivid().history({ limit: 5 })).resolves.toEqual({
      count: 1,
      jobs: [{ jobId: 'abc', status: 'completed', prompt: 'A sunset', resultUrl: 'https://cdn.example.com/v.mp4', createdAt: '2025-01-15T10:30:00' }],
    });
    await vivid().history();
    expect(seen.map((s) => s.url)).toEqual(['/api/v1/history?limit=5', '/api/v1/history']);
  });
});

describe('AI Studio POST /video-jobs encoding', () => {
  it('sends camelCase fields and every image as a streamed file part', async () => {
    handler = (_s, res) => json(res, 202, { ...JOB, tokensConsumed: 50 });
    const job = await studio().createJob({
      prompt: 'A sunset over mountains',
      model: 'veo-3.1-fast-generate-preview',
      resolution: '1080p',
      aspectRatio: '9:16',
      durationSeconds: 8,
      mockMode: true,
      generateAudio: false,
      initialImage: path.join(dir, 'frame.png'),
      endFrame: path.join(dir, 'end.jpg'),
      referenceImages: [1, 2, 3].map((n) => path.join(dir, `ref${n}.webp`)),
    });
    expect(job).toMatchObject({ id: 'job-1', status: 'PENDING', tokensConsumed: 50, logs: [expect.objectContaining({ message: 'Job created' })] });

    const s = seen[0]!;
    expect(s.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(s.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    const form = await formOf(s);
    expect(Object.fromEntries([...form.entries()].filter(([, v]) => typeof v === 'string'))).toEqual({
      prompt: 'A sunset over mountains',
      model: 'veo-3.1-fast-generate-preview',
      resolution: '1080p',
      aspectRatio: '9:16',
      durationSeconds: '8',
      mockMode: 'true',
      generateAudio: 'false',
    });
    expect((form.get('initialImage') as File).size).toBe(300_000);
    expect((form.get('endFrame') as File).type).toBe('image/jpeg');
    expect((form.getAll('referenceImages') as File[]).map((f) => [f.name, f.size])).toEqual([
      ['ref1.webp', 100],
      ['ref2.webp', 200],
      ['ref3.webp', 300],
    ]);
  });

  it('returns the 302 Location of /download without following it', async () => {
    handler = (_s, res) => {
      res.writeHead(302, { location: 'https://res.cloudinary.com/demo/video/upload/v1/ai_studio/videos/job-1.mp4' });
      res.end();
    };
    await expect(studio().downloadUrl('job-1')).resolves.toEqual({
      location: 'https://res.cloudinary.com/demo/video/upload/v1/ai_studio/videos/job-1.mp4',
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.url).toBe('/api/v1/video-jobs/job-1/download');
  });

  it('resolves a relative Location against the request URL', async () => {
    handler = (_s, res) => {
      res.writeHead(302, { location: '/files/job-1.mp4' });
      res.end();
    };
    await expect(studio().downloadUrl('job-1')).resolves.toEqual({ location: `${new URL(base).origin}/files/job-1.mp4` });
  });

  it('treats a 2xx or a redirect without Location on /download as a surprise, and a 400 as an error', async () => {
    handler = (_s, res) => json(res, 200, { url: 'https://x' });
    expect(await providerFailure(studio().downloadUrl('job-1'))).toBeInstanceOf(ResponseValidationError);
    handler = (_s, res) => {
      res.writeHead(302);
      res.end();
    };
    const noLocation = await providerFailure(studio().downloadUrl('job-1'));
    expect(noLocation).toBeInstanceOf(ResponseValidationError);
    expect(noLocation.message).toContain('without Location');
    handler = (_s, res) => json(res, 400, { detail: 'Video not ready yet' });
    const notReady = await providerFailure(studio().downloadUrl('job-1'));
    expect(notReady).toBeInstanceOf(BadRequestError);
    expect(notReady.message).toBe('AI Studio 400 on GET /video-jobs/{id}/download: Video not ready yet');
  });

  it('puts cost and availableTokens of a 402 in the message and the details', async () => {
    const detail = { message: "Insufficient tokens. Operation 'video_generation' costs 50 tokens but you have 20.", cost: 50, availableTokens: 20 };
    handler = (_s, res) => json(res, 402, { detail });
    const err = await providerFailure(studio().createJob({ prompt: 'x', model: 'm', resolution: '720p', aspectRatio: '16:9', mockMode: true }));
    expect(err).toBeInstanceOf(InsufficientCreditsError);
    expect(err.details).toEqual(detail);
    expect(err.message).toBe(`AI Studio 402 on POST /video-jobs: ${detail.message} (tokens: cost 50, available 20)`);
  });

  it('sends list filters as status_filter, limit, offset', async () => {
    handler = (_s, res) => json(res, 200, { jobs: [JOB], total: 42 });
    await expect(studio().listJobs({ statusFilter: 'RUNNING', limit: 10, offset: 20 })).resolves.toMatchObject({ total: 42, jobs: [{ id: 'job-1' }] });
    expect(seen[0]!.url).toBe('/api/v1/video-jobs?status_filter=RUNNING&limit=10&offset=20');
  });

  it('deletes with a 204', async () => {
    handler = (_s, res) => {
      res.statusCode = 204;
      res.end();
    };
    await expect(studio().deleteJob('job-1')).resolves.toBeUndefined();
    expect(seen[0]).toMatchObject({ method: 'DELETE', url: '/api/v1/video-jobs/job-1' });
  });
});

describe('text2video', () => {
  it('builds the download URL with the job id as one encoded segment', () => {
    expect(text2videoDownloadUrl('http://localhost:5000/api/v1/', 'a/b c')).toBe('http://localhost:5000/api/v1/download/a%2Fb%20c');
    expect(new Text2videoClient({ baseUrl: base }).downloadUrl('550e8400')).toBe(`${base}/download/550e8400`);
    expect(() => new Text2videoClient({ baseUrl: base }).downloadUrl('..')).toThrow(/Refusing path segment/);
  });

  it('lists jobs from the { jobs: { <id>: job } } map', async () => {
    handler = (_s, res) =>
      json(res, 200, {
        jobs: {
          j1: { status: 'completed', progress: 100, message: 'Video generation completed', created_at: 1648656000, output_file: 'output/video_j1.mp4', logs: ['a'] },
          j2: { status: 'processing', progress: 60, message: 'Generating video search queries...', created_at: 1648656001, logs: [] },
        },
      });
    await expect(new Text2videoClient({ baseUrl: base }).listJobs()).resolves.toEqual([
      { jobId: 'j1', status: 'completed', progress: 100, message: 'Video generation completed', createdAt: 1648656000, logs: ['a'], outputFile: 'output/video_j1.mp4' },
      { jobId: 'j2', status: 'processing', progress: 60, message: 'Generating video search queries...', createdAt: 1648656001, logs: [] },
    ]);
  });

  it('sends no auth header', async () => {
    handler = (_s, res) => json(res, 202, { job_id: 'j', status: 'queued', message: 'Video generation started' });
    await new Text2videoClient({ baseUrl: base }).generate({ text: 'Once upon a time' });
    expect(seen[0]!.headers.authorization).toBeUndefined();
    expect(seen[0]!.headers['x-api-key']).toBeUndefined();
    expect(seen[0]!.body.toString()).toBe('{"text":"Once upon a time"}');
  });
});
