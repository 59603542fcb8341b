import fs from 'node:fs';
import { AistudioClient } from '../../src/pipelines/aistudio/client';
import { DublabClient } from '../../src/pipelines/dublab/client';
import { PROVIDER_DISPLAY_NAMES, ResponseValidationError, type ProviderId } from '../../src/providers/errors';
import { LipdubClient } from '../../src/pipelines/lipdub/client';
import { Text2videoClient } from '../../src/pipelines/text2video/client';
import { VividflowClient } from '../../src/pipelines/vividflow/client';
import { makeFile, tempDir } from '../support/harness';
import { startLoopback, type Loopback, type LoopbackAnswer } from '../providers/support';

/**
 * Bad provider output never surfaces as a TypeError. Every method of the five clients is called against a
 * real loopback HTTP server answering 200 with wrong-shaped bodies: fields missing, wrong types, null, an
 * array for an object, an empty body, a body that is not JSON, URLs that are not http(s), ids that would
 * change the next URL path. Each call must fail with ResponseValidationError (type ProviderResponseInvalid)
 * whose message names the provider, the endpoint and the field; a well-formed answer must pass, so every
 * case can fail.
 */

const KEY = 'k-0123456789';

interface MethodSpec {
  provider: ProviderId;
  endpoint: string;
  call(): Promise<unknown>;
  /** A well-formed answer (the call must succeed with it). */
  good: LoopbackAnswer;
  /** The field named when a required one is missing (`{}` or an empty body); undefined for acknowledgements. */
  missing?: string;
  /** The field named for an array body (an object is expected; `response` unless the method says). */
  arrayField?: string;
  /** Answers with one thing wrong, and the field the message must name. */
  wrong: Array<[body: unknown, field: string]>;
}

let server: Loopback;
let dir: string;
let image: string;

const lipdub = () => new LipdubClient({ baseUrl: server.baseUrl, apiKey: KEY });
const dublab = () => new DublabClient({ baseUrl: server.baseUrl, apiKey: KEY });
const t2v = () => new Text2videoClient({ baseUrl: server.baseUrl });
const vivid = () => new VividflowClient({ baseUrl: server.baseUrl, apiKey: KEY });
const studio = () => new AistudioClient({ baseUrl: server.baseUrl, apiKey: KEY });

const ok = (body: unknown, status = 200): LoopbackAnswer => ({ status, body });
const SIGNED = 'https://storage.example.com/bucket/object?X-Signature=abc';
const dub = { id: 7, projectId: 3, name: 'a.mp4', targetLang: 'es', externalStatusId: 5, externalErrorMessage: null };
const job = { id: 'job-1', status: 'RUNNING' };

