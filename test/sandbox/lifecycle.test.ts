import { existsSync, promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { dublabOutput, lipdubOutput, sha256Hex } from '../../src/sandbox/derive';
import { startSandbox } from '../../src/sandbox';
import { api, bytesOf, download, pollUntil, put } from './helpers';

describe('sandbox lifecycle and derivation', () => {
  it('removes its own temp data directory on close but keeps a given one', async () => {
    const sb = await startSandbox();
    const dir = (await fsp.readdir(os.tmpdir())).filter((d) => d.startsWith('reelay-sandbox-'));
    expect(dir.length).toBeGreaterThan(0);
    const init = await api('POST', `${sb.urls.lipdub}/audio`, {
      headers: { 'x-api-key': sb.keys.lipdub },
      json: { file_name: 'a.mp3', content_type: 'audio/mpeg', size_bytes: 3 },
    });
    await put(init.body.data.upload_url, Buffer.from('abc'), 'audio/mpeg');
    await sb.close();
    await sb.close(); // idempotent

    const given = await fsp.mkdtemp(path.join(os.tmpdir(), 'reelay-given-'));
    const kept = await startSandbox({ dataDir: given });
    await kept.close();
    expect(existsSync(given)).toBe(true);
    await fsp.rm(given, { recursive: true, force: true });
  });

  it('passes every request through interceptors, the hook for fault injection', async () => {
    const sb = await startSandbox();
    try {
      const remove = sb.use(async (ctx, next) => {
        if (ctx.counterKey === 'dublab GET /api/v1/me') {
          ctx.res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
          ctx.res.end(JSON.stringify({ error: 'injected' }));
          return;
        }
        await next();
      });
      const h = { apikey: sb.keys.dublab };
      const injected = await api('GET', `${sb.urls.dublab}/me`, { headers: h });
      expect(injected.status).toBe(503);
      expect(injected.headers['retry-after']).toBe('1');
      expect((await api('GET', `${sb.urls.dublab}/dubs`, { headers: h })).status).toBe(200);
      remove();
      expect((await api('GET', `${sb.urls.dublab}/me`, { headers: h })).status).toBe(200);
      expect(sb.counters()['dublab GET /api/v1/me']).toBe(2);
    } finally {
      await sb.close();
    }
  });

  it('streams multi-megabyte inputs through to a derived output', async () => {
    const sb = await startSandbox({ timings: { lipdub: { shotMs: 10, trainingMs: 10, generateQueueMs: 10, generateMs: 10 } } });
    try {
      const h = { 'x-api-key': sb.keys.lipdub };
      const video = bytesOf('big', 12 * 1024 * 1024 + 7);
      const audio = bytesOf('big-audio', 300_000);
      const v = await api('POST', `${sb.urls.lipdub}/video`, {
        headers: h,
        json: { file_name: 'big.mp4', content_type: 'video/mp4', project_name: 'p', scene_name: 's', actor_name: 'a' },
      });
      expect((await put(v.body.data.upload_url, video, 'video/mp4')).status).toBe(200);
      const shotId = (await api('POST', `${sb.urls.lipdub}/video/success/${v.body.data.video_id}`, { headers: h })).body.data.shot_id;
      const a = await api('POST', `${sb.urls.lipdub}/audio`, { headers: h, json: { file_name: 'b.mp3', content_type: 'audio/mpeg', size_bytes: audio.length } });
      await put(a.body.data.upload_url, audio, 'audio/mpeg');
      await api('POST', `${sb.urls.lipdub}/audio/success/${a.body.data.audio_id}`, { headers: h });
      const g = await api('POST', `${sb.urls.lipdub}/shots/${shotId}/generate`, {
        headers: h,
        json: { audio_id: a.body.data.audio_id, output_filename: 'big_out.mp4', language: 'ko' },
      });
      const gid = g.body.data.generate_id;
      await pollUntil(
        () => api('GET', `${sb.urls.lipdub}/shots/${shotId}/generate/${gid}`, { headers: h }),
        (r) => r.body.data.status === 'finished',
      );
      const dl = await api('GET', `${sb.urls.lipdub}/shots/${shotId}/generate/${gid}/download`, { headers: h });
      const file = await download(dl.body.data.download_url);
      const expected = lipdubOutput(video, audio, 'ko');
      expect(file.bytes.length).toBe(expected.length);
      expect(sha256Hex(file.bytes)).toBe(sha256Hex(expected));
      expect(sb.served().at(-1)).toEqual({
        key: expect.stringContaining('big_out.mp4'),
        sha256: sha256Hex(expected),
        bytes: expected.length,
        contentType: 'video/mp4',
      });
    } finally {
      await sb.close();
    }
  });

  it('derives outputs that depend on every input', () => {
    const v = Buffer.from('video');
    const a = Buffer.from('audio');
    expect(lipdubOutput(v, a, 'es').equals(lipdubOutput(v, a, 'fr'))).toBe(false);
    expect(lipdubOutput(v, a, 'es').equals(lipdubOutput(v, Buffer.from('other'), 'es'))).toBe(false);
    expect(lipdubOutput(v, a, 'es').subarray(-5).equals(v)).toBe(true);
    expect(dublabOutput('original', v, 'en').equals(v)).toBe(true);
    expect(dublabOutput('translated', v, 'de').equals(dublabOutput('translated_mp4', v, 'de'))).toBe(true);
    expect(dublabOutput('translated_subtitle', v, 'tr').toString()).toMatch(/^WEBVTT\n[\s\S]*tr/);
    const poster = dublabOutput('poster', v, 'en');
    expect(poster.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
    expect(dublabOutput('poster', Buffer.from('x'), 'en').equals(poster)).toBe(false);
    expect(() => dublabOutput('nope', v, 'en')).toThrow(/unknown/);
  });
});
