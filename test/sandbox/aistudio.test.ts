import { request } from 'undici';
import { aistudioOutput } from '../../src/sandbox/derive';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { api, bytesOf, download, pollUntil, sleep, type MultipartPart } from './helpers';

const FAST = { aistudio: { pendingMs: 20, runMs: 60, mockRunMs: 50 } };
const OTHER_TOKEN = 'aistudio-other-user';

describe('AI Studio sandbox', () => {
  let sb: Sandbox;
  let auth: Record<string, string>;
  const url = (p: string) => `${sb.urls.aistudio}${p}`;

  beforeAll(async () => {
    sb = await startSandbox({ timings: FAST, aistudio: { extraTokens: [OTHER_TOKEN] } });
    auth = { authorization: `Bearer ${sb.keys.aistudio}` };
  });
  afterAll(() => sb.close());
  beforeEach(() => sb.configure({ timings: FAST, aistudio: { tokens: 1000, maxConcurrent: 3, failPrompts: [] } }));

  const BASE = { prompt: 'A cinematic shot of a sunset over mountains', model: 'veo-3.1-fast-generate-preview', resolution: '1080p', aspectRatio: '16:9', mockMode: 'false' };
  const fieldsOf = (f: Record<string, string>): MultipartPart[] => Object.entries(f).map(([name, value]) => ({ name, value }));
  const create = (fields: Record<string, string> = BASE, files: MultipartPart[] = [], headers = auth) =>
    api('POST', url('/video-jobs'), { headers, multipart: [...fieldsOf(fields), ...files] });
  const job = (id: string, headers = auth) => api('GET', url(`/video-jobs/${id}`), { headers });
  const settled = (id: string, headers = auth) => pollUntil(() => job(id, headers), (r) => !['PENDING', 'RUNNING'].includes(r.body.status));

  it('answers 401 { detail: "Not authenticated" } without a valid bearer token', async () => {
    for (const headers of <Array<Record<string, string>>>[{}, { authorization: 'Bearer nope' }, { authorization: sb.keys.aistudio }, { 'x-api-key': sb.keys.aistudio }]) {
      const r = await api('GET', url('/video-jobs'), { headers });
      expect(r.status).toBe(401);
      expect(r.body).toEqual({ detail: 'Not authenticated' });
    }
  });

  it('runs a job with images PENDING → RUNNING → SUCCEEDED to a video equal to aistudioOutput()', async () => {
    sb.configure({ timings: { aistudio: { pendingMs: 40, runMs: 200 } } });
    const initial = bytesOf('initial', 20_000);
    const end = bytesOf('end', 10_000);
    const refs = [bytesOf('r0', 3000), bytesOf('r1', 4000), bytesOf('r2', 5000)];
    const fields = { ...BASE, durationSeconds: '8', generateAudio: 'true' };
    const before = sb.config().aistudio.tokens;
    const created = await create(fields, [
      { name: 'initialImage', filename: 'first.png', contentType: 'image/png', data: initial },
      { name: 'endFrame', filename: 'last.png', contentType: 'image/png', data: end },
      ...refs.map((data, i) => ({ name: 'referenceImages', filename: `ref${i}.png`, contentType: 'image/png', data })),
    ]);
    expect(created.status).toBe(202);
    expect(created.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      userId: expect.any(String),
      prompt: BASE.prompt,
      model: BASE.model,
      resolution: '1080p',
      aspectRatio: '16:9',
      durationSeconds: 8,
      status: 'PENDING',
      statusMessage: 'Job queued for processing',
      progressPercentage: 0,
      logs: [{ timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/), level: 'info', message: '📝 Job created' }],
      tokensConsumed: 50,
      cloudinaryUrl: null,
      errorMessage: null,
      createdAt: expect.stringMatching(/Z$/),
      completedAt: null,
    });
    expect(sb.config().aistudio.tokens).toBe(before - 50);
    const id = created.body.id as string;

    const statuses: string[] = [];
    const progress: number[] = [];
    const done = await pollUntil(
      () => job(id),
      (r) => {
        if (statuses.at(-1) !== r.body.status) statuses.push(r.body.status);
        progress.push(r.body.progressPercentage);
        return r.body.status === 'SUCCEEDED';
      },
      5000,
      5,
    );
    expect(statuses).toEqual(['PENDING', 'RUNNING', 'SUCCEEDED']);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);
    expect(new Set(progress.filter((p) => p > 0 && p < 100)).size).toBeGreaterThan(1); // it grows while RUNNING
    expect(done.body).toMatchObject({
      status: 'SUCCEEDED',
      statusMessage: 'Video generation completed successfully!',
      progressPercentage: 100,
      cloudinaryUrl: expect.stringContaining(sb.urls.store),
      completedAt: expect.stringMatching(/Z$/),
    });
    expect(done.body.logs.length).toBeGreaterThanOrEqual(4);
    expect(done.body.logs.map((l: { message: string }) => l.message)).toEqual(expect.arrayContaining(['🚀 Starting video generation', '☁️  Calling Google Veo API...']));

    const expected = aistudioOutput(fields, { initialImage: initial, endFrame: end, referenceImages: refs });
    const video = await download(done.body.cloudinaryUrl);
    expect(video.contentType).toBe('video/mp4');
    expect(video.bytes.equals(expected)).toBe(true);

    const redirect = await request(url(`/video-jobs/${id}/download`), { headers: auth });
    await redirect.body.dump();
    expect(redirect.statusCode).toBe(302);
    expect(redirect.headers.location).toBe(done.body.cloudinaryUrl);
    expect((await download(String(redirect.headers.location))).bytes.equals(expected)).toBe(true);
    expect(sb.counters()['aistudio GET /api/v1/video-jobs/:jobId/download']).toBe(1);
  });

  it('finishes quickly in mockMode and accepts an initialImage without a prompt', async () => {
    sb.configure({ timings: { aistudio: { pendingMs: 10, runMs: 60_000 } } });
    const image = bytesOf('only-image', 1000);
    const fields = { model: 'veo-3.1-fast-generate-preview', resolution: '720p', aspectRatio: '9:16', mockMode: 'true' };
    const created = await create(fields, [{ name: 'initialImage', filename: 'i.png', contentType: 'image/png', data: image }]);
    expect(created.status).toBe(202);
    expect(created.body).toMatchObject({ prompt: null, durationSeconds: 8 });
    const done = await settled(created.body.id);
    expect(done.body.status).toBe('SUCCEEDED');
    expect(done.body.logs.map((l: { message: string }) => l.message).join('\n')).toMatch(/Mock mode/);
    expect((await download(done.body.cloudinaryUrl)).bytes.equals(aistudioOutput(fields, { initialImage: image }))).toBe(true);

    // timings.aistudio.mockRunMs stretches mock runs (e.g. to test concurrency with mockMode on).
    sb.configure({ timings: { aistudio: { pendingMs: 10, runMs: 300, mockRunMs: 300 } } });
    const slow = await create({ ...BASE, mockMode: 'true' });
    await sleep(150);
    expect((await job(slow.body.id)).body.status).toBe('RUNNING');
    expect((await settled(slow.body.id)).body.status).toBe('SUCCEEDED');
  });

  it('validates fields with 400 { detail } naming the field', async () => {
    const cases: Array<[Record<string, string>, string | RegExp]> = [
      [{ ...BASE, resolution: '4k' }, "Resolution must be '720p' or '1080p'"],
      [{ ...BASE, aspectRatio: '4:3' }, /aspectRatio/],
      [{ ...BASE, durationSeconds: '6' }, /durationSeconds/],
      [{ ...BASE, mockMode: 'yes' }, /mockMode/],
      [{ ...BASE, generateAudio: '1' }, /generateAudio/],
      [{ ...BASE, prompt: '' }, /prompt or initialImage/],
    ];
    for (const [fields, msg] of cases) {
      const r = await create(fields);
      expect(r.status).toBe(400);
      if (typeof msg === 'string') expect(r.body).toEqual({ detail: msg });
      else expect(r.body.detail).toMatch(msg);
    }
    for (const field of ['model', 'resolution', 'aspectRatio', 'mockMode']) {
      const { [field as keyof typeof BASE]: _omit, ...rest } = BASE;
      void _omit;
      const r = await create(rest);
      expect(r.status).toBe(400);
      expect(r.body.detail).toMatch(new RegExp(field, 'i'));
    }
    const tooMany = await create(
      BASE,
      [0, 1, 2, 3].map((i) => ({ name: 'referenceImages', filename: `r${i}.png`, contentType: 'image/png', data: bytesOf(`r${i}`, 100) })),
    );
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.detail).toMatch(/referenceImages/);
    const twoInitial = await create(BASE, [0, 1].map((i) => ({ name: 'initialImage', filename: `i${i}.png`, data: bytesOf(`i${i}`, 10) })));
    expect(twoInitial.status).toBe(400);
    const asText = await create({ ...BASE, initialImage: 'not-a-file' });
    expect(asText.body.detail).toMatch(/initialImage/);
    const json = await api('POST', url('/video-jobs'), { headers: auth, json: BASE });
    expect(json.status).toBe(400);
    // Nothing was charged for refused requests.
    expect(sb.config().aistudio.tokens).toBe(1000);
  });

  it('refuses with 402 and the documented detail object when tokens are short', async () => {
    sb.configure({ aistudio: { tokens: 20 } });
    const r = await create();
    expect(r.status).toBe(402);
    expect(r.body).toEqual({
      detail: {
        message: "Insufficient tokens. Operation 'video_generation' costs 50 tokens but you have 20.",
        cost: 50,
        availableTokens: 20,
      },
    });
    sb.configure({ aistudio: { tokens: 50 } });
    expect((await create()).status).toBe(202);
    expect(sb.config().aistudio.tokens).toBe(0);
    expect((await create()).body.detail.availableTokens).toBe(0);
  });

  it('allows 3 concurrent jobs per user: the 4th is 429, and succeeds once one finishes', async () => {
    const token = 'aistudio-concurrent';
    sb.configure({ timings: { aistudio: { pendingMs: 50, runMs: 250 } }, aistudio: { extraTokens: [OTHER_TOKEN, token] } });
    const h = { authorization: `Bearer ${token}` };
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await create({ ...BASE, prompt: `job ${i}` }, [], h);
      expect(r.status).toBe(202);
      ids.push(r.body.id);
      await sleep(30);
    }
    const fourth = await create({ ...BASE, prompt: 'job 3' }, [], h);
    expect(fourth.status).toBe(429);
    expect(fourth.body).toEqual({ detail: 'Maximum 3 concurrent video jobs allowed. Please wait for existing jobs to complete.' });
    expect(fourth.headers['retry-after']).toBeUndefined();
    expect(sb.stats().aistudio.tokens[token]).toBe(1000 - 3 * 50);
    // Another user has its own limit.
    const other = await create(BASE, [], { authorization: `Bearer ${OTHER_TOKEN}` });
    expect(other.status).toBe(202);
    expect(other.body.userId).not.toBe((await job(ids[0]!, h)).body.userId);

    expect(sb.stats().aistudio.running[token]).toBe(3);
    await settled(ids[0]!, h);
    const again = await create({ ...BASE, prompt: 'job 3' }, [], h);
    expect(again.status).toBe(202);
    for (const id of [...ids, again.body.id]) await settled(id, h);
    const stats = sb.stats().aistudio;
    expect(stats.maxRunningSeen[token]).toBe(3);
    expect(stats.running[token]).toBe(0);
    expect(stats.maxRunningSeen[OTHER_TOKEN]).toBe(1);
  });

  it('fails a job whose prompt contains a failPrompt; its download is 400', async () => {
    sb.configure({ aistudio: { failPrompts: ['forbidden'] } });
    const r = await create({ ...BASE, prompt: 'something forbidden' });
    const early = await api('GET', url(`/video-jobs/${r.body.id}/download`), { headers: auth });
    expect(early.status).toBe(400);
    expect(early.body).toEqual({ detail: 'Video not ready yet' });
    const done = await settled(r.body.id);
    expect(done.body).toMatchObject({ status: 'FAILED', errorMessage: expect.any(String), cloudinaryUrl: null });
    expect(done.body.logs.at(-1).level).toBe('error');
    expect((await api('GET', url(`/video-jobs/${r.body.id}/download`), { headers: auth })).status).toBe(400);
  });

  it('lists jobs newest first with status_filter, limit, offset and total; deletes with 204', async () => {
    const token = 'aistudio-lister';
    sb.configure({ aistudio: { extraTokens: [OTHER_TOKEN, token], failPrompts: ['bad'] } });
    const h = { authorization: `Bearer ${token}` };
    const ids: string[] = [];
    for (const prompt of ['one', 'two bad', 'three']) {
      ids.push((await create({ ...BASE, prompt }, [], h)).body.id);
      await sleep(2);
    }
    for (const id of ids) await settled(id, h);
    const all = await api('GET', url('/video-jobs'), { headers: h });
    expect(all.status).toBe(200);
    expect(all.body.total).toBe(3);
    expect(all.body.jobs.map((j: { id: string }) => j.id)).toEqual([...ids].reverse());
    const succeeded = await api('GET', url('/video-jobs?status_filter=SUCCEEDED'), { headers: h });
    expect(succeeded.body.total).toBe(2);
    expect(succeeded.body.jobs.map((j: { prompt: string }) => j.prompt)).toEqual(['three', 'one']);
    const failed = await api('GET', url('/video-jobs?status_filter=FAILED'), { headers: h });
    expect(failed.body).toMatchObject({ total: 1, jobs: [{ id: ids[1] }] });
    const page = await api('GET', url('/video-jobs?limit=1&offset=1'), { headers: h });
    expect(page.body).toMatchObject({ total: 3, jobs: [{ id: ids[1] }] });
    expect((await api('GET', url('/video-jobs?offset=5'), { headers: h })).body).toEqual({ jobs: [], total: 3 });
    for (const q of ['status_filter=DONE', 'limit=0', 'limit=x', 'offset=-1']) {
      const r = await api('GET', url(`/video-jobs?${q}`), { headers: h });
      expect(r.status).toBe(400);
      expect(r.body.detail).toMatch(new RegExp(q.split('=')[0]!));
    }

    // Another user sees none of them.
    expect((await job(ids[0]!, { authorization: `Bearer ${OTHER_TOKEN}` })).status).toBe(404);

    const del = await api('DELETE', url(`/video-jobs/${ids[0]}`), { headers: h });
    expect(del.status).toBe(204);
    expect(del.body).toBe('');
    expect((await job(ids[0]!, h)).body).toEqual({ detail: 'Job not found' });
    expect((await api('DELETE', url(`/video-jobs/${ids[0]}`), { headers: h })).status).toBe(404);
    expect((await api('GET', url('/video-jobs'), { headers: h })).body.total).toBe(2);
    expect((await api('GET', url(`/video-jobs/${ids[0]}/download`), { headers: h })).status).toBe(404);
  });

  it('deleting an active job frees its slot but the job keeps running (the gauge still counts it)', async () => {
    const token = 'aistudio-deleter';
    sb.configure({ timings: { aistudio: { pendingMs: 50, runMs: 300 } }, aistudio: { extraTokens: [OTHER_TOKEN, token] } });
    const h = { authorization: `Bearer ${token}` };
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await create(BASE, [], h)).body.id);
    expect((await create(BASE, [], h)).status).toBe(429);
    expect((await api('DELETE', url(`/video-jobs/${ids[0]}`), { headers: h })).status).toBe(204);
    const fourth = await create(BASE, [], h);
    expect(fourth.status).toBe(202);
    expect(sb.stats().aistudio.running[token]).toBe(4);
    expect(sb.stats().aistudio.maxRunningSeen[token]).toBe(4);
    for (const id of [...ids.slice(1), fourth.body.id]) await settled(id, h);
  });
});

