import { request } from 'undici';
import { sha256Hex } from '../../src/sandbox/derive';
import { startSandbox, FaultProfileError, type FaultProfileInput, type Sandbox } from '../../src/sandbox';
import { APIConnectionError, InternalServerError, RateLimitError, ResponseValidationError } from '../../src/providers/errors';
import { AistudioClient } from '../../src/pipelines/aistudio/client';
import { DublabClient } from '../../src/pipelines/dublab/client';
import { LipdubClient } from '../../src/pipelines/lipdub/client';
import { Text2videoClient } from '../../src/pipelines/text2video/client';
import { VividflowClient } from '../../src/pipelines/vividflow/client';
import { providerFailure } from '../providers/support';
import { api, bytesOf, pollUntil, put } from './helpers';

const TIMINGS = {
  lipdub: { shotMs: 20, trainingMs: 20, generateQueueMs: 10, generateMs: 20 },
  dublab: { queueMs: 10, processMs: 20 },
  text2video: { queueMs: 5, stageMs: 5 },
  vividflow: { processMs: 20, workers: 4 },
  aistudio: { pendingMs: 10, runMs: 20, mockRunMs: 20 },
};

let sb: Sandbox;
let lipdub: LipdubClient;
let dublab: DublabClient;
let text2video: Text2videoClient;
let vividflow: VividflowClient;
let aistudio: AistudioClient;
let run = 0;

beforeAll(async () => {
  sb = await startSandbox({ timings: TIMINGS, aistudio: { maxConcurrent: 1000, tokens: 1_000_000 } });
  lipdub = LipdubClient.fromEnv(sb.env());
  dublab = DublabClient.fromEnv(sb.env());
  text2video = Text2videoClient.fromEnv(sb.env());
  vividflow = VividflowClient.fromEnv(sb.env());
  aistudio = AistudioClient.fromEnv(sb.env());
});

afterAll(async () => {
  await sb?.close();
});

beforeEach(() => {
  sb.setFaults({});
  run++;
});

/** A label unique to this test, so ledger and list lookups never see another test's creates. */
const label = (what: string) => `${what}-${run}-${Math.random().toString(36).slice(2, 8)}`;

const t2vGenerate = (text: string) => api('POST', `${sb.urls.text2video}/generate`, { json: { text } });
const lipdubHeaders = () => ({ 'x-api-key': sb.keys.lipdub });
const ledgerFor = (key: string) => sb.ledger().filter((e) => e.key === key);

/** The outcome of a raw request: the status, or `no answer` when the connection dropped. */
async function outcome(method: 'GET' | 'POST', url: string): Promise<number | string> {
  try {
    return (await api(method, url)).status;
  } catch {
    return 'no answer';
  }
}

const aistudioJob = (prompt: string) =>
  aistudio.createJob({ prompt, model: 'veo-3.1-fast-generate-preview', resolution: '720p', aspectRatio: '16:9', mockMode: true });
const vividflowJob = (prompt: string) => vividflow.generate({ prompt, imageUrl: 'gs://sandbox-bucket/still.png' });
const dubSource = (name: string) => ({ fileType: 'video/mp4', name, source_lang: 'en', duration: 3 });

async function lipdubShot(name: string): Promise<number> {
  const video = await lipdub.initVideo({ file_name: `${name}.mp4`, content_type: 'video/mp4', project_name: 'p', scene_name: name, actor_name: 'a' });
  expect((await put(video.upload_url, bytesOf(name, 2048), 'video/mp4')).status).toBe(200);
  const shotId = (await lipdub.videoSuccess(video.video_id)).shot_id!;
  await pollUntil(() => lipdub.shotStatus(shotId), (s) => s.ai_training_status === 'finished');
  return shotId;
}

async function lipdubAudio(name: string): Promise<string> {
  const audio = await lipdub.initAudio({ file_name: `${name}.mp3`, content_type: 'audio/mpeg', size_bytes: 1024 });
  expect((await put(audio.upload_url, bytesOf(name, 1024), 'audio/mpeg')).status).toBe(200);
  await lipdub.audioSuccess(audio.audio_id);
  return audio.audio_id;
}