const METHODS: Record<string, MethodSpec> = {
  'lipdub.initVideo': {
    provider: 'lipdub',
    endpoint: 'POST /video',
    call: () => lipdub().initVideo({ file_name: 'a.mp4', content_type: 'video/mp4', project_name: 'p', scene_name: 's', actor_name: 'a' }),
    good: ok({ data: { video_id: 'v1', upload_url: SIGNED } }),
    missing: 'data',
    wrong: [
      [{ data: { video_id: 'v1', upload_url: 42 } }, 'data.upload_url'],
      [{ data: { video_id: 'v1', upload_url: 'file:///etc/passwd' } }, 'data.upload_url'],
      [{ data: { video_id: '..', upload_url: SIGNED } }, 'data.video_id'],
    ],
  },
  'lipdub.videoSuccess': {
    provider: 'lipdub',
    endpoint: 'POST /video/success/{video_id}',
    call: () => lipdub().videoSuccess('v1'),
    good: ok({ data: { shot_id: 746176, asset_type: 'dubbing-video' } }),
    // No shot id (or no data) is a documented state: the shot id comes from GET /video/status.
    wrong: [[{ data: { shot_id: 'seven' } }, 'data.shot_id']],
  },
  'lipdub.videoFailure': {
    provider: 'lipdub',
    endpoint: 'POST /video/failure/{video_id}',
    call: () => lipdub().videoFailure('v1'),
    good: ok({}),
    wrong: [['"done"', 'response']],
  },
  'lipdub.videoStatus': {
    provider: 'lipdub',
    endpoint: 'GET /video/status/{video_id}',
    call: () => lipdub().videoStatus('v1'),
    good: ok({ data: { upload_status: 'completed', shot_id: 5, shot_status: 'running', ai_training_status: 'not_started' } }),
    missing: 'data',
    // An undocumented status text passes (the workflow keeps waiting); a status that is not text does not.
    wrong: [[{ data: { upload_status: 7 } }, 'data.upload_status']],
  },
  'lipdub.initAudio': {
    provider: 'lipdub',
    endpoint: 'POST /audio',
    call: () => lipdub().initAudio({ file_name: 'a.mp3', content_type: 'audio/mpeg', size_bytes: 10 }),
    good: ok({ data: { audio_id: 'a1', upload_url: SIGNED } }),
    missing: 'data',
    wrong: [
      [{ data: { audio_id: null, upload_url: SIGNED } }, 'data.audio_id'],
      [{ data: { audio_id: 'a1', upload_url: 'javascript:alert(1)' } }, 'data.upload_url'],
    ],
  },
  'lipdub.audioSuccess': {
    provider: 'lipdub',
    endpoint: 'POST /audio/success/{audio_id}',
    call: () => lipdub().audioSuccess('a1'),
    good: ok({}),
    wrong: [[7, 'response']],
  },
  'lipdub.audioStatus': {
    provider: 'lipdub',
    endpoint: 'GET /audio/status/{audio_id}',
    call: () => lipdub().audioStatus('a1'),
    good: ok({ data: { audio_id: 'a1', upload_status: 'completed' } }),
    missing: 'data',
    wrong: [[{ data: { audio_id: 'a1', upload_status: true } }, 'data.upload_status']],
  },
  'lipdub.listAudio': {
    provider: 'lipdub',
    endpoint: 'GET /audio',
    call: () => lipdub().listAudio(),
    good: ok({ data: [{ audio_id: 'a1', upload_status: 'completed' }], count: 1 }),
    missing: 'data',
    wrong: [[{ data: [{ upload_status: 'completed' }] }, 'data[0].audio_id']],
  },
  'lipdub.listShots': {
    provider: 'lipdub',
    endpoint: 'GET /shots',
    call: () => lipdub().listShots(),
    good: ok({ data: [{ shot_id: 1, shot_label: 'a.mp4' }] }),
    missing: 'data',
    wrong: [[{ data: { shot_id: 1 } }, 'data']],
  },
  'lipdub.shotStatus': {
    provider: 'lipdub',
    endpoint: 'GET /shots/{shot_id}/status',
    call: () => lipdub().shotStatus(1),
    good: ok({ data: { shot_status: 'finished', ai_training_status: 'finished' } }),
    missing: 'data',
    wrong: [[{ data: { shot_status: 'finished', ai_training_status: 3 } }, 'data.ai_training_status']],
  },
  'lipdub.generate': {
    provider: 'lipdub',
    endpoint: 'POST /shots/{shot_id}/generate',
    call: () => lipdub().generate(1, { audio_id: 'a1', output_filename: 'o.mp4', language: 'es' }),
    good: ok({ data: { generate_id: 'g1', status: 'processing' } }),
    missing: 'data',
    wrong: [
      [{ data: { status: 'processing' } }, 'data.generate_id'],
      [{ data: { generateId: '..', status: 'processing' } }, 'data.generate_id'],
    ],
  },
  'lipdub.generateStatus': {
    provider: 'lipdub',
    endpoint: 'GET /shots/{shot_id}/generate/{generate_id}',
    call: () => lipdub().generateStatus(1, 'g1'),
    good: ok({ data: { status: 'running' } }),
    missing: 'data',
    wrong: [[{ data: { status: 5 } }, 'data.status']],
  },
  'lipdub.generateDownload': {
    provider: 'lipdub',
    endpoint: 'GET /shots/{shot_id}/generate/{generate_id}/download',
    call: () => lipdub().generateDownload(1, 'g1'),
    good: ok({ data: { download_url: SIGNED } }),
    missing: 'data',
    wrong: [
      [{ data: { download_url: 'not a url' } }, 'data.download_url'],
      [{ data: { download_url: 'file:///etc/passwd' } }, 'data.download_url'],
    ],
  },

  'dublab.me': {
    provider: 'dublab',
    endpoint: 'GET /me',
    call: () => dublab().me(),
    good: ok({ id: 1, email: 'a@b.c', credits: 100 }),
    // Only `credits` is read, and it is optional (the docs name no field of GET /me).
    wrong: [[{ id: 1, email: 'a@b.c', credits: 'lots' }, 'credits']],
  },
  'dublab.listDubs': {
    provider: 'dublab',
    endpoint: 'GET /dubs',
    call: () => dublab().listDubs(),
    good: ok({ dubs: [dub] }),
    missing: 'response',
    // A bare array is a documented variant of this answer: its entries are checked instead.
    arrayField: '[0].externalStatusId',
    wrong: [[{ dubs: [{ ...dub, externalStatusId: null }] }, '[0].externalStatusId']],
  },
  'dublab.dubOutputs': {
    provider: 'dublab',
    endpoint: 'GET /dubs/{fileId}/outputs',
    call: () => dublab().dubOutputs('7'),
    good: ok({ outputs: { translated_mp4: { url: SIGNED } } }),
    missing: 'outputs',
    wrong: [
      [{ outputs: { translated_mp4: { url: 'ftp://files.example.com/x.mp4' } } }, 'outputs.translated_mp4.url'],
      [{ outputs: ['translated_mp4'] }, 'outputs'],
    ],
  },
  'dublab.initDub': {
    provider: 'dublab',
    endpoint: 'POST /init-dub',
    call: () => dublab().initDub({ fileType: 'video/mp4', name: 'n', source_lang: 'en', duration: 3, dest_lang: 'es' }),
    good: ok({ fileId: 7, projectId: 3, uploadUrl: SIGNED }),
    missing: 'fileId',
    wrong: [[{ fileId: 7, projectId: 3, uploadUrl: 'file:///tmp/x' }, 'uploadUrl']],
  },
  'dublab.initDubGroup': {
    provider: 'dublab',
    endpoint: 'POST /init-dub-group',
    call: () => dublab().initDubGroup({ fileType: 'video/mp4', name: 'n', source_lang: 'en', duration: 3, dest_langs: ['es', 'de'] }),
    good: ok({ projectId: 3, uploadUrl: SIGNED, files: [{ fileId: 1, dest_lang: 'es' }, { fileId: 2, lang: 'de' }] }),
    missing: 'projectId',
    wrong: [
      // A file without a language takes the requested ones left over, in order: here `es`, so `de` has none.
      [{ projectId: 3, uploadUrl: SIGNED, files: [{ fileId: 1 }] }, 'files: no file for dest_langs de'],
      [{ projectId: 3, uploadUrl: SIGNED, files: [{ fileId: 1, dest_lang: 'es' }, { fileId: 2, dest_lang: 'fr' }] }, 'files: no file for dest_langs de'],
    ],
  },
  'dublab.startDub': {
    provider: 'dublab',
    endpoint: 'POST /start-dub',
    call: () => dublab().startDub('7'),
    good: ok({ fileId: 7, externalStatusId: 2 }),
    wrong: [[{ fileId: '..' }, 'fileId']],
  },

  'text2video.generate': {
    provider: 'text2video',
    endpoint: 'POST /generate',
    call: () => t2v().generate({ text: 'a story' }),
    good: ok({ job_id: 'j1', status: 'queued', message: 'queued' }, 202),
    missing: 'job_id',
    wrong: [[{ job_id: '..', status: 'queued' }, 'job_id']],
  },
  'text2video.status': {
    provider: 'text2video',
    endpoint: 'GET /status/{job_id}',
    call: () => t2v().status('j1'),
    good: ok({ status: 'processing', progress: 40, message: 'footage', logs: ['a'] }),
    missing: 'status',
    wrong: [[{ status: ['processing'], progress: 40 }, 'status']],
  },
  'text2video.listJobs': {
    provider: 'text2video',
    endpoint: 'GET /jobs',
    call: () => t2v().listJobs(),
    good: ok({ jobs: { j1: { status: 'completed', progress: 100 } } }),
    missing: 'jobs',
    wrong: [[{ jobs: { '..': { status: 'completed', progress: 100 } } }, 'jobs[0].job_id']],
  },

  'vividflow.generate (multipart)': {
    provider: 'vividflow',
    endpoint: 'POST /generate',
    call: () => vivid().generate({ prompt: 'a cat', imagePath: image }),
    good: ok({ job_id: 'c2c6', status: 'queued', message: 'accepted' }, 202),
    missing: 'job_id',
    wrong: [[{ job_id: { id: 'c2c6' }, status: 'queued' }, 'job_id']],
  },
  'vividflow.generate (urlencoded)': {
    provider: 'vividflow',
    endpoint: 'POST /generate',
    call: () => vivid().generate({ prompt: 'a cat', imageUrl: 'gs://bucket/cat.png' }),
    good: ok({ job_id: 'c2c6', status: 'queued' }, 202),
    missing: 'job_id',
    wrong: [[{ job_id: ['c2c6'], status: 'queued' }, 'job_id']],
  },
  'vividflow.status': {
    provider: 'vividflow',
    endpoint: 'GET /status/{job_id}',
    call: () => vivid().status('c2c6'),
    good: ok({ job_id: 'c2c6', status: 'completed', result_url: SIGNED }),
    missing: 'status',
    wrong: [
      [{ job_id: 'c2c6', status: 'completed' }, 'result_url'],
      [{ job_id: 'c2c6', status: 'completed', result_url: 'gs://bucket/out.mp4' }, 'result_url'],
      [{ job_id: 'c2c6', status: 7 }, 'status'],
    ],
  },
  'vividflow.cancel': {
    provider: 'vividflow',
    endpoint: 'POST /cancel/{job_id}',
    call: () => vivid().cancel('c2c6'),
    good: ok({ message: 'cancelled', job_id: 'c2c6' }),
    wrong: [],
  },
  'vividflow.history': {
    provider: 'vividflow',
    endpoint: 'GET /history',
    call: () => vivid().history({ limit: 5 }),
    good: ok({ count: 1, jobs: [{ job_id: 'c2c6', status: 'completed', prompt: 'a cat' }] }),
    missing: 'jobs',
    wrong: [[{ jobs: [{ job_id: 'c2c6', status: 'done' }] }, 'jobs[0].prompt']],
  },
  'vividflow.usage': {
    provider: 'vividflow',
    endpoint: 'GET /usage',
    call: () => vivid().usage(),
    good: ok({ total_jobs: 1, completed_jobs: 1, failed_jobs: 0, queued_jobs: 0, recent_24h_jobs: 1, credits_remaining: 499, daily_limit: 500 }),
    missing: 'credits_remaining',
    wrong: [[{ total_jobs: 1, completed_jobs: 1, failed_jobs: 0, queued_jobs: 0, recent_24h_jobs: 1, credits_remaining: null, daily_limit: 500 }, 'credits_remaining']],
  },

  'aistudio.createJob (multipart)': {
    provider: 'aistudio',
    endpoint: 'POST /video-jobs',
    call: () => studio().createJob({ prompt: 'a boat', model: 'veo', resolution: '720p', aspectRatio: '16:9', mockMode: true, initialImage: image }),
    good: ok({ id: 'job-1', status: 'PENDING', tokensConsumed: 50 }, 201),
    missing: 'id',
    wrong: [[{ id: '..', status: 'PENDING', tokensConsumed: 50 }, 'id']],
  },
  'aistudio.getJob': {
    provider: 'aistudio',
    endpoint: 'GET /video-jobs/{id}',
    call: () => studio().getJob('job-1'),
    good: ok(job),
    missing: 'status',
    wrong: [[{ ...job, status: null }, 'status']],
  },
  'aistudio.listJobs': {
    provider: 'aistudio',
    endpoint: 'GET /video-jobs',
    call: () => studio().listJobs({ limit: 2 }),
    good: ok({ jobs: [job], total: 1 }),
    missing: 'jobs',
    wrong: [[{ jobs: [{ status: 'RUNNING' }] }, 'jobs[0].id']],
  },
  'aistudio.deleteJob': {
    provider: 'aistudio',
    endpoint: 'DELETE /video-jobs/{id}',
    call: () => studio().deleteJob('job-1'),
    good: { status: 204 },
    wrong: [[[{ deleted: true }], 'response']],
  },
};

