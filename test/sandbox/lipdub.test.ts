import { lipdubOutput } from '../../src/sandbox/derive';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { DOCS_MINIMAL_DOWNLOAD_TTL_SECONDS } from '../../src/sandbox/config';
import { api, bytesOf, download, pollUntil, put } from './helpers';

const FAST = { lipdub: { shotMs: 40, trainingMs: 30, generateQueueMs: 20, generateMs: 30 } };

describe('LipDub sandbox', () => {
  let sb: Sandbox;
  let auth: Record<string, string>;
  const url = (p: string) => `${sb.urls.lipdub}${p}`;

  beforeAll(async () => {
    sb = await startSandbox({ timings: FAST });
    auth = { 'x-api-key': sb.keys.lipdub };
  });
  afterAll(() => sb.close());
  beforeEach(() => {
    sb.configure({ lipdub: { generateIdVariant: 'generate_id', numericGenerateIds: false, failShot: false, failTraining: false, failGenerateLanguages: [] } });
  });

  async function uploadVideo(video: Buffer, fileName = 'clip.mp4') {
    const init = await api('POST', url('/video'), {
      headers: auth,
      json: { file_name: fileName, content_type: 'video/mp4', project_name: 'proj', scene_name: 'scene', actor_name: 'actor' },
    });
    expect(init.status).toBe(200);
    const d = init.body.data;
    expect(await put(d.upload_url, video, 'video/mp4')).toMatchObject({ status: 200 });
    const ok = await api('POST', url(`/video/success/${d.video_id}`), { headers: auth });
    expect(ok.status).toBe(200);
    return { videoId: d.video_id as string, shotId: ok.body.data.shot_id as number };
  }

  async function uploadAudio(audio: Buffer) {
    const init = await api('POST', url('/audio'), {
      headers: auth,
      json: { file_name: 'voice.mp3', content_type: 'audio/mpeg', size_bytes: audio.length },
    });
    expect(init.status).toBe(200);
    const audioId = init.body.data.audio_id as string;
    expect(await put(init.body.data.upload_url, audio, 'audio/mpeg')).toMatchObject({ status: 200 });
    expect((await api('POST', url(`/audio/success/${audioId}`), { headers: auth })).body).toEqual({});
    return audioId;
  }

  function generationIdOf(data: Record<string, unknown>): string {
    return String(data.generate_id ?? data.generateId ?? data.id);
  }

  it('answers 401 with a message when x-api-key is missing or wrong', async () => {
    const missing = await api('GET', url('/shots'));
    expect(missing.status).toBe(401);
    expect(typeof missing.body.message).toBe('string');
    const wrong = await api('GET', url('/audio'), { headers: { 'x-api-key': 'nope' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ message: 'Invalid API key' });
  });

  it('runs the documented flow to a downloaded output equal to lipdubOutput()', async () => {
    const video = bytesOf('video-1', 50_000);
    const audio = bytesOf('audio-1', 7_000);

    const init = await api('POST', url('/video'), {
      headers: auth,
      json: { file_name: 'talk.mp4', content_type: 'video/mp4', project_name: 'P', scene_name: 'S', actor_name: 'A' },
    });
    expect(init.body.data).toMatchObject({
      project_id: expect.any(Number),
      scene_id: expect.any(Number),
      actor_id: expect.any(Number),
      video_id: expect.any(String),
      upload_url: expect.stringContaining(sb.urls.store),
    });
    const videoId = init.body.data.video_id;
    expect(init.body.data.success_url).toBe(`/v1/video/success/${videoId}`);
    expect(init.body.data.failure_url).toBe(`/v1/video/failure/${videoId}`);

    const before = await api('GET', url(`/video/status/${videoId}`), { headers: auth });
    expect(before.body.data).toEqual({ shot_id: null, upload_status: 'uploading', shot_status: 'not_started', ai_training_status: 'not_started' });
    const early = await api('POST', url(`/video/success/${videoId}`), { headers: auth });
    expect(early.status).toBe(400);

    expect((await put(init.body.data.upload_url, video, 'video/mp4')).status).toBe(200);
    const success = await api('POST', url(`/video/success/${videoId}`), { headers: auth });
    expect(success.body.data).toEqual({ shot_id: expect.any(Number), asset_type: 'dubbing-video' });
    const shotId = success.body.data.shot_id;

    const audioId = await uploadAudio(audio);
    expect((await api('GET', url(`/audio/status/${audioId}`), { headers: auth })).body.data).toEqual({ audio_id: audioId, upload_status: 'completed' });
    const audios = await api('GET', url('/audio'), { headers: auth });
    expect(audios.body.data).toContainEqual({
      audio_id: audioId,
      upload_status: 'completed',
      content_type: 'audio/mpeg',
      file_name: 'voice.mp3',
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    });

    const seen = new Set<string>();
    const ready = await pollUntil(
      () => api('GET', url(`/shots/${shotId}/status`), { headers: auth }),
      (r) => {
        seen.add(`${r.body.data.shot_status}/${r.body.data.ai_training_status}`);
        return r.body.data.ai_training_status === 'finished';
      },
    );
    expect(ready.body.data).toEqual({ shot_status: 'finished', ai_training_status: 'finished' });
    expect(seen.has('running/not_started') || seen.has('finished/processing')).toBe(true);
    const videoStatus = await api('GET', url(`/video/status/${videoId}`), { headers: auth });
    expect(videoStatus.body.data).toEqual({ shot_id: shotId, upload_status: 'completed', shot_status: 'finished', ai_training_status: 'finished' });

    const shots = await api('GET', url('/shots'), { headers: auth });
    expect(shots.body.data).toContainEqual({
      shot_id: shotId,
      shot_label: 'talk.mp4',
      shot_project_id: init.body.data.project_id,
      shot_scene_id: init.body.data.scene_id,
      shot_project_name: 'P',
      shot_scene_name: 'S',
    });
    expect(shots.body.count).toBe(shots.body.data.length);

    const gen = await api('POST', url(`/shots/${shotId}/generate`), {
      headers: auth,
      json: { audio_id: audioId, output_filename: 'out_1.mp4', language: 'es-MX', maintain_expression: true },
    });
    expect(gen.status).toBe(200);
    expect(gen.body.data).toEqual({ generate_id: expect.any(String), status: 'processing' });
    const generateId = gen.body.data.generate_id;

    const notYet = await api('GET', url(`/shots/${shotId}/generate/${generateId}/download`), { headers: auth });
    expect(notYet.status).toBe(400);
    expect(notYet.body).toEqual({ message: 'Generation not finished' });

    const statuses: string[] = [];
    await pollUntil(
      () => api('GET', url(`/shots/${shotId}/generate/${generateId}`), { headers: auth }),
      (r) => {
        statuses.push(r.body.data.status);
        expect(r.body.data.generate_id).toBe(generateId);
        return r.body.data.status === 'finished';
      },
    );
    expect(statuses).toEqual(expect.arrayContaining(['finished']));
    expect(statuses.every((s) => ['pending', 'running', 'finished'].includes(s))).toBe(true);

    const dl = await api('GET', url(`/shots/${shotId}/generate/${generateId}/download`), { headers: auth });
    expect(dl.status).toBe(200);
    const file = await download(dl.body.data.download_url);
    expect(file.status).toBe(200);
    expect(file.contentType).toBe('video/mp4');
    expect(file.bytes.equals(lipdubOutput(video, audio, 'es-MX'))).toBe(true);
    expect(sb.served().at(-1)).toMatchObject({ bytes: file.bytes.length });
  });

  it('keeps a generation not_started until the audio upload completes', async () => {
    const { shotId } = await uploadVideo(bytesOf('video-wait', 1000));
    const init = await api('POST', url('/audio'), { headers: auth, json: { file_name: 'a.mp3', content_type: 'audio/mpeg', size_bytes: 10 } });
    const audioId = init.body.data.audio_id;
    const gen = await api('POST', url(`/shots/${shotId}/generate`), {
      headers: auth,
      json: { audio_id: audioId, output_filename: 'o.mp4', language: 'fr' },
    });
    const gid = gen.body.data.generate_id;
    await new Promise((r) => setTimeout(r, 150));
    expect((await api('GET', url(`/shots/${shotId}/generate/${gid}`), { headers: auth })).body.data.status).toBe('not_started');
    await put(init.body.data.upload_url, bytesOf('a', 10), 'audio/mpeg');
    await api('POST', url(`/audio/success/${audioId}`), { headers: auth });
    await pollUntil(
      () => api('GET', url(`/shots/${shotId}/generate/${gid}`), { headers: auth }),
      (r) => r.body.data.status === 'finished',
    );
  });

  it('rotates the generation id field and its type when configured', async () => {
    sb.configure({ lipdub: { generateIdVariant: 'rotate', numericGenerateIds: 'rotate' } });
    const { shotId } = await uploadVideo(bytesOf('video-rot', 500));
    const audioId = await uploadAudio(bytesOf('audio-rot', 100));
    const ids: Array<{ field: string; value: unknown }> = [];
    for (let i = 0; i < 3; i++) {
      const gen = await api('POST', url(`/shots/${shotId}/generate`), {
        headers: auth,
        json: { audio_id: audioId, output_filename: `o${i}.mp4`, language: 'de' },
      });
      const [field] = Object.keys(gen.body.data).filter((k) => k !== 'status');
      ids.push({ field: field!, value: gen.body.data[field!] });
    }
    // Rotation is per sandbox, so where it starts depends on earlier calls; the cycle does not.
    expect(new Set(ids.map((i) => i.field))).toEqual(new Set(['generate_id', 'generateId', 'id']));
    const types = ids.map((i) => typeof i.value);
    expect(types.every((t) => t === 'string' || t === 'number')).toBe(true);
    expect(types[0]).not.toBe(types[1]);
    expect(types[1]).not.toBe(types[2]);
    for (const { value } of ids) {
      const st = await api('GET', url(`/shots/${shotId}/generate/${value}`), { headers: auth });
      expect(st.status).toBe(200);
      expect(st.body.data.generate_id).toBe(value);
    }
  });

  it.each([
    ['generateId', true, 'number'],
    ['id', false, 'string'],
  ] as const)('returns the id as %s (numeric: %s)', async (variant, numeric, type) => {
    sb.configure({ lipdub: { generateIdVariant: variant, numericGenerateIds: numeric } });
    const { shotId } = await uploadVideo(bytesOf(`video-${variant}`, 500));
    const audioId = await uploadAudio(bytesOf(`audio-${variant}`, 100));
    const gen = await api('POST', url(`/shots/${shotId}/generate`), {
      headers: auth,
      json: { audio_id: audioId, output_filename: 'o.mp4', language: 'de' },
    });
    expect(Object.keys(gen.body.data).sort()).toEqual([variant, 'status'].sort());
    expect(typeof gen.body.data[variant]).toBe(type);
  });

  it('fails a generation whose language is in failGenerateLanguages, and refuses its download', async () => {
    sb.configure({ lipdub: { failGenerateLanguages: ['it'] } });
    const { shotId } = await uploadVideo(bytesOf('video-fail', 500));
    const audioId = await uploadAudio(bytesOf('audio-fail', 100));
    const start = (language: string) =>
      api('POST', url(`/shots/${shotId}/generate`), { headers: auth, json: { audio_id: audioId, output_filename: `${language}.mp4`, language } });
    const bad = generationIdOf((await start('it')).body.data);
    const good = generationIdOf((await start('pt')).body.data);
    const status = (gid: string) => api('GET', url(`/shots/${shotId}/generate/${gid}`), { headers: auth });
    const failed = await pollUntil(() => status(bad), (r) => ['failed', 'finished'].includes(r.body.data.status));
    expect(failed.body.data.status).toBe('failed');
    expect((await pollUntil(() => status(good), (r) => ['failed', 'finished'].includes(r.body.data.status))).body.data.status).toBe('finished');
    const dl = await api('GET', url(`/shots/${shotId}/generate/${bad}/download`), { headers: auth });
    expect(dl.status).toBe(400);
  });

  it('fails shot processing or AI training when configured', async () => {
    sb.configure({ lipdub: { failShot: true } });
    const a = await uploadVideo(bytesOf('video-fs', 100));
    const shotFailed = await pollUntil(
      () => api('GET', url(`/shots/${a.shotId}/status`), { headers: auth }),
      (r) => ['failed', 'finished'].includes(r.body.data.shot_status),
    );
    expect(shotFailed.body.data).toEqual({ shot_status: 'failed', ai_training_status: 'not_started' });

    sb.configure({ lipdub: { failShot: false, failTraining: true } });
    const b = await uploadVideo(bytesOf('video-ft', 100));
    const trainingFailed = await pollUntil(
      () => api('GET', url(`/shots/${b.shotId}/status`), { headers: auth }),
      (r) => ['failed', 'finished'].includes(r.body.data.ai_training_status),
    );
    expect(trainingFailed.body.data).toEqual({ shot_status: 'finished', ai_training_status: 'failed' });
  });

  it('validates request bodies with a message naming the field', async () => {
    const noName = await api('POST', url('/video'), { headers: auth, json: { content_type: 'video/mp4', project_name: 'p', scene_name: 's', actor_name: 'a' } });
    expect(noName.status).toBe(400);
    expect(noName.body.message).toMatch(/file_name/);
    const badType = await api('POST', url('/audio'), { headers: auth, json: { file_name: 'a.mp3', content_type: 'audio/mpeg', size_bytes: -1 } });
    expect(badType.status).toBe(400);
    expect(badType.body.message).toMatch(/size_bytes/);
    const malformed = await api('POST', url('/audio'), { headers: auth, rawBody: '{"file_name":' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.message).toMatch(/JSON/);
    const { shotId } = await uploadVideo(bytesOf('video-val', 100));
    const noLang = await api('POST', url(`/shots/${shotId}/generate`), { headers: auth, json: { audio_id: 'x', output_filename: 'o.mp4' } });
    expect(noLang.status).toBe(400);
    expect(noLang.body.message).toMatch(/language/);
    const unknownAudio = await api('POST', url(`/shots/${shotId}/generate`), {
      headers: auth,
      json: { audio_id: 'no-such-audio', output_filename: 'o.mp4', language: 'en' },
    });
    expect(unknownAudio.status).toBe(404);
    expect((await api('GET', url('/shots/999999999/status'), { headers: auth })).status).toBe(404);
    expect((await api('GET', url('/nope'), { headers: auth })).status).toBe(404);
  });

  it('marks an upload failed through the failure endpoint', async () => {
    const init = await api('POST', url('/video'), {
      headers: auth,
      json: { file_name: 'x.mp4', content_type: 'video/mp4', project_name: 'p', scene_name: 's', actor_name: 'a' },
    });
    const id = init.body.data.video_id;
    expect((await api('POST', url(`/video/failure/${id}`), { headers: auth })).status).toBe(200);
    expect((await api('GET', url(`/video/status/${id}`), { headers: auth })).body.data.upload_status).toBe('failed');
  });
});

describe('LipDub sandbox, docs-minimal profile', () => {
  let sb: Sandbox;
  let auth: Record<string, string>;
  const url = (p: string) => `${sb.urls.lipdub}${p}`;
  const SLOW_SHOT_ID = { lipdub: { shotMs: 5000, trainingMs: 30, generateQueueMs: 20, generateMs: 30 } };

  beforeAll(async () => {
    sb = await startSandbox({ profile: 'docs-minimal', timings: FAST });
    auth = { 'x-api-key': sb.keys.lipdub };
  });
  afterAll(() => sb.close());
  afterEach(() => sb.configure({ timings: FAST, lipdub: { failGenerateLanguages: [] } }));

  async function confirmVideo(label: string) {
    const init = await api('POST', url('/video'), {
      headers: auth,
      json: { file_name: `${label}.mp4`, content_type: 'video/mp4', project_name: 'P', scene_name: label, actor_name: 'A' },
    });
    expect(Object.keys(init.body.data).sort()).toEqual(['actor_id', 'failure_url', 'project_id', 'scene_id', 'success_url', 'upload_url', 'video_id']);
    const videoId = init.body.data.video_id as string;
    const before = await api('GET', url(`/video/status/${videoId}`), { headers: auth });
    expect(before.body.data).toEqual({ upload_status: 'uploading', shot_status: 'not_started', ai_training_status: 'not_started' });
    expect((await put(init.body.data.upload_url, bytesOf(label, 2000), 'video/mp4')).status).toBe(200);
    const success = await api('POST', url(`/video/success/${videoId}`), { headers: auth });
    return { videoId, success };
  }

  const status = (videoId: string) => api('GET', url(`/video/status/${videoId}`), { headers: auth });
  const listedShots = async () => (await api('GET', url('/shots'), { headers: auth })).body.data as Array<{ shot_id: number; shot_scene_name: string }>;

  it('confirms an upload without a shot id; video status shows it only some polls later, and GET /shots only then', async () => {
    sb.configure({ timings: SLOW_SHOT_ID });
    const { videoId, success } = await confirmVideo('late-shot');
    expect(success.status).toBe(200);
    expect(success.body).toEqual({ data: { asset_type: 'dubbing-video' } });

    // Two polls at once: neither has the shot id, and the shot is not listed.
    for (let i = 0; i < 2; i++) {
      expect((await status(videoId)).body.data).toEqual({ upload_status: 'completed', shot_status: 'not_started', ai_training_status: 'not_started' });
    }
    // Enough polls, but not yet the share of shotMs (500 ms of 5000): still hidden.
    expect((await status(videoId)).body.data).not.toHaveProperty('shot_id');
    expect((await listedShots()).filter((s) => s.shot_scene_name === 'late-shot')).toEqual([]);

    const shown = await pollUntil(() => status(videoId), (r) => r.body.data.shot_id !== undefined, 2000, 20);
    expect(Object.keys(shown.body.data).sort()).toEqual(['ai_training_status', 'shot_id', 'shot_status', 'upload_status']);
    expect(typeof shown.body.data.shot_id).toBe('number');
    expect((await listedShots()).filter((s) => s.shot_scene_name === 'late-shot').map((s) => s.shot_id)).toEqual([shown.body.data.shot_id]);
    // Once shown it stays, and a repeated success now carries it.
    expect((await status(videoId)).body.data.shot_id).toBe(shown.body.data.shot_id);
    expect((await api('POST', url(`/video/success/${videoId}`), { headers: auth })).body.data).toEqual({ shot_id: shown.body.data.shot_id, asset_type: 'dubbing-video' });
  });

  it('needs polls as well as time: a shot id is not shown to a client that never asked', async () => {
    const { videoId } = await confirmVideo('needs-polls');
    await new Promise((r) => setTimeout(r, 50));
    expect((await listedShots()).filter((s) => s.shot_scene_name === 'needs-polls')).toEqual([]);
    expect((await status(videoId)).body.data).not.toHaveProperty('shot_id');
    expect((await status(videoId)).body.data).not.toHaveProperty('shot_id');
    expect(typeof (await status(videoId)).body.data.shot_id).toBe('number');
  });

  async function readyShot(label: string): Promise<number> {
    const { videoId } = await confirmVideo(label);
    const shown = await pollUntil(() => status(videoId), (r) => r.body.data.shot_id !== undefined, 2000, 5);
    const shotId = shown.body.data.shot_id as number;
    await pollUntil(
      () => api('GET', url(`/shots/${shotId}/status`), { headers: auth }),
      (r) => r.body.data.ai_training_status === 'finished',
    );
    return shotId;
  }

  async function audio(label: string): Promise<string> {
    const bytes = bytesOf(label, 300);
    const init = await api('POST', url('/audio'), { headers: auth, json: { file_name: `${label}.mp3`, content_type: 'audio/mpeg', size_bytes: bytes.length } });
    expect(Object.keys(init.body.data).sort()).toEqual(['audio_id', 'failure_url', 'success_url', 'upload_url']);
    await put(init.body.data.upload_url, bytes, 'audio/mpeg');
    expect((await api('POST', url(`/audio/success/${init.body.data.audio_id}`), { headers: auth })).body).toEqual({});
    return init.body.data.audio_id as string;
  }

  it('names generation ids id or generateId, as numbers; the status answer has status and generate_id only', async () => {
    const shotId = await readyShot('gen-ids');
    const audioId = await audio('gen-ids');
    const fields: string[] = [];
    const ids: number[] = [];
    for (let i = 0; i < 2; i++) {
      const gen = await api('POST', url(`/shots/${shotId}/generate`), { headers: auth, json: { audio_id: audioId, output_filename: `o${i}.mp4`, language: 'es' } });
      const [field, ...rest] = Object.keys(gen.body.data).filter((k) => k !== 'status');
      expect(rest).toEqual([]);
      expect(gen.body.data.status).toBe('processing');
      expect(typeof gen.body.data[field!]).toBe('number');
      fields.push(field!);
      ids.push(gen.body.data[field!]);
    }
    expect(fields.sort()).toEqual(['generateId', 'id']);
    const done = await pollUntil(
      () => api('GET', url(`/shots/${shotId}/generate/${ids[0]}`), { headers: auth }),
      (r) => r.body.data.status === 'finished',
    );
    expect(done.body.data).toEqual({ status: 'finished', generate_id: ids[0] });
  });

  it('leaves the undocumented failure reason out of a failed generation', async () => {
    sb.configure({ lipdub: { failGenerateLanguages: ['it'] } });
    const shotId = await readyShot('gen-fail');
    const audioId = await audio('gen-fail');
    const gen = await api('POST', url(`/shots/${shotId}/generate`), { headers: auth, json: { audio_id: audioId, output_filename: 'it.mp4', language: 'it' } });
    const id = gen.body.data.id ?? gen.body.data.generateId;
    const failed = await pollUntil(
      () => api('GET', url(`/shots/${shotId}/generate/${id}`), { headers: auth }),
      (r) => ['failed', 'finished'].includes(r.body.data.status),
    );
    expect(failed.body.data).toEqual({ status: 'failed', generate_id: id });
  });

  it('hands out download URLs that expire downloadTtlSeconds (20 s) after issue', async () => {
    const shotId = await readyShot('gen-dl');
    const audioId = await audio('gen-dl');
    const gen = await api('POST', url(`/shots/${shotId}/generate`), { headers: auth, json: { audio_id: audioId, output_filename: 'de.mp4', language: 'de' } });
    const id = gen.body.data.id ?? gen.body.data.generateId;
    await pollUntil(
      () => api('GET', url(`/shots/${shotId}/generate/${id}`), { headers: auth }),
      (r) => r.body.data.status === 'finished',
    );
    const issued = Math.floor(Date.now() / 1000);
    const dl = await api('GET', url(`/shots/${shotId}/generate/${id}/download`), { headers: auth });
    expect(Object.keys(dl.body.data)).toEqual(['download_url']);
    const expires = Number(new URL(dl.body.data.download_url).searchParams.get('expires'));
    expect(expires - issued).toBeGreaterThanOrEqual(DOCS_MINIMAL_DOWNLOAD_TTL_SECONDS - 1);
    expect(expires - issued).toBeLessThanOrEqual(DOCS_MINIMAL_DOWNLOAD_TTL_SECONDS + 1);
    expect((await download(dl.body.data.download_url)).status).toBe(200);
  });
});