describe('fault profiles', () => {
  it('an empty profile injects nothing: every provider answers normally and no fault is counted', async () => {
    expect(sb.faults()).toEqual({ seed: 1, rules: [] });
    const text = label('calm');
    const job = await text2video.generate({ text });
    await pollUntil(() => text2video.status(job.jobId), (s) => s.status === 'completed');
    const audioId = await lipdubAudio(label('calm-audio'));
    expect((await lipdub.audioStatus(audioId)).upload_status).toBe('completed');
    const dub = await dublab.initDub({ ...dubSource(label('calm-dub')), dest_lang: 'es' });
    expect((await dublab.listDubs()).find((d) => d.id === dub.fileId)?.externalStatusId).toBe(1);
    expect((await vividflowJob(label('calm-vivid'))).status).toBe('queued');
    expect((await aistudioJob(label('calm-studio'))).status).toBe('PENDING');
    expect(sb.faultStats()).toEqual({ total: {}, byEndpoint: {} });
  });

  it('refuses a bad profile naming the field, and keeps the one in force', async () => {
    const good: FaultProfileInput = { seed: 5, rules: [{ service: 'text2video', faults: { latencyMs: 1 } }] };
    sb.setFaults(good);
    const bad = [
      [{ rules: [{ faults: { serverError: 1.5 } }] }, 'faults.rules[0].faults.serverError.rate'],
      [{ rules: [{ faults: {} }, { faults: { lostResponces: 0.1 } }] }, 'faults.rules[1].faults: Unrecognized key: "lostResponces"'],
      [{ rules: [{ service: 'lipdubb', faults: {} }] }, 'faults.rules[0].service'],
      [{ rules: [{ method: 'PATCH', faults: {} }] }, 'faults.rules[0].method'],
      [{ rules: [{ faults: { latencyMs: { min: 50, max: 10 } } }] }, 'faults.rules[0].faults.latencyMs.max: max must be at least min'],
      [{ rules: [{ faults: { rateLimit: { rate: 0.1, burst: 0 } } }] }, 'faults.rules[0].faults.rateLimit.burst'],
      [{ seed: 1.5 }, 'faults.seed'],
    ] as const;
    for (const [profile, field] of bad) {
      expect(() => sb.setFaults(profile as unknown as FaultProfileInput)).toThrow(FaultProfileError);
      expect(() => sb.setFaults(profile as unknown as FaultProfileInput)).toThrow(field);
    }
    expect(sb.faults()).toEqual({ seed: 5, rules: [{ service: 'text2video', faults: { latencyMs: { min: 1, max: 1, rate: 1 } } }] });
    await expect(startSandbox({ faults: { rules: [{ faults: { reset: -1 } }] } })).rejects.toThrow('faults.rules[0].faults.reset.rate');
  });

  it('is set and read through the admin API, which answers 400 naming the bad field', async () => {
    const admin = (p: string) => `${sb.urls.store}/_sandbox/${p}`;
    const set = await api('POST', admin('faults'), { json: { seed: 9, rules: [{ key: 'text2video POST /api/v1/generate', faults: { serverError: { rate: 1, statuses: [503] } } }] } });
    expect(set.status).toBe(200);
    expect(set.body).toEqual({ seed: 9, rules: [{ key: 'text2video POST /api/v1/generate', faults: { serverError: { rate: 1, statuses: [503] } } }] });
    expect((await api('GET', admin('faults'))).body).toEqual(set.body);
    expect(sb.faults()).toEqual(set.body);

    const text = label('admin');
    expect((await t2vGenerate(text)).status).toBe(503);
    expect((await api('GET', admin('fault-stats'))).body).toEqual({
      total: { serverError: 1 },
      byEndpoint: { 'text2video POST /api/v1/generate': { serverError: 1 } },
    });

    const rejected = await api('POST', admin('faults'), { rawBody: '{"rules":[{"faults":{"htmlError":"often"}}]}', headers: { 'content-type': 'text/plain' } });
    expect(rejected.status).toBe(400);
    expect(rejected.body.error).toContain('faults.rules[0].faults.htmlError');
    expect(sb.faults().seed).toBe(9);

    expect((await api('POST', admin('faults'), { json: {} })).body).toEqual({ seed: 1, rules: [] });
    const created = await t2vGenerate(text);
    expect(created.status).toBe(202);
    const ledger = await api('GET', admin('ledger'));
    expect(ledger.body.filter((e: { key: string }) => e.key === text)).toEqual([
      { provider: 'text2video', endpoint: 'POST /api/v1/generate', id: created.body.job_id, key: text, at: expect.any(String) },
    ]);
  });

  it('applies a profile given at startSandbox from the first request', async () => {
    const other = await startSandbox({ faults: { rules: [{ service: 'text2video', method: 'GET', faults: { htmlError: 1 } }] } });
    try {
      expect((await api('GET', `${other.urls.text2video}/jobs`)).status).toBe(502);
      expect((await api('POST', `${other.urls.text2video}/generate`, { json: { text: 'x' } })).status).toBe(202);
      expect(other.faultStats().total).toEqual({ htmlError: 1 });
    } finally {
      await other.close();
    }
  });

  it('targets one endpoint; the most specific rule wins per kind; route and key globs match', async () => {
    sb.setFaults({
      rules: [
        { faults: { serverError: { rate: 1, statuses: [500] } } },
        { key: 'text2video GET /api/v1/jobs', faults: { serverError: 0 } },
        { service: 'lipdub', route: '/v1/audio*', faults: { serverError: { rate: 1, statuses: [503] } } },
        { service: 'lipdub', method: 'GET', route: '/v1/audio', faults: { serverError: 0 } },
      ],
    });
    expect((await t2vGenerate(label('targeted'))).status).toBe(500);
    expect((await api('GET', `${sb.urls.text2video}/jobs`)).status).toBe(200);
    expect((await api('POST', `${sb.urls.lipdub}/audio`, { headers: lipdubHeaders(), json: {} })).status).toBe(503);
    expect((await api('GET', `${sb.urls.lipdub}/audio/status/nope`, { headers: lipdubHeaders() })).status).toBe(503);
    expect((await api('GET', `${sb.urls.lipdub}/audio`, { headers: lipdubHeaders() })).status).toBe(200);
    expect((await api('GET', `${sb.urls.lipdub}/shots`, { headers: lipdubHeaders() })).status).toBe(500);
    expect(sb.faultStats().byEndpoint).toEqual({
      'text2video POST /api/v1/generate': { serverError: 1 },
      'lipdub POST /v1/audio': { serverError: 1 },
      'lipdub GET /v1/audio/status/:audioId': { serverError: 1 },
      'lipdub GET /v1/shots': { serverError: 1 },
    });
  });

  it('is reproducible: the same seed gives the same faults, whatever other endpoints do in between', async () => {
    const profile: FaultProfileInput = {
      seed: 42,
      rules: [{ service: 'text2video', faults: { serverError: 0.4, rateLimit: { rate: 0.1, burst: 2 }, reset: 0.1, htmlError: 0.1 } }],
    };
    const sequence = async (interleave: boolean) => {
      sb.setFaults(profile);
      const seen: Array<number | string> = [];
      for (let i = 0; i < 40; i++) {
        seen.push(await outcome('GET', `${sb.urls.text2video}/jobs`));
        if (interleave) await outcome('GET', `${sb.urls.text2video}/status/missing-${i}`);
      }
      return seen;
    };
    const first = await sequence(false);
    expect(first).toContain(200);
    expect(new Set(first).size).toBeGreaterThanOrEqual(4);
    expect(await sequence(true)).toEqual(first);

    sb.setFaults({ ...profile, seed: 43 });
    const other: Array<number | string> = [];
    for (let i = 0; i < 40; i++) other.push(await outcome('GET', `${sb.urls.text2video}/jobs`));
    expect(other).not.toEqual(first);
  });
});

