import { request } from 'undici';
import { sha256Hex, text2videoOutput } from '../../src/sandbox/derive';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { api, pollUntil, sleep } from './helpers';

const FAST = { text2video: { queueMs: 20, stageMs: 25 } };

/** The logs a job shows at each progress value (the docs' example at 60 is the third entry). */
const LOGS_AT: Record<number, string[]> = {
  0: [],
  20: ['Starting audio generation...'],
  40: ['Starting audio generation...', 'Audio generation completed', 'Starting caption generation...'],
  60: [
    'Starting audio generation...',
    'Audio generation completed',
    'Starting caption generation...',
    'Caption generation completed',
    'Starting search query generation...',
  ],
};
LOGS_AT[80] = [...LOGS_AT[60]!, 'Search query generation completed', 'Starting background video fetching...'];
LOGS_AT[90] = [...LOGS_AT[80]!, 'Background video fetching completed', 'Starting video rendering...'];
LOGS_AT[100] = [...LOGS_AT[90]!, 'Video rendering completed', 'Video generation completed'];

describe('text2video sandbox', () => {
  let sb: Sandbox;
  const url = (p: string) => `${sb.urls.text2video}${p}`;

  beforeAll(async () => {
    sb = await startSandbox({ timings: FAST });
  });
  afterAll(() => sb.close());
  beforeEach(() => sb.configure({ text2video: { failTexts: [] }, timings: FAST }));

  const generate = (text: unknown) => api('POST', url('/generate'), { json: { text } });

  it('runs a job through every documented stage to a download equal to text2videoOutput()', async () => {
    expect(sb.urls.text2video).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v1$/);
    // Stages long enough that a poll every few ms sees most of them even on a busy machine (25 ms did not).
    sb.configure({ timings: { text2video: { queueMs: 20, stageMs: 150 } } });
    const text = 'Once upon a time, in a faraway land… ünïcödé';
    const created = await generate(text);
    expect(created.status).toBe(202);
    expect(created.body).toEqual({ job_id: expect.stringMatching(/^[0-9a-f-]{36}$/), status: 'queued', message: 'Video generation started' });
    const jobId = created.body.job_id as string;

    const early = await api('GET', url(`/download/${jobId}`));
    expect(early.status).toBe(400);
    expect(early.body).toEqual({ error: 'Video not ready for download' });

    const seen: number[] = [];
    const done = await pollUntil(
      () => api('GET', url(`/status/${jobId}`)),
      (r) => {
        expect(r.status).toBe(200);
        const { status, progress, logs, message, created_at } = r.body;
        expect(typeof message).toBe('string');
        expect(Number.isInteger(created_at)).toBe(true);
        expect(Math.abs(created_at - Date.now() / 1000)).toBeLessThan(60);
        expect(logs).toEqual(LOGS_AT[progress]);
        expect(status).toBe(progress === 0 ? 'queued' : progress === 100 ? 'completed' : 'processing');
        if (seen.at(-1) !== progress) seen.push(progress);
        return status === 'completed';
      },
      5000,
      3,
    );
    expect([...seen].sort((a, b) => a - b)).toEqual(seen); // never backwards
    expect(seen.every((p) => [0, 20, 40, 60, 80, 90, 100].includes(p))).toBe(true);
    expect(seen.length).toBeGreaterThanOrEqual(4);
    expect(done.body).toEqual({
      status: 'completed',
      progress: 100,
      message: 'Video generation completed',
      created_at: expect.any(Number),
      logs: LOGS_AT[100],
    });

    const res = await request(url(`/download/${jobId}`));
    const bytes = Buffer.from(await res.body.arrayBuffer());
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('video/mp4');
    expect(res.headers['content-disposition']).toBe(`attachment; filename=generated_video_${jobId}.mp4`);
    const expected = text2videoOutput(text);
    expect(res.headers['content-length']).toBe(String(expected.length));
    expect(bytes.equals(expected)).toBe(true);
    expect(sha256Hex(bytes)).toBe(sha256Hex(expected));

    const jobs = await api('GET', url('/jobs'));
    expect(jobs.status).toBe(200);
    expect(jobs.body.jobs[jobId]).toEqual({ ...done.body, output_file: `output/video_${jobId}.mp4` });
    expect(sb.counters()['text2video POST /api/v1/generate']).toBeGreaterThanOrEqual(1);
    expect(sb.counters()['text2video GET /api/v1/download/:jobId']).toBe(2);
  });

  it('shows the docs example at 60%: search query generation under way', async () => {
    sb.configure({ timings: { text2video: { queueMs: 0, stageMs: 150 } } });
    const { job_id } = (await generate('A story')).body;
    const at60 = await pollUntil(
      () => api('GET', url(`/status/${job_id}`)),
      (r) => r.body.progress >= 60,
      5000,
      5,
    );
    expect(at60.body).toMatchObject({ status: 'processing', progress: 60, message: 'Generating video search queries...', logs: LOGS_AT[60] });
  });

  it('validates the body with the documented error', async () => {
    for (const body of [{}, { text: '' }, { text: '   ' }, { text: null }]) {
      const r = await api('POST', url('/generate'), { json: body });
      expect(r.status).toBe(400);
      expect(r.body).toEqual({ error: 'No text provided in request body' });
    }
    const notJson = await api('POST', url('/generate'), { rawBody: 'text=hello', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(notJson.status).toBe(400);
    expect(notJson.body).toEqual({ error: 'No text provided in request body' });
    const wrongType = await generate(42);
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.error).toMatch(/text/);
    const malformed = await api('POST', url('/generate'), { rawBody: '{"text": ' });
    expect(malformed.status).toBe(400);
    expect(typeof malformed.body.error).toBe('string');
  });

  it('fails a job whose text contains a failText, with an error and no download', async () => {
    sb.configure({ text2video: { failTexts: ['DOOM'] } });
    const { job_id } = (await generate('A tale of DOOM')).body;
    const ok = (await generate('A happy tale')).body.job_id;
    const failed = await pollUntil(
      () => api('GET', url(`/status/${job_id}`)),
      (r) => r.body.status === 'failed' || r.body.status === 'completed',
    );
    expect(failed.body).toMatchObject({ status: 'failed', progress: 60, error: expect.stringContaining('DOOM') });
    expect(failed.body.logs.slice(0, 5)).toEqual(LOGS_AT[60]);
    expect(failed.body.logs.at(-1)).toMatch(/^Error: /);
    expect((await api('GET', url(`/download/${job_id}`))).body).toEqual({ error: 'Video not ready for download' });
    await pollUntil(
      () => api('GET', url(`/status/${ok}`)),
      (r) => r.body.status === 'completed',
    );
  });

  it('forgets every job on a simulated restart: old ids answer 404 Job not found', async () => {
    const { job_id } = (await generate('Before the restart')).body;
    await pollUntil(
      () => api('GET', url(`/status/${job_id}`)),
      (r) => r.body.status === 'completed',
    );
    expect((await api('GET', url(`/download/${job_id}`))).status).toBe(200);
    sb.restartText2video();
    expect(sb.stats().text2video.jobs).toBe(0);
    for (const p of [`/status/${job_id}`, `/download/${job_id}`]) {
      const r = await api('GET', url(p));
      expect(r.status).toBe(404);
      expect(r.body).toEqual({ error: 'Job not found' });
    }
    expect((await api('GET', url('/jobs'))).body).toEqual({ jobs: {} });

    // The admin endpoint does the same; a job started before it is gone mid-flight.
    const second = (await generate('Mid-flight')).body.job_id;
    expect((await api('GET', url(`/status/${second}`))).status).toBe(200);
    expect((await api('POST', `${sb.urls.store}/_sandbox/text2video/restart`)).status).toBe(200);
    expect((await api('GET', url(`/status/${second}`))).status).toBe(404);
    // New jobs work after a restart.
    const third = (await generate('After')).body.job_id;
    await sleep(5);
    expect((await api('GET', url(`/status/${third}`))).status).toBe(200);
  });

  it('answers 404 with { error } for unknown jobs and routes', async () => {
    expect((await api('GET', url('/status/nope'))).body).toEqual({ error: 'Job not found' });
    expect((await api('GET', url('/download/nope'))).status).toBe(404);
    const unknown = await api('GET', url('/nothing'));
    expect(unknown.status).toBe(404);
    expect(typeof unknown.body.error).toBe('string');
  });
});