describe('AI Studio sandbox, docs-minimal profile', () => {
  let sb: Sandbox;
  let auth: Record<string, string>;
  const url = (p: string) => `${sb.urls.aistudio}${p}`;
  const fields = { model: 'veo-3.1-fast-generate-preview', resolution: '720p', aspectRatio: '9:16', mockMode: 'true' };
  const create = (f: Record<string, string>) =>
    api('POST', url('/video-jobs'), { headers: auth, multipart: Object.entries(f).map(([name, value]) => ({ name, value })) });
  const job = (id: string) => api('GET', url(`/video-jobs/${id}`), { headers: auth });
  const keys = (o: object) => Object.keys(o).sort();
  const CREATED = ['aspectRatio', 'createdAt', 'id', 'logs', 'model', 'progressPercentage', 'resolution', 'status', 'statusMessage', 'tokensConsumed', 'userId'];

  beforeAll(async () => {
    sb = await startSandbox({ profile: 'docs-minimal', timings: { aistudio: { pendingMs: 60, runMs: 200, mockRunMs: 200 } } });
    auth = { authorization: `Bearer ${sb.keys.aistudio}` };
  });
  afterAll(() => sb.close());

  it('answers create, poll and list with the fields the docs show there, never a null', async () => {
    const created = await create({ ...fields, prompt: 'docs only' });
    expect(created.status).toBe(202);
    // No durationSeconds was sent: a docs-only server has none to show.
    expect(keys(created.body)).toEqual([...CREATED, 'prompt'].sort());
    const id = created.body.id as string;
    const seen = new Map<string, string[]>();
    await pollUntil(
      () => job(id),
      (r) => {
        seen.set(r.body.status, keys(r.body));
        return r.body.status === 'SUCCEEDED';
      },
      10_000,
    );
    expect(seen.get('PENDING') ?? seen.get('RUNNING')).toEqual(['id', 'logs', 'progressPercentage', 'status', 'statusMessage']);
    expect(seen.get('SUCCEEDED')).toEqual(['cloudinaryUrl', 'completedAt', 'id', 'progressPercentage', 'status', 'statusMessage']);

    const listed = await api('GET', url('/video-jobs'), { headers: auth });
    const entry = listed.body.jobs.find((j: { id: string }) => j.id === id);
    expect(keys(entry)).toEqual([...CREATED, 'prompt', 'cloudinaryUrl', 'completedAt'].sort());
    for (const j of listed.body.jobs) expect(Object.values(j)).not.toContain(null);

    sb.configure({ aistudio: { failPrompts: ['doomed'] } });
    try {
      const failedId = (await create({ ...fields, prompt: 'a doomed shot', durationSeconds: '4' })).body.id as string;
      const failed = await pollUntil(() => job(failedId), (r) => r.body.status === 'FAILED', 10_000);
      expect(keys(failed.body)).toEqual(['errorMessage', 'id', 'status', 'statusMessage']);
      expect(failed.body.errorMessage).toEqual(expect.any(String));
    } finally {
      sb.configure({ aistudio: { failPrompts: [] } });
    }
  });

  it('signs cloudinaryUrl and the download Location afresh, expiring after downloadTtlSeconds', async () => {
    const id = (await create({ ...fields, prompt: 'short-lived' })).body.id as string;
    const done = await pollUntil(() => job(id), (r) => r.body.status === 'SUCCEEDED', 10_000);
    const ttl = (u: string) => Number(new URL(u).searchParams.get('expires')) - Date.now() / 1000;
    expect(ttl(done.body.cloudinaryUrl)).toBeGreaterThan(15);
    expect(ttl(done.body.cloudinaryUrl)).toBeLessThanOrEqual(20);
    const redirect = await request(url(`/video-jobs/${id}/download`), { headers: auth });
    await redirect.body.dump();
    expect(redirect.statusCode).toBe(302);
    const location = String(redirect.headers.location);
    expect(ttl(location)).toBeLessThanOrEqual(20);
    expect((await download(location)).status).toBe(200);

    sb.configure({ urlTtlSeconds: 1 });
    try {
      const shortUrl = (await job(id)).body.cloudinaryUrl as string;
      await sleep(2100);
      expect((await download(shortUrl)).status).toBe(403);
    } finally {
      sb.configure({ urlTtlSeconds: 3600 });
    }
  });
});