describe('fault kinds through real requests and the provider clients', () => {
  it('serverError: a 5xx in the provider format from the default mix, the request not processed; the client says retryable', async () => {
    sb.setFaults({ rules: [{ service: 'text2video', route: '/api/v1/generate', faults: { serverError: 1 } }] });
    const text = label('5xx');
    const statuses = new Set<number>();
    for (let i = 0; i < 30; i++) {
      const res = await t2vGenerate(text);
      statuses.add(res.status);
      expect(typeof res.body.error).toBe('string');
    }
    expect([...statuses].every((s) => [500, 502, 503].includes(s))).toBe(true);
    expect(statuses.size).toBeGreaterThan(1);
    const err = await providerFailure(text2video.generate({ text }));
    expect(err).toBeInstanceOf(InternalServerError);
    // 503 says the request was not processed; 500 and 502 leave it open.
    expect(err).toMatchObject({ retryable: true, ambiguous: err.status !== 503, type: 'ProviderServerError' });
    expect(ledgerFor(text)).toEqual([]);
    expect(sb.faultStats().total).toEqual({ serverError: 31 });

    sb.setFaults({ rules: [{ service: 'dublab', faults: { serverError: { rate: 1, statuses: [504] } } }] });
    const dubErr = await providerFailure(dublab.initDub({ ...dubSource(label('504')), dest_lang: 'es' }));
    expect(dubErr).toMatchObject({ status: 504, retryable: true, providerMessage: 'Gateway Timeout' });
  });

  it('rateLimit: 429s come in bursts of N consecutive requests to the endpoint', async () => {
    sb.setFaults({ seed: 7, rules: [{ key: 'text2video GET /api/v1/jobs', faults: { rateLimit: { rate: 0.25, burst: 3, retryAfterSeconds: 4 } } }] });
    const seen: number[] = [];
    const retryAfter = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const res = await api('GET', `${sb.urls.text2video}/jobs`);
      seen.push(res.status);
      if (res.status === 429) {
        retryAfter.add(String(res.headers['retry-after']));
        expect(res.body).toEqual({ error: 'Too many requests' });
      }
      // Another endpoint is not part of the burst.
      expect((await api('GET', `${sb.urls.text2video}/status/missing`)).status).toBe(404);
    }
    const runs = seen.join(',').split(/,?200,?/).filter((r) => r !== '').map((r) => r.split(',').length);
    expect(runs.length).toBeGreaterThan(0);
    const complete = seen[seen.length - 1] === 429 ? runs.slice(0, -1) : runs;
    // Back-to-back bursts join into one run: every complete run is a whole number of bursts.
    expect(complete.every((n) => n % 3 === 0)).toBe(true);
    expect(retryAfter).toEqual(new Set(['4']));
    expect(sb.faultStats().total.rateLimit).toBe(seen.filter((s) => s === 429).length);
  });

  it.each([
    ['lipdub', () => lipdub.initAudio({ file_name: 'a.mp3', content_type: 'audio/mpeg', size_bytes: 10 })],
    ['dublab', () => dublab.listDubs()],
    ['text2video', () => text2video.listJobs()],
    ['aistudio', () => aistudio.listJobs()],
  ] as const)('rateLimit at %s: a Retry-After header the client turns into retryAfterMs', async (service, call) => {
    sb.setFaults({ rules: [{ service, faults: { rateLimit: { rate: 1, retryAfterSeconds: 3 } } }] });
    const err = await providerFailure(call());
    expect(err).toBeInstanceOf(RateLimitError);
    expect(err).toMatchObject({ status: 429, retryable: true, retryAfterMs: 3000 });
  });

  it('rateLimit at Vivid Flow: the documented body with retry_after, which the client reads', async () => {
    sb.setFaults({ rules: [{ service: 'vividflow', faults: { rateLimit: { rate: 1, retryAfterSeconds: 120 } } }] });
    const raw = await api('GET', `${sb.urls.vividflow}/history`, { headers: { 'x-api-key': sb.keys.vividflow } });
    expect(raw.status).toBe(429);
    expect(raw.body).toEqual({ error: 'Rate limit exceeded', details: '429 Too Many Requests', retry_after: 120 });
    expect(raw.headers['retry-after']).toBeUndefined();
    const prompt = label('limited');
    const err = await providerFailure(vividflowJob(prompt));
    expect(err).toBeInstanceOf(RateLimitError);
    expect(err).toMatchObject({ retryable: true, retryAfterMs: 120_000 });
    expect(ledgerFor(prompt)).toEqual([]);
  });

  it('latencyMs: a fixed or ranged delay on the targeted endpoint only', async () => {
    sb.setFaults({
      seed: 3,
      rules: [
        { key: 'text2video GET /api/v1/jobs', faults: { latencyMs: 150 } },
        { key: 'text2video GET /api/v1/status/:jobId', faults: { latencyMs: { min: 60, max: 120 } } },
      ],
    });
    const timed = async (p: string) => {
      const start = Date.now();
      await api('GET', `${sb.urls.text2video}${p}`);
      return Date.now() - start;
    };
    for (let i = 0; i < 3; i++) expect(await timed('/jobs')).toBeGreaterThanOrEqual(145);
    for (let i = 0; i < 3; i++) expect(await timed('/status/x')).toBeGreaterThanOrEqual(55);
    expect(sb.faultStats().byEndpoint).toEqual({
      'text2video GET /api/v1/jobs': { latencyMs: 3 },
      'text2video GET /api/v1/status/:jobId': { latencyMs: 3 },
    });
  });

  it('reset: the connection drops before the request is processed; the client reports an ambiguous connection error', async () => {
    sb.setFaults({ rules: [{ service: 'text2video', method: 'POST', faults: { reset: 1 } }] });
    const text = label('reset');
    const before = sb.counters()['text2video POST /api/v1/generate'] ?? 0;
    await expect(t2vGenerate(text)).rejects.toMatchObject({ code: expect.stringMatching(/UND_ERR_SOCKET|ECONNRESET|EPIPE/) });
    const err = await providerFailure(text2video.generate({ text }));
    expect(err).toBeInstanceOf(APIConnectionError);
    expect(err).toMatchObject({ retryable: true, ambiguous: true, type: 'ProviderConnectionError' });
    expect(ledgerFor(text)).toEqual([]);
    expect(sb.counters()['text2video POST /api/v1/generate']).toBe(before + 2);
    expect((await text2video.listJobs()).length).toBe(sb.ledger().filter((e) => e.provider === 'text2video').length);
  });

  type LostCase = [string, (key: string) => Promise<unknown>, (key: string) => Promise<string | undefined>];
  it.each<LostCase>([
    [
      'lipdub POST /v1/audio',
      (key) => lipdub.initAudio({ file_name: key, content_type: 'audio/mpeg', size_bytes: 10 }),
      async (key) => (await lipdub.listAudio()).data.find((a) => a.file_name === key)?.audio_id,
    ],
    [
      'dublab POST /api/v1/init-dub',
      (key) => dublab.initDub({ ...dubSource(key), dest_lang: 'fr' }),
      // The client reads no name from GET /dubs (the docs show none): the sandbox's own answer does carry it.
      async (key) =>
        ((await api<{ dubs: Array<{ id: string; name: string }> }>('GET', `${sb.urls.dublab}/dubs`, { headers: { apikey: sb.keys.dublab } })).body.dubs.find(
          (d) => d.name === key,
        )?.id),
    ],
    ['vividflow POST /api/v1/generate', (key) => vividflowJob(key), async (key) => (await vividflow.history({ limit: 100 })).jobs.find((j) => j.prompt === key)?.jobId],
    ['aistudio POST /api/v1/video-jobs', (key) => aistudioJob(key), async (key) => (await aistudio.listJobs({ limit: 100 })).jobs.find((j) => j.prompt === key)?.id],
  ])('lostResponse on %s: the create happens (ledger and list endpoint agree), the client gets an ambiguous error', async (key, create, findListed) => {
    sb.setFaults({ rules: [{ key, faults: { lostResponse: 1 } }] });
    const tokensBefore = sb.stats().aistudio.tokens[sb.keys.aistudio]!;
    const name = label('lost');
    const err = await providerFailure(create(name));
    expect(err).toBeInstanceOf(APIConnectionError);
    expect(err).toMatchObject({ retryable: true, ambiguous: true });
    const entries = ledgerFor(name);
    expect(entries).toEqual([{ provider: key.split(' ')[0], endpoint: key.split(' ').slice(1).join(' '), id: expect.any(String), key: name, at: expect.any(String) }]);
    sb.setFaults({});
    expect(await findListed(name)).toBe(entries[0]!.id);
    if (key.startsWith('aistudio')) expect(sb.stats().aistudio.tokens[sb.keys.aistudio]).toBe(tokensBefore - 50);
  });

  it('lostResponse: the handler really runs to completion (text2video job runs; raw socket sees no byte)', async () => {
    sb.setFaults({ rules: [{ service: 'text2video', method: 'POST', faults: { lostResponse: 1 } }] });
    const text = label('lost-raw');
    let bytes = 0;
    await expect(
      (async () => {
        const res = await request(`${sb.urls.text2video}/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text }) });
        for await (const chunk of res.body) bytes += (chunk as Buffer).length;
      })(),
    ).rejects.toMatchObject({ code: 'UND_ERR_SOCKET' });
    expect(bytes).toBe(0);
    const [entry] = ledgerFor(text);
    expect(entry).toMatchObject({ provider: 'text2video', endpoint: 'POST /api/v1/generate' });
    const done = await pollUntil(() => text2video.status(entry!.id), (s) => s.status === 'completed');
    expect(done.progress).toBe(100);
    // A create refused by validation is not a create, even when its answer is lost.
    await expect(t2vGenerate('')).rejects.toMatchObject({ code: 'UND_ERR_SOCKET' });
    expect(ledgerFor('')).toEqual([]);
    expect(sb.faultStats().total).toEqual({ lostResponse: 2 });
  });

  it('malformedJson: the request is processed, its 2xx JSON answer cut short; the client says ProviderResponseInvalid', async () => {
    sb.setFaults({ rules: [{ service: 'text2video', route: '/api/v1/generate', faults: { malformedJson: 1 } }] });
    const text = label('malformed');
    const res = await request(`${sb.urls.text2video}/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text }) });
    const body = await res.body.text();
    expect(res.statusCode).toBe(202);
    expect(res.headers['content-type']).toMatch(/json/);
    expect(() => JSON.parse(body)).toThrow();
    const [entry] = ledgerFor(text);
    expect(body).toBe(JSON.stringify({ job_id: entry!.id, status: 'queued', message: 'Video generation started' }).slice(0, body.length));

    const err = await providerFailure(text2video.generate({ text }));
    expect(err).toBeInstanceOf(ResponseValidationError);
    expect(err).toMatchObject({ type: 'ProviderResponseInvalid', ambiguous: true, retryable: false });
    expect(err.message).toContain('not JSON');
    expect(ledgerFor(text)).toHaveLength(2);

    // Error answers pass through untouched and are not counted.
    const refused = await t2vGenerate('');
    expect(refused).toMatchObject({ status: 400, body: { error: 'No text provided in request body' } });
    expect(sb.faultStats().total).toEqual({ malformedJson: 2 });
  });

  it('htmlError: a 502 HTML page, not processed; the client says retryable server error', async () => {
    sb.setFaults({ rules: [{ service: 'lipdub', faults: { htmlError: 1 } }] });
    const res = await api('GET', `${sb.urls.lipdub}/shots`, { headers: lipdubHeaders() });
    expect(res.status).toBe(502);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.body).toContain('<title>502 Bad Gateway</title>');
    const name = label('html');
    const err = await providerFailure(lipdub.initAudio({ file_name: name, content_type: 'audio/mpeg', size_bytes: 10 }));
    expect(err).toBeInstanceOf(InternalServerError);
    expect(err).toMatchObject({ status: 502, retryable: true });
    expect(err.message).toContain('502 Bad Gateway');
    expect(ledgerFor(name)).toEqual([]);
  });

  // Known: the client keeps the raw page as the provider message (markup and CRLFs included).
  it('htmlError: the client message is readable text, without HTML markup', async () => {
    sb.setFaults({ rules: [{ service: 'lipdub', faults: { htmlError: 1 } }] });
    const err = await providerFailure(lipdub.listShots());
    expect(err.message).not.toMatch(/<[a-z/]/i);
  });

  type ReadCase = [string, () => Promise<{ status?: unknown }>, string];
  it.each<ReadCase>([
    ['text2video', async () => text2video.status((await text2video.generate({ text: label('u') })).jobId), 'paused'],
    ['vividflow', async () => vividflow.status((await vividflowJob(label('u'))).jobId), 'paused'],
    ['aistudio', async () => aistudio.getJob((await aistudioJob(label('u'))).id), 'PAUSED'],
  ])('unknownStatus at %s: the client reads the undocumented status as it came (the pipeline keeps waiting on it)', async (service, poll, value) => {
    sb.setFaults({ rules: [{ service: service as 'text2video', faults: { unknownStatus: 1 } }] });
    await expect(poll()).resolves.toMatchObject({ status: value });
    expect(Object.values(sb.faultStats().byEndpoint)).toEqual([{ unknownStatus: 1 }]);
  });

  it('unknownStatus at lipdub: the status field carries an undocumented value; the client reads it as text (the workflow keeps waiting)', async () => {
    sb.setFaults({ rules: [{ service: 'lipdub', faults: { unknownStatus: 1 } }] });
    const audio = await lipdub.initAudio({ file_name: 'u.mp3', content_type: 'audio/mpeg', size_bytes: 5 });
    await expect(lipdub.audioStatus(audio.audio_id)).resolves.toEqual({ audio_id: audio.audio_id, upload_status: 'on_hold' });
    expect(Object.values(sb.faultStats().byEndpoint)).toEqual([{ unknownStatus: 1 }]);
  });

  // DubLab's status is read tolerantly (issue 11): an undocumented externalStatusId passes through and the
  // workflow keeps waiting, so the client reads the answer instead of refusing it.
  it('unknownStatus at dublab: GET /dubs carries an undocumented externalStatusId; the client passes it through', async () => {
    const dub = await dublab.initDub({ ...dubSource(label('u')), dest_lang: 'de' });
    sb.setFaults({ rules: [{ service: 'dublab', faults: { unknownStatus: 1 } }] });
    expect((await dublab.listDubs()).find((d) => d.id === dub.fileId)?.externalStatusId).toBe(6);
    expect(Object.values(sb.faultStats().byEndpoint)).toEqual([{ unknownStatus: 1 }]);
  });

  it('unknownStatus: only the status field changes, `value` overrides it, and non-status endpoints are untouched', async () => {
    const created = await t2vGenerate(label('status'));
    const id = created.body.job_id as string;
    const plain = (await api('GET', `${sb.urls.text2video}/status/${id}`)).body;
    sb.setFaults({ rules: [{ service: 'text2video', faults: { unknownStatus: { rate: 1, value: 'stalled' } } }] });
    const faulty = (await api('GET', `${sb.urls.text2video}/status/${id}`)).body;
    expect(faulty.status).toBe('stalled');
    expect(Object.keys(faulty).sort()).toEqual(Object.keys(plain).sort());
    expect(faulty.created_at).toBe(plain.created_at);
    expect((await t2vGenerate(label('status'))).body.status).toBe('queued');
    expect(sb.faultStats().total).toEqual({ unknownStatus: 1 });
  });

  it('jobFails: jobs fail at every provider with the provider-given reason', async () => {
    sb.setFaults({
      rules: [
        { key: 'text2video POST /api/v1/generate', faults: { jobFails: 1 } },
        { key: 'vividflow POST /api/v1/generate', faults: { jobFails: 1 } },
        { key: 'aistudio POST /api/v1/video-jobs', faults: { jobFails: 1 } },
        { key: 'dublab POST /api/v1/start-dub', faults: { jobFails: 1 } },
        { key: 'lipdub POST /v1/shots/:shotId/generate', faults: { jobFails: 1 } },
      ],
    });
    const t2v = await text2video.generate({ text: label('doomed') });
    const t2vDone = await pollUntil(() => text2video.status(t2v.jobId), (s) => s.status !== 'queued' && s.status !== 'processing');
    expect(t2vDone).toMatchObject({ status: 'failed', error: expect.stringMatching(/\S/) });

    const vivid = await vividflowJob(label('doomed'));
    const vividDone = await pollUntil(() => vividflow.status(vivid.jobId), (s) => s.status === 'failed' || s.status === 'completed');
    expect(vividDone).toMatchObject({ status: 'failed', errorMessage: expect.stringMatching(/\S/) });

    const studio = await aistudioJob(label('doomed'));
    const studioDone = await pollUntil(() => aistudio.getJob(studio.id), (j) => j.status === 'FAILED' || j.status === 'SUCCEEDED');
    expect(studioDone).toMatchObject({ status: 'FAILED', errorMessage: expect.stringMatching(/\S/) });

    const dub = await dublab.initDub({ ...dubSource(label('doomed')), dest_lang: 'it' });
    expect((await put(dub.uploadUrl, bytesOf('dub', 2048), 'video/mp4')).status).toBe(200);
    await dublab.startDub(dub.fileId);
    const dubDone = await pollUntil(async () => (await dublab.listDubs()).find((d) => d.id === dub.fileId)!, (d) => d.externalStatusId === 4 || d.externalStatusId === 5);
    expect(dubDone).toMatchObject({ externalStatusId: 4, externalErrorMessage: expect.stringMatching(/\S/) });

    const shot = await lipdubShot(label('doomed'));
    const audio = await lipdubAudio(label('doomed'));
    const gen = await lipdub.generate(shot, { audio_id: audio, output_filename: `${label('doomed')}.mp4`, language: 'es' });
    const genDone = await pollUntil(() => lipdub.generateStatus(shot, gen.generateId), (g) => g.status === 'failed' || g.status === 'finished');
    expect(genDone).toMatchObject({ status: 'failed', failureReason: expect.stringMatching(/\S/) });

    expect(sb.faultStats().total).toEqual({ jobFails: 5 });
  });

  it('jobFails at a rate: exactly the counted jobs fail', async () => {
    sb.setFaults({ seed: 11, rules: [{ service: 'vividflow', faults: { jobFails: 0.5 } }] });
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push((await vividflowJob(label('maybe'))).jobId);
    const finals = [];
    for (const id of ids) finals.push(await pollUntil(() => vividflow.status(id), (s) => s.status === 'failed' || s.status === 'completed'));
    const failed = finals.filter((s) => s.status === 'failed').length;
    expect(failed).toBe(sb.faultStats().total.jobFails ?? 0);
    expect(failed).toBeGreaterThan(0);
    expect(failed).toBeLessThan(ids.length);
  });

  it('expiredSignedUrls: upload URLs issued already expired answer 403 ExpiredToken; other endpoints sign normally', async () => {
    sb.setFaults({ rules: [{ key: 'lipdub POST /v1/video', faults: { expiredSignedUrls: 1 } }] });
    const video = await lipdub.initVideo({ file_name: 'e.mp4', content_type: 'video/mp4', project_name: 'p', scene_name: label('expired'), actor_name: 'a' });
    expect(Number(new URL(video.upload_url).searchParams.get('expires'))).toBeLessThan(Date.now() / 1000);
    const refused = await put(video.upload_url, bytesOf('e', 100), 'video/mp4');
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('<Code>ExpiredToken</Code>');

    const audio = await lipdub.initAudio({ file_name: 'e.mp3', content_type: 'audio/mpeg', size_bytes: 100 });
    expect((await put(audio.upload_url, bytesOf('e', 100), 'audio/mpeg')).status).toBe(200);

    sb.setFaults({ rules: [{ service: 'dublab', faults: { expiredSignedUrls: { rate: 1, ttlSeconds: 2 } } }] });
    const dub = await dublab.initDub({ ...dubSource(label('short')), dest_lang: 'es' });
    const expires = Number(new URL(dub.uploadUrl).searchParams.get('expires'));
    expect(expires - Date.now() / 1000).toBeLessThanOrEqual(2);
    expect(sb.faultStats().byEndpoint).toEqual({ 'dublab POST /api/v1/init-dub': { expiredSignedUrls: 1 } });
  });

  it('slowUpload: the store reads a PUT body at the capped rate and still stores every byte', async () => {
    const bytes = bytesOf('slow', 60_000);
    const upload = async () => {
      const audio = await lipdub.initAudio({ file_name: 's.mp3', content_type: 'audio/mpeg', size_bytes: bytes.length });
      const start = Date.now();
      const res = await request(audio.upload_url, { method: 'PUT', headers: { 'content-type': 'audio/mpeg', 'content-length': String(bytes.length) }, body: bytes });
      await res.body.dump();
      const elapsed = Date.now() - start;
      expect(res.statusCode).toBe(200);
      // The store's ETag is the stored object's sha256 (first 32 hex digits).
      expect(res.headers.etag).toBe(`"${sha256Hex(bytes).slice(0, 32)}"`);
      await lipdub.audioSuccess(audio.audio_id);
      return elapsed;
    };
    const fast = await upload();
    sb.setFaults({ rules: [{ service: 'store', method: 'PUT', faults: { slowUpload: 100_000 } }] });
    const slow = await upload();
    expect(slow).toBeGreaterThanOrEqual(550);
    expect(slow).toBeGreaterThan(fast);
    expect(sb.faultStats().byEndpoint).toEqual({ 'store PUT': { slowUpload: 1 } });
  });

  it('slowDownload: the store sends a GET body at the capped rate, every byte intact', async () => {
    sb.setFaults({ rules: [] });
    const bytes = bytesOf('slow-down', 60_000);
    const key = `faults/slow-download-${Date.now()}.mp3`;
    const put = await request(sb.signedUrl('PUT', key, 'audio/mpeg'), { method: 'PUT', headers: { 'content-type': 'audio/mpeg', 'content-length': String(bytes.length) }, body: bytes });
    await put.body.dump();
    expect(put.statusCode).toBe(200);
    const url = sb.signedUrl('GET', key, '');
    sb.setFaults({ rules: [{ service: 'store', method: 'GET', faults: { slowDownload: 100_000 } }] });
    const start = Date.now();
    const res = await request(url);
    const got = Buffer.from(await res.body.arrayBuffer());
    expect(Date.now() - start).toBeGreaterThanOrEqual(550);
    expect(sha256Hex(got)).toBe(sha256Hex(bytes));
    expect(sb.faultStats().byEndpoint).toEqual({ 'store GET': { slowDownload: 1 } });
  });
});

