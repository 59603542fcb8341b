import { startSandbox, type Sandbox } from '../../src/sandbox';
import {
  AuthenticationError,
  BadRequestError,
  NotFoundError,
  ProviderConfigError,
  RequestValidationError,
} from '../../src/providers/errors';
import { LipdubClient } from '../../src/pipelines/lipdub/client';
import { FAKE_MP3, FAKE_MP4, getSigned, pollUntil, providerFailure, putSigned } from './support';

let sb: Sandbox;
let lipdub: LipdubClient;

beforeAll(async () => {
  sb = await startSandbox({
    timings: { lipdub: { shotMs: 60, trainingMs: 60, generateQueueMs: 40, generateMs: 60 } },
  });
  lipdub = LipdubClient.fromEnv(sb.env());
});

afterAll(async () => {
  await sb?.close();
});

/** Video upload → shot → training finished; returns the shot id. */
async function readyShot(label: string): Promise<number> {
  const video = await lipdub.initVideo({
    file_name: `${label}.mp4`,
    content_type: 'video/mp4',
    project_name: `project-${label}`,
    scene_name: `scene-${label}`,
    actor_name: 'actor',
  });
  expect(await putSigned(video.upload_url, 'video/mp4', FAKE_MP4)).toBe(200);
  const success = await lipdub.videoSuccess(video.video_id);
  expect(typeof success.shot_id).toBe('number');
  await pollUntil(
    () => lipdub.shotStatus(success.shot_id!),
    (s) => s.shot_status === 'finished' && s.ai_training_status === 'finished',
  );
  return success.shot_id!;
}

/** Audio upload → completed; returns the audio id. */
async function readyAudio(label: string): Promise<string> {
  const audio = await lipdub.initAudio({ file_name: `${label}.mp3`, content_type: 'audio/mpeg', size_bytes: FAKE_MP3.length });
  expect(await putSigned(audio.upload_url, 'audio/mpeg', FAKE_MP3)).toBe(200);
  await lipdub.audioSuccess(audio.audio_id);
  return audio.audio_id;
}