/** The call's failure; anything but a ResponseValidationError fails the test with what it was. */
async function invalidResponse(m: MethodSpec): Promise<ResponseValidationError> {
  const seenBefore = server.seen.length;
  let err: unknown;
  try {
    await m.call();
  } catch (e) {
    err = e;
  }
  expect(server.seen.length).toBe(seenBefore + 1);
  if (!(err instanceof ResponseValidationError)) {
    throw new Error(`expected ResponseValidationError, got ${err === undefined ? 'success' : `${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`}`);
  }
  // A read is retried (it changed nothing); a write is ambiguous and final.
  const read = m.endpoint.startsWith('GET ');
  expect(err).toMatchObject({ type: 'ProviderResponseInvalid', provider: m.provider, endpoint: m.endpoint, retryable: read, ambiguous: !read });
  expect(err.message.startsWith(`${PROVIDER_DISPLAY_NAMES[m.provider]} ${m.endpoint}: `)).toBe(true);
  return err;
}

type Case = [name: string, method: string, answer: LoopbackAnswer | undefined, field: string | undefined];

const cases: Case[] = Object.entries(METHODS).flatMap(([name, m]): Case[] => [
  [`${name}: missing fields ({})`, name, ok({}), m.missing],
  [`${name}: an empty 200 body`, name, { status: 200, body: '' }, m.missing],
  [`${name}: null`, name, ok(null), 'response'],
  [`${name}: an array instead of an object`, name, ok([{ unexpected: true }]), m.arrayField ?? 'response'],
  [`${name}: a 200 that is not JSON`, name, { status: 200, body: '<html>Service Unavailable</html>' }, 'response is not JSON'],
  ...m.wrong.map(([body, field], i): Case => [`${name}: wrong value #${i + 1} (${field})`, name, ok(body), field]),
]);

beforeAll(async () => {
  server = await startLoopback();
  dir = tempDir('provider-output');
  image = makeFile(dir, 'still.png', 2048);
});

afterAll(async () => {
  await server?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('bad provider output fails as ProviderResponseInvalid naming provider, endpoint and field', () => {
  it.each(Object.entries(METHODS))('%s: a well-formed answer passes', async (_name, m) => {
    server.answer(m.good);
    await m.call();
  });

  it.each(cases)('%s', async (_name, method, answer, field) => {
    const m = METHODS[method]!;
    server.answer(answer!);
    if (field === undefined) {
      // Every field optional (acknowledgements, start-dub, cancel): an empty object or body is an answer.
      await m.call();
      return;
    }
    const err = await invalidResponse(m);
    expect(err.message).toContain(field);
  });

  it('aistudio.downloadUrl: a 302 is the answer; no Location, a non-http(s) Location or a 200 are refused', async () => {
    const m: MethodSpec = { provider: 'aistudio', endpoint: 'GET /video-jobs/{id}/download', call: () => studio().downloadUrl('job-1'), good: { status: 302 }, wrong: [] };
    server.answer({ status: 302, headers: { location: 'https://cdn.example.com/v.mp4' } });
    await expect(m.call()).resolves.toEqual({ location: 'https://cdn.example.com/v.mp4' });
    const refused: Array<[LoopbackAnswer, string]> = [
      [{ status: 302 }, 'without Location'],
      [{ status: 302, headers: { location: 'javascript:alert(1)' } }, 'location: expected an http(s) URL'],
      [{ status: 302, headers: { location: 'file:///etc/passwd' } }, 'location: expected an http(s) URL'],
      [{ status: 200, body: { url: 'https://cdn.example.com/v.mp4' } }, 'expected a redirect with a Location, got 200'],
    ];
    for (const [answer, field] of refused) {
      server.answer(answer);
      const err = await invalidResponse(m);
      expect({ answer, message: err.message }).toEqual({ answer, message: expect.stringContaining(field) });
    }
  });

  it('covers every method of every client', () => {
    const clients = { lipdub: LipdubClient, dublab: DublabClient, text2video: Text2videoClient, vividflow: VividflowClient, aistudio: AistudioClient };
    // Methods that make no request of their own (they only build the URL the streaming downloader fetches).
    const local = new Set(['text2video.downloadUrl', 'text2video.download']);
    const covered = new Set([...Object.keys(METHODS).map((k) => k.split(' ')[0]!), 'aistudio.downloadUrl']);
    for (const [id, cls] of Object.entries(clients)) {
      const methods = Object.getOwnPropertyNames(cls.prototype).filter((n) => n !== 'constructor');
      for (const name of methods) {
        const key = `${id}.${name}`;
        if (!local.has(key)) expect({ method: key, covered: covered.has(key) }).toEqual({ method: key, covered: true });
      }
    }
  });
});
