import { DUBLAB_OUTPUT_TYPES, dublabOutput } from '../../src/sandbox/derive';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { api, bytesOf, download, pollUntil, put, sleep } from './helpers';

const FAST = { dublab: { queueMs: 30, processMs: 40 } };

describe('DubLab sandbox', () => {
  let sb: Sandbox;
  let auth: Record<string, string>;
  const url = (p: string) => `${sb.urls.dublab}${p}`;

  beforeAll(async () => {
    sb = await startSandbox({ timings: FAST, dublab: { credits: 1000 } });
    auth = { apikey: sb.keys.dublab };
  });
  afterAll(() => sb.close());
  beforeEach(() => sb.configure({ dublab: { credits: 1000, failLanguages: [] } }));

  const initDub = (over: Record<string, unknown> = {}) =>
    api('POST', url('/init-dub'), {
      headers: auth,
      json: { fileType: 'video/mp4', name: 'clip.mp4', source_lang: 'en', duration: 30, dest_lang: 'es', ...over },
    });

  it('answers 401 with { error } when apikey is missing or wrong', async () => {
    const missing = await api('GET', url('/me'));
    expect(missing.status).toBe(401);
    expect(typeof missing.body.error).toBe('string');
    const wrong = await api('GET', url('/dubs'), { headers: { apikey: 'nope' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ error: 'Invalid API key' });
    // LipDub's header does not authenticate at DubLab.
    expect((await api('GET', url('/me'), { headers: { 'x-api-key': sb.keys.dublab } })).status).toBe(401);
  });

  it('dubs one upload into three languages with outputs equal to dublabOutput()', async () => {
    const source = bytesOf('talk', 40_000);
    const me0 = await api('GET', url('/me'), { headers: auth });
    expect(me0.body).toMatchObject({ id: expect.any(String), email: expect.any(String), credits: 1000 });

    const group = await api('POST', url('/init-dub-group'), {
      headers: auth,
      json: { fileType: 'video/mp4', name: 'talk.mp4', source_lang: 'en', duration: 120, dest_langs: ['tr', 'de', 'pt-BR'] },
    });
    expect(group.status).toBe(200);
    expect(group.body).toEqual({
      projectId: expect.any(String),
      uploadUrl: expect.stringContaining(sb.urls.store),
      files: [
        { fileId: expect.any(String), dest_lang: 'tr' },
        { fileId: expect.any(String), dest_lang: 'de' },
        { fileId: expect.any(String), dest_lang: 'pt-BR' },
      ],
    });
    const { projectId, uploadUrl, files } = group.body as { projectId: string; uploadUrl: string; files: Array<{ fileId: string; dest_lang: string }> };

    const early = await api('POST', url('/start-dub'), { headers: auth, json: { fileId: files[0]!.fileId } });
    expect(early.status).toBe(412);
    expect(early.body).toEqual({ error: 'File has not been uploaded' });

    expect((await put(uploadUrl, source, 'video/mp4')).status).toBe(200);
    const before = await api('GET', url('/dubs'), { headers: auth });
    const mine = before.body.dubs.filter((d: { projectId: string }) => d.projectId === projectId);
    expect(mine.map((d: { externalStatusId: number }) => d.externalStatusId)).toEqual([1, 1, 1]);
    expect(mine[0]).toEqual({
      id: files[2]!.fileId, // newest first
      projectId,
      name: 'talk.mp4',
      sourceLang: 'en',
      targetLang: 'pt-BR',
      externalStatusId: 1,
      externalErrorMessage: null,
      duration: 120,
      measuredDuration: null,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    const emptyOutputs = await api('GET', url(`/dubs/${files[0]!.fileId}/outputs`), { headers: auth });
    expect(emptyOutputs.body).toEqual({ fileId: files[0]!.fileId, externalStatusId: 1, expiresIn: 3600, outputs: {} });

    for (const f of files) {
      const started = await api('POST', url('/start-dub'), { headers: auth, json: { fileId: f.fileId } });
      expect(started.status).toBe(200);
      expect(started.body).toEqual({ fileId: f.fileId, externalStatusId: 2 });
    }
    const again = await api('POST', url('/start-dub'), { headers: auth, json: { fileId: files[0]!.fileId } });
    expect(again.status).toBe(409);

    const seen = new Set<number>();
    const done = await pollUntil(
      () => api('GET', url(`/projects/${projectId}/outputs`), { headers: auth }),
      (r) => {
        for (const f of r.body.files) seen.add(f.externalStatusId);
        return r.body.files.every((f: { externalStatusId: number }) => f.externalStatusId === 5);
      },
    );
    expect([...seen].every((s) => [2, 3, 5].includes(s))).toBe(true);
    expect(done.body.projectId).toBe(projectId);
    expect(done.body.expiresIn).toBe(3600);
    expect(done.body.files.map((f: { targetLang: string }) => f.targetLang)).toEqual(['tr', 'de', 'pt-BR']);

    for (const f of done.body.files) {
      expect(Object.keys(f.outputs).sort()).toEqual([...DUBLAB_OUTPUT_TYPES].sort());
      for (const type of DUBLAB_OUTPUT_TYPES) {
        const lang = type.startsWith('original') ? 'en' : f.targetLang;
        const expected = dublabOutput(type, source, lang);
        const inline = await download(f.outputs[type].url);
        expect(inline.status).toBe(200);
        expect(inline.bytes.equals(expected)).toBe(true);
        const attachment = await download(f.outputs[type].downloadUrl);
        expect(attachment.bytes.equals(expected)).toBe(true);
      }
      expect((await download(f.outputs.translated_subtitle.url)).text).toContain(`WEBVTT`);
      expect((await download(f.outputs.translated_subtitle.url)).text).toContain(f.targetLang);
    }
    expect((await download(done.body.files[0].outputs.original.url)).bytes.equals(source)).toBe(true);

    const dubs = await api('GET', url('/dubs'), { headers: auth });
    for (const d of dubs.body.dubs.filter((x: { projectId: string }) => x.projectId === projectId)) {
      expect(d).toMatchObject({ externalStatusId: 5, measuredDuration: 120, externalErrorMessage: null });
    }
    expect((await api('GET', url('/me'), { headers: auth })).body.credits).toBe(1000 - 3 * 120);
  });

  it('refuses start-dub with 402 when credits are short of the duration', async () => {
    sb.configure({ dublab: { credits: 10 } });
    const init = await initDub({ duration: 11 });
    await put(init.body.uploadUrl, bytesOf('short', 100), 'video/mp4');
    const res = await api('POST', url('/start-dub'), { headers: auth, json: { fileId: init.body.fileId } });
    expect(res.status).toBe(402);
    expect(res.body.error).toMatch(/credits/i);
    sb.configure({ dublab: { credits: 11 } });
    expect((await api('POST', url('/start-dub'), { headers: auth, json: { fileId: init.body.fileId } })).status).toBe(200);
    await pollUntil(
      () => api('GET', url(`/dubs/${init.body.fileId}/outputs`), { headers: auth }),
      (r) => r.body.externalStatusId === 5,
    );
    expect((await api('GET', url('/me'), { headers: auth })).body.credits).toBe(0);
  });

  it('fails a dub whose language is in failLanguages with a reason and charges nothing', async () => {
    sb.configure({ dublab: { failLanguages: ['ja'] } });
    const init = await initDub({ dest_lang: 'ja' });
    expect(init.body).toEqual({ fileId: expect.any(String), projectId: expect.any(String), uploadUrl: expect.any(String) });
    await put(init.body.uploadUrl, bytesOf('ja', 100), 'video/mp4');
    await api('POST', url('/start-dub'), { headers: auth, json: { fileId: init.body.fileId } });
    const out = await pollUntil(
      () => api('GET', url(`/dubs/${init.body.fileId}/outputs`), { headers: auth }),
      (r) => r.body.externalStatusId >= 4,
    );
    expect(out.body).toMatchObject({ externalStatusId: 4, outputs: {} });
    const dub = (await api('GET', url('/dubs'), { headers: auth })).body.dubs.find((d: { id: string }) => d.id === init.body.fileId);
    expect(dub.externalErrorMessage).toMatch(/ja/);
    expect((await api('GET', url('/me'), { headers: auth })).body.credits).toBe(1000);
  });

  it('validates bodies and languages, and answers 404 for unknown ids', async () => {
    const noDuration = await initDub({ duration: undefined });
    expect(noDuration.status).toBe(400);
    expect(noDuration.body.error).toMatch(/duration/);
    const badLang = await initDub({ dest_lang: 'xx' });
    expect(badLang.status).toBe(400);
    expect(badLang.body.error).toMatch(/dest_lang/);
    const noLangs = await api('POST', url('/init-dub-group'), {
      headers: auth,
      json: { fileType: 'video/mp4', name: 'a.mp4', source_lang: 'en', duration: 1, dest_langs: [] },
    });
    expect(noLangs.status).toBe(400);
    expect(noLangs.body.error).toMatch(/dest_langs/);
    const malformed = await api('POST', url('/start-dub'), { headers: auth, rawBody: '{nope' });
    expect(malformed.status).toBe(400);
    expect((await api('POST', url('/start-dub'), { headers: auth, json: {} })).body.error).toMatch(/fileId/);
    expect((await api('POST', url('/start-dub'), { headers: auth, json: { fileId: 'nope' } })).status).toBe(404);
    expect((await api('GET', url('/dubs/nope/outputs'), { headers: auth })).status).toBe(404);
    expect((await api('GET', url('/projects/nope/outputs'), { headers: auth })).status).toBe(404);
    const unknownRoute = await api('GET', url('/nothing-here'), { headers: auth });
    expect(unknownRoute.status).toBe(404);
    expect(typeof unknownRoute.body.error).toBe('string');
  });

  it('hands out output URLs that expire after urlTtlSeconds', async () => {
    const short = await startSandbox({ timings: FAST, urlTtlSeconds: 1 });
    try {
      const h = { apikey: short.keys.dublab };
      const init = await api('POST', `${short.urls.dublab}/init-dub`, {
        headers: h,
        json: { fileType: 'video/mp4', name: 'e.mp4', source_lang: 'en', duration: 5, dest_lang: 'fr' },
      });
      await put(init.body.uploadUrl, bytesOf('exp', 100), 'video/mp4');
      await api('POST', `${short.urls.dublab}/start-dub`, { headers: h, json: { fileId: init.body.fileId } });
      const out = await pollUntil(
        () => api('GET', `${short.urls.dublab}/dubs/${init.body.fileId}/outputs`, { headers: h }),
        (r) => r.body.externalStatusId === 5,
      );
      expect(out.body.expiresIn).toBe(1);
      await sleep(2100);
      const expired = await download(out.body.outputs.translated_mp4.url);
      expect(expired.status).toBe(403);
      expect(expired.text).toContain('<Code>ExpiredToken</Code>');
      const fresh = await api('GET', `${short.urls.dublab}/dubs/${init.body.fileId}/outputs`, { headers: h });
      expect((await download(fresh.body.outputs.translated_mp4.url)).status).toBe(200);
    } finally {
      await short.close();
    }
  });
});
