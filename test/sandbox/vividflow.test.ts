import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FormData } from 'undici';
import { vividflowOutput } from '../../src/sandbox/derive';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { api, bytesOf, download, pollUntil, sleep } from './helpers';

const FAST = { vividflow: { processMs: 40, workers: 1 } };
const OTHER_KEY = 'vivid-other-user';

describe('Vivid Flow sandbox', () => {
  let sb: Sandbox;
  let auth: Record<string, string>;
  let images: Server;
  let imagesUrl: string;
  const served = new Map<string, Buffer>();
  const url = (p: string) => `${sb.urls.vividflow}${p}`;

  beforeAll(async () => {
    sb = await startSandbox({ timings: FAST, vividflow: { extraKeys: [OTHER_KEY] } });
    auth = { 'x-api-key': sb.keys.vividflow };
    // Any loopback server stands in for an https image host (the sandbox has no TLS and fetches over HTTP).
    images = createServer((req, res) => {
      const body = served.get(req.url ?? '');
      if (!body) {
        res.writeHead(404).end('no');
        return;
      }
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(body.length) }).end(body);
    });
    await new Promise<void>((r) => images.listen(0, '127.0.0.1', r));
    imagesUrl = `https://127.0.0.1:${(images.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await sb.close();
    await new Promise((r) => images.close(r));
  });
  beforeEach(() =>
    sb.configure({ timings: FAST, vividflow: { hourlyLimit: 500, dailyLimit: 2000, failPrompts: [], extraKeys: [OTHER_KEY] } }),
  );

  const status = (id: string, headers = auth) => api('GET', url(`/status/${id}`), { headers });
  const finished = (id: string) => pollUntil(() => status(id), (r) => ['completed', 'failed', 'cancelled'].includes(r.body.status));

  it('answers 401 with { error } for a missing or wrong X-API-Key', async () => {
    const missing = await api('GET', url('/usage'));
    expect(missing.status).toBe(401);
    expect(typeof missing.body.error).toBe('string');
    const wrong = await api('GET', url('/history'), { headers: { 'x-api-key': 'nope' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ error: 'Invalid API key' });
    expect((await api('POST', url('/generate'), { headers: { authorization: `Bearer ${sb.keys.vividflow}` }, urlencoded: { prompt: 'x' } })).status).toBe(401);
  });

  it('generates from a multipart upload to a result_url equal to vividflowOutput()', async () => {
    const image = bytesOf('city.jpg', 200_000);
    const params = { prompt: 'A cinematic shot of a futuristic city', model: 'veo3.1', duration_seconds: '6', enhance_prompt: 'true' };
    const created = await api('POST', url('/generate'), {
      headers: auth,
      multipart: [...Object.entries(params).map(([name, value]) => ({ name, value })), { name: 'image', filename: 'city.jpg', contentType: 'image/jpeg', data: image }],
    });
    expect(created.status).toBe(202);
    expect(created.body).toEqual({ message: 'Generation job accepted', job_id: expect.any(String), status: 'queued', estimated_wait_time: expect.any(String) });
    const id = created.body.job_id as string;
    const first = await status(id);
    expect(['queued', 'processing']).toContain(first.body.status);
    expect(first.body).toMatchObject({ job_id: id, created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/), message: expect.any(String) });

    const done = await finished(id);
    expect(done.body).toEqual({
      job_id: id,
      status: 'completed',
      created_at: first.body.created_at,
      updated_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/),
      result_url: expect.stringContaining(sb.urls.store),
      metrics: { generation_time: 0.04, spin_up_time: expect.any(Number), total_time: expect.any(Number) },
      message: 'Job completed successfully.',
    });
    const file = await download(done.body.result_url);
    expect(file.status).toBe(200);
    expect(file.contentType).toBe('video/mp4');
    expect(file.bytes.equals(vividflowOutput(params, image, undefined))).toBe(true);
    // Stable across polls (a long-lived URL, not re-signed each time).
    expect((await status(id)).body.result_url).toBe(done.body.result_url);
    expect(sb.counters()['vividflow POST /api/v1/generate']).toBeGreaterThanOrEqual(1);
  });

  it('streams a multi-megabyte multipart image into the store', async () => {
    const image = bytesOf('huge.png', 16 * 1024 * 1024 + 3);
    const created = await api('POST', url('/generate'), {
      headers: auth,
      multipart: [{ name: 'image', filename: 'huge.png', contentType: 'image/png', data: image }, { name: 'prompt', value: 'big' }],
    });
    expect(created.status).toBe(202);
    const done = await finished(created.body.job_id);
    expect((await download(done.body.result_url)).bytes.equals(vividflowOutput({ prompt: 'big' }, image, undefined))).toBe(true);
  });

  it('takes undici FormData with a Blob image as well', async () => {
    const image = bytesOf('blob', 5000);
    const form = new FormData();
    form.append('prompt', 'Waves');
    form.append('image', new Blob([image], { type: 'image/png' }), 'waves.png');
    const created = await api('POST', url('/generate'), { headers: auth, form });
    expect(created.status).toBe(202);
    const done = await finished(created.body.job_id);
    expect((await download(done.body.result_url)).bytes.equals(vividflowOutput({ prompt: 'Waves' }, image, undefined))).toBe(true);
  });

  it('generates from urlencoded gs:// and JSON https:// image URLs', async () => {
    const gs = { prompt: 'A beautiful sunset over mountains', image_url: 'gs://your-bucket/images/sunset.jpg', cfg: '9.5', seed: '7' };
    const a = await api('POST', url('/generate'), { headers: auth, urlencoded: gs });
    expect(a.status).toBe(202);

    const image = bytesOf('remote.png', 30_000);
    served.set('/img/remote.png', image);
    const imageUrl = `${imagesUrl}/img/remote.png`;
    const b = await api('POST', url('/generate'), {
      headers: auth,
      json: { prompt: 'A beautiful sunset', model: 'veo3.1', image_url: imageUrl, duration_seconds: 8, camera_motion: 'Pan (right)', enhance_prompt: true },
    });
    expect(b.status).toBe(202);

    const doneA = await finished(a.body.job_id);
    const { image_url: gsUrl, ...gsParams } = gs;
    expect((await download(doneA.body.result_url)).bytes.equals(vividflowOutput(gsParams, undefined, gsUrl))).toBe(true);
    const doneB = await finished(b.body.job_id);
    const jsonParams = { prompt: 'A beautiful sunset', model: 'veo3.1', duration_seconds: '8', camera_motion: 'Pan (right)', enhance_prompt: 'true' };
    expect((await download(doneB.body.result_url)).bytes.equals(vividflowOutput(jsonParams, image, imageUrl))).toBe(true);

    // A result_url in the object store is a loopback URL too (rewritten to https).
    const chained = await api('POST', url('/generate'), {
      headers: auth,
      urlencoded: { prompt: 'chain', image_url: doneB.body.result_url.replace(/^http:/, 'https:') },
    });
    expect(chained.status).toBe(202);
    expect((await finished(chained.body.job_id)).body.status).toBe('completed');
  });

  it('validates parameters with 400 and a details[] naming each field', async () => {
    const bad = await api('POST', url('/generate'), {
      headers: auth,
      urlencoded: { model: 'sora', image_url: 'gs://b/i.png', duration_seconds: '5', cfg: '30', width: '-1', seed: '1.5', resolution: '4k', enhance_prompt: 'yes' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('Invalid parameters');
    const details: string[] = bad.body.details;
    for (const field of ['prompt', 'model', 'duration_seconds', 'cfg', 'width', 'seed', 'resolution', 'enhance_prompt']) {
      expect(details.some((d) => d.startsWith(field))).toBe(true);
    }
    expect(details).toContain('duration_seconds must be 4, 6, or 8');

    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ prompt: 'p' }, /image or image_url is required/],
      [{ prompt: 'p', image_url: 'http://127.0.0.1/x.png' }, /image_url must be a gs:\/\/ or https:\/\/ URL/],
      [{ prompt: 'p', image_url: 'gs://bucket-only' }, /image_url/],
      [{ prompt: 'p', image_url: 'https://example.com/x.png' }, /image_url: the sandbox only fetches loopback URLs/],
      [{ prompt: 'p', image_url: `${imagesUrl}/missing.png` }, /image_url could not be fetched: HTTP 404/],
      [{ prompt: 'p', image_url: 'gs://b/x', extra: { nested: true } }, /extra/],
    ];
    for (const [json, re] of cases) {
      const r = await api('POST', url('/generate'), { headers: auth, json });
      expect(r.status).toBe(400);
      expect(r.body.details.join('\n')).toMatch(re);
    }
    const both = await api('POST', url('/generate'), {
      headers: auth,
      multipart: [
        { name: 'prompt', value: 'p' },
        { name: 'image_url', value: 'gs://b/x' },
        { name: 'image', filename: 'a.png', data: bytesOf('a', 10) },
      ],
    });
    expect(both.status).toBe(400);
    expect(both.body.details).toEqual(['image and image_url: provide only one']);
    const noBody = await api('POST', url('/generate'), { headers: auth });
    expect(noBody.status).toBe(400);
    expect(noBody.body.details).toEqual(expect.arrayContaining(['prompt is required']));
  });

  it('runs one job at a time: cancel works while queued (200), not while processing (400)', async () => {
    sb.configure({ timings: { vividflow: { processMs: 300 } } });
    const submit = (prompt: string) => api('POST', url('/generate'), { headers: auth, urlencoded: { prompt, image_url: 'gs://b/q.png' } });
    const a = (await submit('first')).body.job_id;
    const b = (await submit('second')).body.job_id;
    const c = (await submit('third')).body.job_id;
    expect(sb.stats().vividflow).toMatchObject({ processing: 1, queued: 2 });
    expect((await status(a)).body.status).toBe('processing');
    expect((await status(b)).body).toMatchObject({ status: 'queued', message: 'Job is in queue. It will start processing shortly.' });

    const cancelB = await api('POST', url(`/cancel/${b}`), { headers: auth });
    expect(cancelB.status).toBe(200);
    expect(cancelB.body).toEqual({ message: 'Job cancelled successfully', job_id: b });
    const cancelA = await api('POST', url(`/cancel/${a}`), { headers: auth });
    expect(cancelA.status).toBe(400);
    expect(cancelA.body).toEqual({ error: 'Job cannot be cancelled (status: processing)' });
    expect((await api('POST', url(`/cancel/${b}`), { headers: auth })).body).toEqual({ error: 'Job cannot be cancelled (status: cancelled)' });
    expect((await status(b)).body).toMatchObject({ status: 'cancelled' });
    expect(sb.stats().vividflow).toMatchObject({ processing: 1, queued: 1 });

    const doneA = await finished(a);
    expect(doneA.body.status).toBe('completed');
    const doneC = await finished(c);
    expect(doneC.body.status).toBe('completed');
    // c waited for a: it started when a finished.
    expect(doneC.body.metrics.spin_up_time).toBeGreaterThanOrEqual(0.25);
    expect((await status(b)).body.status).toBe('cancelled');
    expect(sb.stats().vividflow).toMatchObject({ processing: 0, queued: 0, maxProcessingSeen: 1 });
    expect((await api('POST', url(`/cancel/${a}`), { headers: auth })).body).toEqual({ error: 'Job cannot be cancelled (status: completed)' });
  });

  it('runs up to `workers` jobs at once and holds the rest queued (workers 0 pauses)', async () => {
    sb.configure({ timings: { vividflow: { processMs: 100, workers: 0 } } });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await api('POST', url('/generate'), { headers: auth, urlencoded: { prompt: `w${i}`, image_url: 'gs://b/w.png' } })).body.job_id);
    }
    await sleep(150);
    expect(sb.stats().vividflow).toMatchObject({ processing: 0, queued: 3 });
    sb.configure({ timings: { vividflow: { workers: 2 } } });
    expect(sb.stats().vividflow).toMatchObject({ processing: 2, queued: 1 });
    for (const id of ids) expect((await finished(id)).body.status).toBe('completed');
    expect(sb.stats().vividflow.maxProcessingSeen).toBe(2);
  });

  it('fails a job whose prompt contains a failPrompt with error_message', async () => {
    sb.configure({ vividflow: { failPrompts: ['explode'] } });
    const r = await api('POST', url('/generate'), { headers: auth, urlencoded: { prompt: 'things explode', image_url: 'gs://b/e.png' } });
    const done = await finished(r.body.job_id);
    expect(done.body).toMatchObject({ status: 'failed', error_message: 'Video generation returned no results.', message: 'Job failed. Check error details.' });
    expect(done.body.result_url).toBeUndefined();
  });

  it('keeps users apart: another key’s job is 403, unknown is 404; history and usage are per key', async () => {
    const mine = (await api('POST', url('/generate'), { headers: auth, urlencoded: { prompt: 'mine', image_url: 'gs://b/m.png' } })).body.job_id;
    const other = { 'x-api-key': OTHER_KEY };
    const forbidden = await status(mine, other);
    expect(forbidden.status).toBe(403);
    expect(typeof forbidden.body.error).toBe('string');
    expect((await api('POST', url(`/cancel/${mine}`), { headers: other })).status).toBe(403);
    expect((await status('no-such-job')).status).toBe(404);
    expect((await status('no-such-job')).body).toEqual({ error: 'Job not found' });

    const theirs = (await api('POST', url('/generate'), { headers: other, urlencoded: { prompt: 'theirs', image_url: 'gs://b/t.png' } })).body.job_id;
    await finished(mine);
    await pollUntil(() => status(theirs, other), (r) => r.body.status === 'completed');
    const history = await api('GET', url('/history?limit=2'), { headers: auth });
    expect(history.status).toBe(200);
    expect(history.body.count).toBe(2);
    expect(history.body.jobs[0]).toEqual({
      job_id: mine,
      status: 'completed',
      prompt: 'mine',
      result_url: expect.stringContaining(sb.urls.store),
      created_at: expect.any(String),
    });
    const all = await api('GET', url('/history?limit=1000'), { headers: auth });
    expect(all.body.jobs.map((j: { job_id: string }) => j.job_id)).not.toContain(theirs);
    expect((await api('GET', url('/history'), { headers: other })).body).toMatchObject({ count: 1, jobs: [{ job_id: theirs }] });
    const badLimit = await api('GET', url('/history?limit=0'), { headers: auth });
    expect(badLimit.status).toBe(400);
    expect(badLimit.body.details[0]).toMatch(/^limit/);

    const usage = await api('GET', url('/usage'), { headers: other });
    expect(usage.body).toEqual({
      total_jobs: 1,
      completed_jobs: 1,
      failed_jobs: 0,
      queued_jobs: 0,
      recent_24h_jobs: 1,
      credits_remaining: 1999,
      daily_limit: 2000,
      reset_time: expect.stringMatching(/^\d{4}-\d\d-\d\dT00:00:00$/),
    });
    const mineUsage = (await api('GET', url('/usage'), { headers: auth })).body;
    expect(mineUsage.total_jobs).toBe(all.body.count);
    const byStatus = (st: string) => all.body.jobs.filter((j: { status: string }) => j.status === st).length;
    expect(mineUsage).toMatchObject({ completed_jobs: byStatus('completed'), failed_jobs: byStatus('failed'), queued_jobs: byStatus('queued') });
    expect(byStatus('cancelled')).toBe(1);
  });

  it('rate-limits per key over rolling windows with 429, retry_after and Retry-After', async () => {
    const key = 'vivid-rate-limited';
    const fresh = 'vivid-fresh';
    sb.configure({ vividflow: { hourlyLimit: 3, extraKeys: [OTHER_KEY, key, fresh] } });
    const h = { 'x-api-key': key };
    for (let i = 0; i < 3; i++) expect((await api('GET', url('/usage'), { headers: h })).status).toBe(200);
    const limited = await api('GET', url('/history'), { headers: h });
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ error: 'Rate limit exceeded', details: '429 Too Many Requests', retry_after: expect.any(Number) });
    expect(limited.body.retry_after).toBeGreaterThan(3500);
    expect(limited.body.retry_after).toBeLessThanOrEqual(3600);
    expect(limited.headers['retry-after']).toBe(String(limited.body.retry_after));
    // Another key is unaffected; a bad key is 401, not 429.
    expect((await api('GET', url('/usage'), { headers: { 'x-api-key': fresh } })).status).toBe(200);
    expect((await api('GET', url('/usage'), { headers: { 'x-api-key': 'nope' } })).status).toBe(401);

    sb.configure({ vividflow: { hourlyLimit: 500, dailyLimit: 4 } });
    expect((await api('GET', url('/usage'), { headers: h })).status).toBe(200); // the refused request did not count
    const daily = await api('GET', url('/usage'), { headers: h });
    expect(daily.status).toBe(429);
    expect(daily.body.retry_after).toBeGreaterThan(86_000);
    sb.configure({ vividflow: { dailyLimit: 2000 } });
    expect((await api('GET', url('/usage'), { headers: h })).status).toBe(200);
  });
});

describe('Vivid Flow sandbox, docs-minimal profile', () => {
  let sb: Sandbox;
  let auth: Record<string, string>;
  const url = (p: string) => `${sb.urls.vividflow}${p}`;
  const status = (id: string) => api('GET', url(`/status/${id}`), { headers: auth });
  const generate = (prompt: string) => api('POST', url('/generate'), { headers: auth, urlencoded: { prompt, image_url: 'gs://b/still.png' } });
  const keys = (o: object) => Object.keys(o).sort();

  beforeAll(async () => {
    sb = await startSandbox({ profile: 'docs-minimal', timings: { vividflow: { processMs: 300, workers: 1 } } });
    auth = { 'x-api-key': sb.keys.vividflow };
  });
  afterAll(() => sb.close());

  it('answers each status with exactly the fields of the docs\' example for that state', async () => {
    const created = await generate('docs only');
    expect(keys(created.body)).toEqual(['estimated_wait_time', 'job_id', 'message', 'status']);
    const id = created.body.job_id as string;
    const seen = new Map<string, string[]>();
    await pollUntil(
      () => status(id),
      (r) => {
        seen.set(r.body.status, keys(r.body));
        return r.body.status === 'completed';
      },
    );
    const queuedFirst = seen.get('queued');
    if (queuedFirst) expect(queuedFirst).toEqual(['created_at', 'job_id', 'message', 'status']);
    expect(seen.get('processing')).toEqual(['created_at', 'job_id', 'message', 'status', 'updated_at']);
    expect(seen.get('completed')).toEqual(['job_id', 'message', 'metrics', 'result_url', 'status']);

    sb.configure({ vividflow: { failPrompts: ['doomed'] } });
    try {
      const failedId = (await generate('a doomed shot')).body.job_id as string;
      const failed = await pollUntil(() => status(failedId), (r) => r.body.status === 'failed', 10_000);
      expect(failed.body).toEqual({ job_id: failedId, status: 'failed', error_message: 'Video generation returned no results.', message: 'Job failed. Check error details.' });
    } finally {
      sb.configure({ vividflow: { failPrompts: [] } });
    }
  });

  it('signs result_url afresh on every answer, expiring after downloadTtlSeconds (20 s, shorter if urlTtlSeconds is)', async () => {
    const id = (await generate('short-lived')).body.job_id as string;
    const done = await pollUntil(() => status(id), (r) => r.body.status === 'completed', 10_000);
    const expires = Number(new URL(done.body.result_url).searchParams.get('expires'));
    expect(expires - Date.now() / 1000).toBeGreaterThan(15);
    expect(expires - Date.now() / 1000).toBeLessThanOrEqual(20);
    expect((await download(done.body.result_url)).status).toBe(200);
    const history = await api('GET', url('/history'), { headers: auth });
    expect(keys(history.body.jobs.find((j: { job_id: string }) => j.job_id === id))).toEqual(['created_at', 'job_id', 'prompt', 'result_url', 'status']);

    sb.configure({ urlTtlSeconds: 1 });
    try {
      const shortUrl = (await status(id)).body.result_url as string;
      await sleep(2100);
      expect((await download(shortUrl)).status).toBe(403);
      expect((await download((await status(id)).body.result_url)).status).toBe(200);
    } finally {
      sb.configure({ urlTtlSeconds: 3600 });
    }
  });
});