describe('the ledger of billable creates', () => {
  it('records every create with the content a client reconciles by, and nothing for refused requests', async () => {
    const scene = label('scene');
    const video = await lipdub.initVideo({ file_name: 'v.mp4', content_type: 'video/mp4', project_name: 'p', scene_name: scene, actor_name: 'a' });
    const shot = await lipdubShot(label('ledger-shot'));
    const audioName = label('audio');
    const audio = await lipdub.initAudio({ file_name: audioName, content_type: 'audio/mpeg', size_bytes: 10 });
    const output = label('out');
    const gen = await lipdub.generate(shot, { audio_id: audio.audio_id, output_filename: output, language: 'fr' });
    const dubName = label('dub');
    const dub = await dublab.initDub({ ...dubSource(dubName), dest_lang: 'es' });
    expect((await put(dub.uploadUrl, bytesOf('d', 100), 'video/mp4')).status).toBe(200);
    await dublab.startDub(dub.fileId);
    const groupName = label('group');
    const group = await dublab.initDubGroup({ ...dubSource(groupName), dest_langs: ['fr', 'de'] });
    const prompt = label('prompt');
    const vivid = await vividflowJob(prompt);
    const studio = await aistudioJob(prompt);
    const text = label('text');
    const t2v = await text2video.generate({ text });

    // Refused creates are not in the ledger.
    await providerFailure(dublab.startDub(dub.fileId));
    expect((await api('POST', `${sb.urls.lipdub}/audio`, { headers: lipdubHeaders(), json: { file_name: label('bad') } })).status).toBe(400);

    const at = expect.stringMatching(/^\d{4}-\d\d-\d\dT/);
    const mine = new Set([scene, audioName, output, dubName, dub.fileId, groupName, prompt, text]);
    expect(sb.ledger().filter((e) => mine.has(e.key))).toEqual([
      { provider: 'lipdub', endpoint: 'POST /v1/video', id: video.video_id, key: scene, at },
      { provider: 'lipdub', endpoint: 'POST /v1/audio', id: audio.audio_id, key: audioName, at },
      { provider: 'lipdub', endpoint: 'POST /v1/shots/:shotId/generate', id: gen.generateId, key: output, shotId: String(shot), at },
      { provider: 'dublab', endpoint: 'POST /api/v1/init-dub', id: dub.fileId, key: dubName, at },
      { provider: 'dublab', endpoint: 'POST /api/v1/start-dub', id: dub.fileId, key: dub.fileId, at },
      { provider: 'dublab', endpoint: 'POST /api/v1/init-dub-group', id: group.projectId, key: groupName, at },
      { provider: 'vividflow', endpoint: 'POST /api/v1/generate', id: vivid.jobId, key: prompt, at },
      { provider: 'aistudio', endpoint: 'POST /api/v1/video-jobs', id: studio.id, key: prompt, at },
      { provider: 'text2video', endpoint: 'POST /api/v1/generate', id: t2v.jobId, key: text, at },
    ]);
  });
});

