import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { formatSandboxBanner, startSandbox, type Sandbox } from '../../src/sandbox';
import { api, bytesOf, put, sleep } from './helpers';

/** Gets a signed upload URL the way a client would: through LipDub's POST /v1/audio. */
async function audioUploadUrl(sb: Sandbox, contentType = 'audio/mpeg'): Promise<{ uploadUrl: string; audioId: string }> {
  const r = await api('POST', `${sb.urls.lipdub}/audio`, {
    headers: { 'x-api-key': sb.keys.lipdub },
    json: { file_name: 'a.mp3', content_type: contentType, size_bytes: 10 },
  });
  return { uploadUrl: r.body.data.upload_url, audioId: r.body.data.audio_id };
}

describe('sandbox object store', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox();
  });
  afterAll(() => sb.close());

  it('refuses a PUT whose Content-Type differs from the signed one', async () => {
    const { uploadUrl } = await audioUploadUrl(sb);
    const res = await put(uploadUrl, bytesOf('x', 10), 'audio/mp3');
    expect(res.status).toBe(403);
    expect(res.text).toContain('<Code>SignatureDoesNotMatch</Code>');
    expect((await put(uploadUrl, bytesOf('x', 10), 'audio/mpeg')).status).toBe(200);
  });

  it('refuses a chunked PUT without Content-Length with 411', async () => {
    const { uploadUrl, audioId } = await audioUploadUrl(sb);
    const res = await request(uploadUrl, {
      method: 'PUT',
      headers: { 'content-type': 'audio/mpeg' },
      body: Readable.from([Buffer.from('abc'), Buffer.from('def')]),
    });
    expect(res.statusCode).toBe(411);
    expect(await res.body.text()).toContain('MissingContentLength');
    const success = await api('POST', `${sb.urls.lipdub}/audio/success/${audioId}`, { headers: { 'x-api-key': sb.keys.lipdub } });
    expect(success.status).toBe(400);
  });

  it('refuses a body shorter than its Content-Length with 400 and stores nothing', async () => {
    const { uploadUrl, audioId } = await audioUploadUrl(sb);
    const u = new URL(uploadUrl);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(u.port), u.hostname, () => {
        socket.write(`PUT ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: audio/mpeg\r\nContent-Length: 10\r\n\r\nabcde`);
        socket.end();
      });
      let data = '';
      socket.on('data', (d) => (data += d.toString()));
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
    });
    // Node may close the half-open socket before answering; either way nothing may be stored.
    if (answer) expect(answer).toMatch(/^HTTP\/1\.1 400/);
    const success = await api('POST', `${sb.urls.lipdub}/audio/success/${audioId}`, { headers: { 'x-api-key': sb.keys.lipdub } });
    expect(success.status).toBe(400);
  });

  it('refuses tampered signatures and keys that try to leave the data directory', async () => {
    const { uploadUrl } = await audioUploadUrl(sb);
    const tampered = uploadUrl.replace(/sig=([0-9a-f])/, (_m, c: string) => `sig=${c === '0' ? '1' : '0'}`);
    const res = await put(tampered, bytesOf('x', 10), 'audio/mpeg');
    expect(res.status).toBe(403);
    expect(res.text).toContain('SignatureDoesNotMatch');
    const unsigned = await request(`${sb.urls.store}/o/lipdub/audio/x/a.mp3`);
    expect(unsigned.statusCode).toBe(403);
    await unsigned.body.dump();
    for (const p of ['/o/..%2F..%2Fetc%2Fpasswd', '/o/a/%2E%2E/b', '/o/a/../../b']) {
      const r = await request(`${sb.urls.store}${p}?expires=9999999999&sig=00`);
      expect([400, 403, 404]).toContain(r.statusCode);
      expect(r.statusCode).not.toBe(200);
      await r.body.dump();
    }
  });

  it('answers ExpiredToken once a signed URL has expired', async () => {
    const short = await startSandbox({ urlTtlSeconds: 1 });
    try {
      const { uploadUrl } = await audioUploadUrl(short);
      await sleep(2100);
      const res = await put(uploadUrl, bytesOf('late', 10), 'audio/mpeg');
      expect(res.status).toBe(403);
      expect(res.text).toMatch(/<Error><Code>ExpiredToken<\/Code><Message>[^<]+<\/Message><\/Error>/);
    } finally {
      await short.close();
    }
  });

  it('counts every request per endpoint, 4xx included, and resets', async () => {
    sb.resetCounters();
    await api('GET', `${sb.urls.lipdub}/shots`);
    await api('GET', `${sb.urls.lipdub}/shots`, { headers: { 'x-api-key': sb.keys.lipdub } });
    await api('GET', `${sb.urls.lipdub}/shots/1/status`, { headers: { 'x-api-key': sb.keys.lipdub } });
    await api('POST', `${sb.urls.dublab}/start-dub`, { headers: { apikey: 'wrong' }, json: {} });
    const { uploadUrl } = await audioUploadUrl(sb);
    await put(uploadUrl, bytesOf('c', 10), 'audio/mpeg');
    await api('GET', `${sb.urls.lipdub}/does-not-exist`);
    expect(sb.counters()).toEqual({
      'lipdub GET /v1/shots': 2,
      'lipdub GET /v1/shots/:shotId/status': 1,
      'dublab POST /api/v1/start-dub': 1,
      'lipdub POST /v1/audio': 1,
      'store PUT': 1,
      'lipdub GET (no route)': 1,
    });
    const viaAdmin = await api('GET', `${sb.urls.store}/_sandbox/counters`);
    expect(viaAdmin.body).toEqual(sb.counters());
    expect((await api('POST', `${sb.urls.store}/_sandbox/reset-counters`)).status).toBe(200);
    expect(sb.counters()).toEqual({});
  });

  it('serves the admin surface: health and a validated config patch', async () => {
    expect((await api('GET', `${sb.urls.store}/_sandbox/health`)).body).toMatchObject({ ok: true });
    const ok = await api('POST', `${sb.urls.store}/_sandbox/config`, { json: { dublab: { credits: 42 }, timings: { dublab: { queueMs: 5 } } } });
    expect(ok.status).toBe(200);
    expect(sb.config().dublab.credits).toBe(42);
    expect(sb.config().timings.dublab.queueMs).toBe(5);
    expect(sb.config().timings.dublab.processMs).toBe(3000);
    const bad = await api('POST', `${sb.urls.store}/_sandbox/config`, { json: { dublab: { credit: 1 } } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/dublab\.credit/);
    const me = await api('GET', `${sb.urls.dublab}/me`, { headers: { apikey: sb.keys.dublab } });
    expect(me.body.credits).toBe(42);
  });

  it('refuses a non-loopback host and prints a banner with the env to export', async () => {
    await expect(startSandbox({ host: '0.0.0.0' })).rejects.toThrow(/loopback/);
    const banner = formatSandboxBanner(sb);
    for (const [k, v] of Object.entries(sb.env())) expect(banner).toContain(`export ${k}=${v}`);
    expect(sb.env()).toEqual({
      LIPDUB_BASE_URL: sb.urls.lipdub,
      LIPDUB_API_KEY: 'sandbox-lipdub-key',
      DUBLAB_BASE_URL: sb.urls.dublab,
      DUBLAB_API_KEY: 'sandbox-dublab-key',
      TEXT2VIDEO_BASE_URL: sb.urls.text2video,
      VIVIDFLOW_BASE_URL: sb.urls.vividflow,
      VIVIDFLOW_API_KEY: 'sandbox-vividflow-key',
      AISTUDIO_BASE_URL: sb.urls.aistudio,
      AISTUDIO_TOKEN: 'sandbox-aistudio-token',
    });
    expect(sb.urls.lipdub).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    expect(sb.urls.dublab).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v1$/);
    for (const u of [sb.urls.text2video, sb.urls.vividflow, sb.urls.aistudio]) expect(u).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v1$/);
    expect(new Set(Object.values(sb.urls)).size).toBe(6);
    expect(banner).toContain(sb.keys.vividflow);
    expect(banner).toContain(`Bearer ${sb.keys.aistudio}`);
  });
});