describe('text2video sandbox, docs-minimal profile', () => {
  let sb: Sandbox;
  const url = (p: string) => `${sb.urls.text2video}${p}`;
  const status = (id: string) => api('GET', url(`/status/${id}`));

  beforeAll(async () => {
    sb = await startSandbox({ profile: 'docs-minimal', timings: FAST });
  });
  afterAll(() => sb.close());

  it('answers generate, status and jobs with exactly the fields the docs show', async () => {
    const created = await api('POST', url('/generate'), { json: { text: 'docs only' } });
    expect(Object.keys(created.body).sort()).toEqual(['job_id', 'message', 'status']);
    const id = created.body.job_id as string;
    const done = await pollUntil(() => status(id), (r) => r.body.status === 'completed');
    expect(Object.keys(done.body).sort()).toEqual(['created_at', 'logs', 'message', 'progress', 'status']);
    const jobs = await api('GET', url('/jobs'));
    expect(Object.keys(jobs.body.jobs[id]).sort()).toEqual(['created_at', 'logs', 'message', 'output_file', 'progress', 'status']);
  });

  it('a failed job carries no `error` (the docs show none): its reason is in `message`, as the faithful profile also sends it', async () => {
    sb.configure({ text2video: { failTexts: ['doomed'] } });
    const id = (await api('POST', url('/generate'), { json: { text: 'a doomed story' } })).body.job_id as string;
    const failed = await pollUntil(() => status(id), (r) => r.body.status === 'failed');
    expect(Object.keys(failed.body).sort()).toEqual(['created_at', 'logs', 'message', 'progress', 'status']);
    expect(failed.body.message).toMatch(/^Error: .*doomed/);

    sb.configure({ profile: 'faithful' });
    try {
      expect((await status(id)).body.error).toMatch(/doomed/);
    } finally {
      sb.configure({ profile: 'docs-minimal' });
    }
  });
});