describe('the docs-minimal profile: 502 and 503 are a gateway page, not the provider JSON', () => {
  it('answers an injected 502/503 with an nginx HTML page on provider routes, XML on the store; faithful keeps JSON', async () => {
    sb.setFaults({ rules: [{ service: 'text2video', faults: { serverError: { rate: 1, statuses: [502, 503] } } }] });
    try {
      const faithful = await t2vGenerate(label('json-5xx'));
      expect(typeof faithful.body.error).toBe('string');

      sb.configure({ profile: 'docs-minimal' });
      const seen = new Set<number>();
      for (let i = 0; i < 12; i++) {
        const res = await t2vGenerate(label('html-5xx'));
        seen.add(res.status);
        expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
        expect(String(res.body)).toContain(`<title>${res.status} ${res.status === 502 ? 'Bad Gateway' : 'Service Unavailable'}</title>`);
      }
      expect([...seen].sort()).toEqual([502, 503]);
      // The client reads it as a retryable server error with a readable message.
      const err = await providerFailure(text2video.generate({ text: label('client') }));
      expect(err).toBeInstanceOf(InternalServerError);
      expect(err).toMatchObject({ retryable: true });
      expect(err.message).not.toMatch(/<[a-z/]/i);

      sb.setFaults({ rules: [{ service: 'store', faults: { serverError: { rate: 1, statuses: [503] } } }] });
      const store = await api('GET', sb.signedUrl('GET', 'nothing/here', 'video/mp4'));
      expect(store.status).toBe(503);
      expect(String(store.headers['content-type'])).toContain('xml');
    } finally {
      sb.configure({ profile: 'faithful' });
      sb.setFaults({});
    }
  });

  it('refuses an unknown profile, naming the setting', async () => {
    expect(() => sb.configure({ profile: 'loose' as 'faithful' })).toThrow('profile must be one of "faithful", "docs-minimal"');
    await expect(startSandbox({ profile: 'strict' as 'faithful' })).rejects.toThrow('profile must be one of');
  });
});
