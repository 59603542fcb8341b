/**
 * The docs-minimal DubLab sandbox (issue 11): every answer carries what dublab.md shows on that endpoint
 * and nothing more, and signed download URLs expire 20 s after issue.
 */
import { DUBLAB_OUTPUT_TYPES, dublabOutput } from '../../src/sandbox/derive';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { DOCS_MINIMAL_DOWNLOAD_TTL_SECONDS } from '../../src/sandbox/config';
import { api, bytesOf, download, pollUntil, put } from './helpers';

const FAST = { dublab: { queueMs: 30, processMs: 40 } };

describe('DubLab sandbox, docs-minimal profile', () => {
  let sb: Sandbox;
  let auth: Record<string, string>;
  const url = (p: string) => `${sb.urls.dublab}${p}`;
  const expiresIn = (signed: string) => Number(new URL(signed).searchParams.get('expires')) - Math.floor(Date.now() / 1000);

  beforeAll(async () => {
    sb = await startSandbox({ profile: 'docs-minimal', timings: FAST, dublab: { credits: 1000 } });
    auth = { apikey: sb.keys.dublab };
  });
  afterAll(() => sb.close());
  beforeEach(() => sb.configure({ profile: 'docs-minimal', dublab: { credits: 1000, failLanguages: [] } }));

  const group = async (langs: string[]) => {
    const res = await api('POST', url('/init-dub-group'), {
      headers: auth,
      json: { fileType: 'video/mp4', name: 'talk.mp4', source_lang: 'en', duration: 20, dest_langs: langs },
    });
    expect(res.status).toBe(200);
    return res.body as { projectId: string; uploadUrl: string; files: Array<{ fileId: string }> };
  };

  it('answers every endpoint with the documented fields only: outputs without status, dubs without name or language', async () => {
    expect((await api('GET', url('/me'), { headers: auth })).body).toEqual({ credits: 1000 });

    const g = await group(['tr', 'de']);
    // The docs' flow reads .uploadUrl, .projectId and .files[].fileId: files carry no language.
    expect(g).toEqual({ projectId: expect.any(String), uploadUrl: expect.stringContaining(sb.urls.store), files: [{ fileId: expect.any(String) }, { fileId: expect.any(String) }] });
    expect(expiresIn(g.uploadUrl)).toBeGreaterThan(3000);

    const single = await api('POST', url('/init-dub'), { headers: auth, json: { fileType: 'video/mp4', name: 'one.mp4', source_lang: 'en', duration: 5, dest_lang: 'es' } });
    expect(single.body).toEqual({ fileId: expect.any(String), uploadUrl: expect.any(String) });

    const before = await api('GET', url(`/dubs/${g.files[0]!.fileId}/outputs`), { headers: auth });
    expect(before.body).toEqual({ outputs: {} });

    const source = bytesOf('docs-minimal', 30_000);
    expect((await put(g.uploadUrl, source, 'video/mp4')).status).toBe(200);
    for (const f of g.files) {
      const started = await api('POST', url('/start-dub'), { headers: auth, json: { fileId: f.fileId } });
      expect(started.status).toBe(200);
      expect(started.body).toEqual({});
    }

    const ids = g.files.map((f) => f.fileId);
    const listed = await pollUntil(
      async () => ((await api('GET', url('/dubs'), { headers: auth })).body.dubs as Array<Record<string, unknown>>).filter((d) => ids.includes(d.fileId as string)),
      (ds) => ds.length === 2 && ds.every((d) => d.externalStatusId === 5),
    );
    for (const d of listed) expect(d).toEqual({ fileId: expect.any(String), projectId: g.projectId, externalStatusId: 5 });

    const project = await api('GET', url(`/projects/${g.projectId}/outputs`), { headers: auth });
    expect(project.body).toEqual({ files: g.files.map((f) => ({ fileId: f.fileId, outputs: expect.any(Object) })) });

    const [tr, de] = g.files;
    for (const [f, lang] of [[tr!, 'tr'], [de!, 'de']] as const) {
      const out = await api('GET', url(`/dubs/${f.fileId}/outputs`), { headers: auth });
      expect(Object.keys(out.body)).toEqual(['outputs']);
      expect(Object.keys(out.body.outputs).sort()).toEqual([...DUBLAB_OUTPUT_TYPES].sort());
      const link = out.body.outputs.translated_mp4 as { url: string; downloadUrl: string };
      expect(Object.keys(link).sort()).toEqual(['downloadUrl', 'url']);
      for (const signed of [link.url, link.downloadUrl]) {
        expect(expiresIn(signed)).toBeGreaterThanOrEqual(DOCS_MINIMAL_DOWNLOAD_TTL_SECONDS - 1);
        expect(expiresIn(signed)).toBeLessThanOrEqual(DOCS_MINIMAL_DOWNLOAD_TTL_SECONDS);
      }
      expect((await download(link.downloadUrl)).bytes.equals(dublabOutput('translated_mp4', source, lang))).toBe(true);
    }
  });

  it('shows externalErrorMessage on a failed dub only', async () => {
    sb.configure({ dublab: { failLanguages: ['fr'] } });
    const g = await group(['fr', 'it']);
    expect((await put(g.uploadUrl, bytesOf('fails', 1000), 'video/mp4')).status).toBe(200);
    for (const f of g.files) await api('POST', url('/start-dub'), { headers: auth, json: { fileId: f.fileId } });
    const ids = g.files.map((f) => f.fileId);
    const listed = await pollUntil(
      async () => ((await api('GET', url('/dubs'), { headers: auth })).body.dubs as Array<Record<string, unknown>>).filter((d) => ids.includes(d.fileId as string)),
      (ds) => ds.length === 2 && ds.every((d) => d.externalStatusId === 4 || d.externalStatusId === 5),
    );
    const byId = new Map(listed.map((d) => [d.fileId, d]));
    expect(byId.get(g.files[0]!.fileId)).toEqual({ fileId: g.files[0]!.fileId, projectId: g.projectId, externalStatusId: 4, externalErrorMessage: expect.stringContaining('fr') });
    expect(byId.get(g.files[1]!.fileId)).toEqual({ fileId: g.files[1]!.fileId, projectId: g.projectId, externalStatusId: 5 });
  });

  it('reads the profile at answer time: switching to faithful brings the assumed fields back', async () => {
    sb.configure({ profile: 'faithful' });
    const me = await api('GET', url('/me'), { headers: auth });
    expect(me.body).toMatchObject({ id: expect.any(String), email: expect.any(String), credits: 1000 });
    const g = await api('POST', url('/init-dub-group'), {
      headers: auth,
      json: { fileType: 'video/mp4', name: 'x.mp4', source_lang: 'en', duration: 5, dest_langs: ['es'] },
    });
    expect(g.body.files).toEqual([{ fileId: expect.any(String), dest_lang: 'es' }]);
    const out = await api('GET', url(`/dubs/${g.body.files[0].fileId}/outputs`), { headers: auth });
    expect(out.body).toEqual({ fileId: g.body.files[0].fileId, externalStatusId: 1, expiresIn: 3600, outputs: {} });
  });
});
