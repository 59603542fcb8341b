import { startSandbox, type Sandbox } from '../../src/sandbox';
import {
  AuthenticationError,
  BadRequestError,
  ConflictError,
  InsufficientCreditsError,
  NotFoundError,
  PreconditionFailedError,
  ProviderConfigError,
} from '../../src/providers/errors';
import { DUBLAB_STATUS, DublabClient } from '../../src/pipelines/dublab/client';
import { FAKE_MP4, getSigned, pollUntil, providerFailure, putSigned } from './support';

let sb: Sandbox;
let dublab: DublabClient;

beforeAll(async () => {
  sb = await startSandbox({ timings: { dublab: { queueMs: 40, processMs: 60 } } });
  dublab = DublabClient.fromEnv(sb.env());
});

afterAll(async () => {
  await sb?.close();
});

const source = (name: string) => ({ fileType: 'video/mp4', name, source_lang: 'en', duration: 12 });

async function uploadedDub(name: string, lang = 'es') {
  const dub = await dublab.initDub({ ...source(name), dest_lang: lang });
  expect(await putSigned(dub.uploadUrl, 'video/mp4', FAKE_MP4)).toBe(200);
  return dub;
}

describe('DublabClient against the sandbox', () => {
  it('reads the profile and credit balance', async () => {
    const me = await dublab.me();
    // Only the balance is read (the docs name no field of the profile).
    expect(me).toEqual({ credits: expect.any(Number) });
  });

  it('runs one dub end to end: init, upload, start, poll, outputs', async () => {
    const dub = await dublab.initDub({ ...source('single.mp4'), dest_lang: 'es' });
    expect(dub).toEqual({ fileId: expect.any(String), projectId: expect.any(String), uploadUrl: expect.stringMatching(/^http/) });
    expect(await putSigned(dub.uploadUrl, 'video/mp4', FAKE_MP4)).toBe(200);

    const started = await dublab.startDub(dub.fileId);
    expect(started.fileId).toBe(dub.fileId);

    const listed = await pollUntil(
      async () => (await dublab.listDubs()).find((d) => d.id === dub.fileId),
      (d) => d?.externalStatusId === DUBLAB_STATUS.COMPLETED || d?.externalStatusId === DUBLAB_STATUS.FAILED,
    );
    expect(listed).toEqual({
      id: dub.fileId,
      projectId: dub.projectId,
      externalStatusId: DUBLAB_STATUS.COMPLETED,
      externalErrorMessage: null,
    });

    const out = await dublab.dubOutputs(dub.fileId);
    expect(Object.keys(out)).toEqual(['outputs']);
    const video = out.outputs.translated_mp4;
    expect(video?.url).toMatch(/^http/);
    const file = await getSigned((video!.downloadUrl ?? video!.url)!);
    expect(file.status).toBe(200);
    expect(file.bytes).toBeGreaterThan(0);
  });

  it('runs a dub group: one upload, a file per language, status from GET /dubs', async () => {
    const group = await dublab.initDubGroup({ ...source('group.mp4'), dest_langs: ['tr', 'de', 'fr'] });
    expect(group.files.map((f) => f.destLang).sort()).toEqual(['de', 'fr', 'tr']);
    for (const f of group.files) expect(f.fileId).toEqual(expect.any(String));

    expect(await putSigned(group.uploadUrl, 'video/mp4', FAKE_MP4)).toBe(200);
    for (const f of group.files) await dublab.startDub(f.fileId);

    const ids = group.files.map((f) => f.fileId);
    const dubs = await pollUntil(
      async () => (await dublab.listDubs()).filter((d) => d.id !== undefined && ids.includes(d.id)),
      (ds) => ds.length === 3 && ds.every((d) => d.externalStatusId === DUBLAB_STATUS.COMPLETED),
    );
    for (const d of dubs) expect(d.projectId).toBe(group.projectId);
    for (const f of group.files) expect((await dublab.dubOutputs(f.fileId)).outputs.translated_mp4?.url).toMatch(/^http/);
  });

  it('reports a dub the provider failed with its reason', async () => {
    sb.configure({ dublab: { failLanguages: ['it'] } });
    try {
      const dub = await uploadedDub('fails.mp4', 'it');
      await dublab.startDub(dub.fileId);
      const listed = await pollUntil(
        async () => (await dublab.listDubs()).find((d) => d.id === dub.fileId),
        (d) => d?.externalStatusId === DUBLAB_STATUS.FAILED || d?.externalStatusId === DUBLAB_STATUS.COMPLETED,
      );
      expect(listed?.externalStatusId).toBe(DUBLAB_STATUS.FAILED);
      expect(listed?.externalErrorMessage).toEqual(expect.any(String));
      expect((await dublab.dubOutputs(dub.fileId)).outputs).toEqual({});
    } finally {
      sb.configure({ dublab: { failLanguages: [] } });
    }
  });

  it('answers 412 when starting a dub whose upload has not landed', async () => {
    const dub = await dublab.initDub({ ...source('not-uploaded.mp4'), dest_lang: 'es' });
    const err = await providerFailure(dublab.startDub(dub.fileId));
    expect(err).toBeInstanceOf(PreconditionFailedError);
    expect(err).toMatchObject({
      status: 412,
      type: 'PreconditionFailed',
      retryable: false,
      provider: 'dublab',
      endpoint: 'POST /start-dub',
      providerMessage: 'File has not been uploaded',
    });
    expect(err.message).toBe('DubLab 412 on POST /start-dub: File has not been uploaded');
  });

  it('answers 409 when a dub is started twice', async () => {
    const dub = await uploadedDub('twice.mp4');
    await dublab.startDub(dub.fileId);
    const err = await providerFailure(dublab.startDub(dub.fileId));
    expect(err).toBeInstanceOf(ConflictError);
    expect(err).toMatchObject({ status: 409, type: 'Conflict', retryable: false });
    expect(err.providerMessage).not.toBe('');
  });

  it('answers 402 when credits do not cover the duration', async () => {
    const before = (await dublab.me()).credits;
    sb.configure({ dublab: { credits: 1 } });
    try {
      const dub = await uploadedDub('poor.mp4');
      const err = await providerFailure(dublab.startDub(dub.fileId));
      expect(err).toBeInstanceOf(InsufficientCreditsError);
      expect(err).toMatchObject({ status: 402, type: 'PaymentRequired', retryable: false });
      expect(err.providerMessage).not.toBe('');
    } finally {
      sb.configure({ dublab: { credits: before } });
    }
  });

  it('answers 400 for an unsupported language', async () => {
    const err = await providerFailure(dublab.initDub({ ...source('klingon.mp4'), dest_lang: 'tlh' }));
    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.providerMessage).not.toBe('');
  });

  it('fails with 401 on a wrong key, without leaking the key', async () => {
    const wrong = new DublabClient({ baseUrl: sb.urls.dublab, apiKey: 'definitely-wrong-key' });
    const err = await providerFailure(wrong.me());
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err).toMatchObject({ status: 401, type: 'Unauthorized', retryable: false, ambiguous: false, endpoint: 'GET /me' });
    expect(err.providerMessage).not.toBe('');
    expect(JSON.stringify(err.toJSON())).not.toContain('definitely-wrong-key');
  });

  it('fails with 404 on unknown ids', async () => {
    const dub = await providerFailure(dublab.dubOutputs('no-such-file'));
    expect(dub).toBeInstanceOf(NotFoundError);
    expect(dub).toMatchObject({ status: 404, endpoint: 'GET /dubs/{fileId}/outputs' });
    expect(dub.providerMessage).not.toBe('');
    expect(await providerFailure(dublab.startDub('no-such-file'))).toBeInstanceOf(NotFoundError);
  });

  it('fromEnv names the missing variable', () => {
    expect(() => DublabClient.fromEnv({})).toThrow(ProviderConfigError);
    expect(() => DublabClient.fromEnv({})).toThrow(/DUBLAB_API_KEY/);
  });
});
