import { request } from 'undici';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { BadRequestError, NotFoundError, RequestValidationError, errorFromResponse } from '../../src/providers/errors';
import { TEXT2VIDEO_DEFAULT_BASE_URL, Text2videoClient } from '../../src/pipelines/text2video/client';
import { pollUntil, providerFailure } from './support';

let sb: Sandbox;
let t2v: Text2videoClient;

beforeAll(async () => {
  sb = await startSandbox({ timings: { text2video: { queueMs: 20, stageMs: 20 } } });
  t2v = Text2videoClient.fromEnv(sb.env());
});

afterAll(async () => {
  await sb?.close();
});

const finished = (s: { status: string }) => s.status === 'completed' || s.status === 'failed';
const calls = (): number => Object.entries(sb.counters()).reduce((n, [k, v]) => (k.startsWith('text2video ') ? n + v : n), 0);

/** GET the download URL the way the streaming downloader does, classifying non-2xx the same way. */
async function fetchDownload(url: string): Promise<{ status: number; type: string | undefined; disposition: string | undefined; bytes: number }> {
  const res = await request(url);
  const body = Buffer.from(await res.body.arrayBuffer());
  if (res.statusCode >= 300) {
    throw errorFromResponse({ provider: 'text2video', endpoint: 'GET /download/{job_id}', status: res.statusCode, headers: res.headers, body: body.toString() });
  }
  const h = (n: string) => (Array.isArray(res.headers[n]) ? res.headers[n][0] : (res.headers[n] as string | undefined));
  return { status: res.statusCode, type: h('content-type'), disposition: h('content-disposition'), bytes: body.length };
}

describe('Text2videoClient against the sandbox', () => {
  it('runs a job end to end: generate, poll progress and logs, list, download', async () => {
    const started = await t2v.generate({ text: 'Once upon a time, in a faraway land...' });
    expect(started).toEqual({ jobId: expect.any(String), status: 'queued', message: expect.any(String) });

    const seen = new Set<number>();
    const done = await pollUntil(
      async () => {
        const s = await t2v.status(started.jobId);
        seen.add(s.progress!);
        return s;
      },
      finished,
    );
    expect(done).toMatchObject({ status: 'completed', progress: 100, createdAt: expect.any(Number) });
    expect(done.logs.length).toBeGreaterThan(0);
    for (const p of seen) expect([0, 20, 40, 60, 80, 90, 100]).toContain(p);

    const listed = (await t2v.listJobs()).find((j) => j.jobId === started.jobId);
    expect(listed).toMatchObject({ jobId: started.jobId, status: 'completed', progress: 100, logs: done.logs });

    const file = await fetchDownload(t2v.downloadUrl(started.jobId));
    expect(file).toMatchObject({ status: 200, type: 'video/mp4' });
    expect(file.disposition).toContain(`generated_video_${started.jobId}.mp4`);
    expect(file.bytes).toBeGreaterThan(0);
    expect(t2v.download(started.jobId)).toEqual({ url: t2v.downloadUrl(started.jobId), headers: {} });
  });

  it('reports a failed job with its reason', async () => {
    sb.configure({ text2video: { failTexts: ['doomed story'] } });
    try {
      const { jobId } = await t2v.generate({ text: 'A doomed story' });
      const s = await pollUntil(() => t2v.status(jobId), finished);
      expect(s.status).toBe('failed');
      expect(s.error ?? s.message).not.toBe('');
    } finally {
      sb.configure({ text2video: { failTexts: [] } });
    }
  });

  it('answers 400 when downloading before the video is ready', async () => {
    sb.configure({ timings: { text2video: { queueMs: 2000 } } });
    try {
      const { jobId } = await t2v.generate({ text: 'Not ready yet' });
      expect((await t2v.status(jobId)).status).toBe('queued');
      const err = await providerFailure(fetchDownload(t2v.downloadUrl(jobId)));
      expect(err).toBeInstanceOf(BadRequestError);
      expect(err.providerMessage).toBe('Video not ready for download');
    } finally {
      sb.configure({ timings: { text2video: { queueMs: 20 } } });
    }
  });

  it('forgets every job on restart: status, download and list answer 404 / nothing', async () => {
    const { jobId } = await t2v.generate({ text: 'Before the restart' });
    await pollUntil(() => t2v.status(jobId), finished);
    sb.restartText2video();

    const err = await providerFailure(t2v.status(jobId));
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err).toMatchObject({ status: 404, type: 'NotFound', retryable: false, endpoint: 'GET /status/{job_id}', providerMessage: 'Job not found' });
    expect(err.message).toBe('Text2Video 404 on GET /status/{job_id}: Job not found');
    expect(await providerFailure(fetchDownload(t2v.downloadUrl(jobId)))).toBeInstanceOf(NotFoundError);
    expect((await t2v.listJobs()).find((j) => j.jobId === jobId)).toBeUndefined();
  });

  it('refuses an empty text before sending', async () => {
    sb.resetCounters();
    for (const text of ['', '   ']) {
      const err = await providerFailure(t2v.generate({ text }));
      expect(err).toBeInstanceOf(RequestValidationError);
      expect(err.message).toBe('Text2Video POST /generate: invalid request: text: must not be empty');
    }
    expect(calls()).toBe(0);
  });

  it('fromEnv needs no key and defaults to the documented URL', () => {
    expect(() => Text2videoClient.fromEnv({})).not.toThrow();
    expect(Text2videoClient.fromEnv({}).downloadUrl('j')).toBe(`${TEXT2VIDEO_DEFAULT_BASE_URL}/download/j`);
    expect(() => Text2videoClient.fromEnv({ TEXT2VIDEO_BASE_URL: 'ftp://x' })).toThrow(/TEXT2VIDEO_BASE_URL/);
  });
});