describe('LipdubClient against the sandbox', () => {
  it('runs the documented flow end to end: video, audio, shot, generate, download', async () => {
    const video = await lipdub.initVideo({
      file_name: 'talk.mp4',
      content_type: 'video/mp4',
      project_name: 'proj-flow',
      scene_name: 'scene-flow',
      actor_name: 'Ada',
    });
    expect(video.video_id).toEqual(expect.any(String));
    expect(video.upload_url).toMatch(/^http/);

    const before = await lipdub.videoStatus(video.video_id);
    expect(before.shot_id).toBeNull();
    expect(before.upload_status).toBe('uploading');

    expect(await putSigned(video.upload_url, 'video/mp4', FAKE_MP4)).toBe(200);
    const shotId = (await lipdub.videoSuccess(video.video_id)).shot_id!;

    const status = await lipdub.videoStatus(video.video_id);
    expect(status.shot_id).toBe(shotId);
    expect(status.upload_status).toBe('completed');

    const shot = await pollUntil(
      () => lipdub.shotStatus(shotId),
      (s) => s.shot_status === 'finished' && s.ai_training_status === 'finished',
    );
    expect(shot).toMatchObject({ shot_status: 'finished', ai_training_status: 'finished' });

    const shots = await lipdub.listShots();
    expect(shots.count).toBeGreaterThanOrEqual(1);
    expect(shots.data).toContainEqual(
      expect.objectContaining({ shot_id: shotId, shot_label: 'talk.mp4', shot_project_name: 'proj-flow', shot_scene_name: 'scene-flow' }),
    );

    const audio = await lipdub.initAudio({ file_name: 'voice.mp3', content_type: 'audio/mpeg', size_bytes: FAKE_MP3.length });
    expect(await putSigned(audio.upload_url, 'audio/mpeg', FAKE_MP3)).toBe(200);
    await expect(lipdub.audioSuccess(audio.audio_id)).resolves.toBeUndefined();
    expect(await lipdub.audioStatus(audio.audio_id)).toEqual({ audio_id: audio.audio_id, upload_status: 'completed' });
    const audios = await lipdub.listAudio();
    expect(audios.data).toContainEqual(expect.objectContaining({ audio_id: audio.audio_id, file_name: 'voice.mp3', upload_status: 'completed' }));
    expect(audios.count).toBe(audios.data.length);

    const gen = await lipdub.generate(shotId, {
      audio_id: audio.audio_id,
      output_filename: 'out-flow.mp4',
      language: 'es-MX',
      maintain_expression: true,
    });
    expect(gen.generateId).toEqual(expect.any(String));
    expect(gen.status).toEqual(expect.any(String));

    const done = await pollUntil(
      () => lipdub.generateStatus(shotId, gen.generateId),
      (s) => s.status === 'finished' || s.status === 'failed',
    );
    expect(done).toMatchObject({ generateId: gen.generateId, status: 'finished' });

    const { download_url } = await lipdub.generateDownload(shotId, gen.generateId);
    const file = await getSigned(download_url);
    expect(file.status).toBe(200);
    expect(file.bytes).toBeGreaterThan(0);
  });

  it.each([
    ['generate_id', false],
    ['generateId', false],
    ['id', false],
    ['generate_id', true],
    ['generateId', true],
    ['id', true],
  ] as const)('reads the generation id sent as %s (numeric: %s) as a string', async (variant, numeric) => {
    sb.configure({ lipdub: { generateIdVariant: variant, numericGenerateIds: numeric } });
    try {
      const shotId = await readyShot(`variant-${variant}-${numeric}`);
      const audioId = await readyAudio(`variant-${variant}-${numeric}`);
      const gen = await lipdub.generate(String(shotId), { audio_id: audioId, output_filename: `v-${variant}.mp4`, language: 'fr' });
      expect(typeof gen.generateId).toBe('string');
      expect(gen.generateId).not.toBe('');
      if (numeric) expect(gen.generateId).toMatch(/^\d+$/);
      const done = await pollUntil(
        () => lipdub.generateStatus(shotId, gen.generateId),
        (s) => s.status === 'finished',
      );
      expect(done.generateId).toBe(gen.generateId);
    } finally {
      sb.configure({ lipdub: { generateIdVariant: 'generate_id', numericGenerateIds: false } });
    }
  });

  it('reports a generation the provider failed as status failed', async () => {
    sb.configure({ lipdub: { failGenerateLanguages: ['de'] } });
    try {
      const shotId = await readyShot('fail-de');
      const audioId = await readyAudio('fail-de');
      const gen = await lipdub.generate(shotId, { audio_id: audioId, output_filename: 'fail-de.mp4', language: 'de' });
      const done = await pollUntil(
        () => lipdub.generateStatus(shotId, gen.generateId),
        (s) => s.status === 'finished' || s.status === 'failed',
      );
      expect(done.status).toBe('failed');
    } finally {
      sb.configure({ lipdub: { failGenerateLanguages: [] } });
    }
  });

  it('answers 400 with the provider message when downloading an unfinished generation', async () => {
    sb.configure({ timings: { lipdub: { generateMs: 60_000 } } });
    try {
      const shotId = await readyShot('early-download');
      const audioId = await readyAudio('early-download');
      const gen = await lipdub.generate(shotId, { audio_id: audioId, output_filename: 'early.mp4', language: 'it' });
      const err = await providerFailure(lipdub.generateDownload(shotId, gen.generateId));
      expect(err).toBeInstanceOf(BadRequestError);
      expect(err).toMatchObject({ status: 400, type: 'BadRequest', retryable: false, providerMessage: 'Generation not finished' });
      expect(err.endpoint).toBe('GET /shots/{shot_id}/generate/{generate_id}/download');
    } finally {
      sb.configure({ timings: { lipdub: { generateMs: 60 } } });
    }
  });

  it('notifies an upload failure', async () => {
    const video = await lipdub.initVideo({
      file_name: 'broken.mp4',
      content_type: 'video/mp4',
      project_name: 'p',
      scene_name: 's',
      actor_name: 'a',
    });
    await expect(lipdub.videoFailure(video.video_id)).resolves.toBeUndefined();
  });

  it('fails with 401 and the provider message on a wrong key, without leaking the key', async () => {
    const wrong = new LipdubClient({ baseUrl: sb.urls.lipdub, apiKey: 'definitely-wrong-key' });
    const err = await providerFailure(wrong.listShots());
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err).toMatchObject({ status: 401, type: 'Unauthorized', retryable: false, ambiguous: false, provider: 'lipdub' });
    expect(err.providerMessage).not.toBe('');
    expect(err.message).toBe(`LipDub 401 on GET /shots: ${err.providerMessage}`);
    expect(JSON.stringify(err.toJSON())).not.toContain('definitely-wrong-key');
  });

  it('fails with 404 on unknown ids', async () => {
    const shot = await providerFailure(lipdub.shotStatus(987654321));
    expect(shot).toBeInstanceOf(NotFoundError);
    expect(shot).toMatchObject({ status: 404, endpoint: 'GET /shots/{shot_id}/status' });
    expect(shot.providerMessage).not.toBe('');

    const video = await providerFailure(lipdub.videoStatus('00000000-0000-0000-0000-000000000000'));
    expect(video).toBeInstanceOf(NotFoundError);

    const audio = await providerFailure(lipdub.audioStatus('no-such-audio'));
    expect(audio).toBeInstanceOf(NotFoundError);
  });

  it('refuses an invalid request before sending it', async () => {
    const err = await providerFailure(lipdub.initAudio({ file_name: 'a.mp3', content_type: 'audio/mpeg', size_bytes: 0 }));
    expect(err).toBeInstanceOf(RequestValidationError);
    expect(err.message).toContain('size_bytes');
  });

  it('refuses path ids that would change the route', async () => {
    await expect(lipdub.videoStatus('..')).rejects.toThrow(/Refusing path segment/);
  });

  it('fromEnv names the missing variable', () => {
    expect(() => LipdubClient.fromEnv({ LIPDUB_BASE_URL: sb.urls.lipdub })).toThrow(ProviderConfigError);
    expect(() => LipdubClient.fromEnv({})).toThrow(/LIPDUB_API_KEY/);
    expect(() => LipdubClient.fromEnv({ LIPDUB_API_KEY: 'k', LIPDUB_BASE_URL: 'not a url' })).toThrow(/LIPDUB_BASE_URL/);
  });
});
