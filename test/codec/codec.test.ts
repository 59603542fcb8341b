import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { request } from 'undici';
import {
  AesGcmPayloadCodec,
  ENCRYPTED_ENCODING,
  KEY_ID_METADATA,
  PayloadDecryptionError,
  PayloadKeyConfigError,
  deriveKeyId,
  payloadCodecFromEnv,
  payloadKeysFromEnv,
} from '../../src/codec';
import { startCodecServer, type CodecServer } from '../../src/codec/server';
import { freePort, startDevServer } from '../../src/dev/temporal';
import { tempDir, testClient, temporalAddress } from '../support/harness';

const newKey = () => randomBytes(32).toString('base64');
const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? new Uint8Array(0)).toString('utf8');
const UI_ORIGIN = 'http://localhost:8233';

/** Payloads of every shape the SDK writes: JSON, null, raw bytes, empty data, extra metadata. */
function samplePayloads(): Payload[] {
  return [
    defaultPayloadConverter.toPayload({ prompt: 'A lighthouse keeper finds a bottle', video: '/home/ana/talk.mp4', n: 3 }),
    defaultPayloadConverter.toPayload(null),
    defaultPayloadConverter.toPayload(new Uint8Array([0, 1, 2, 250, 255])),
    defaultPayloadConverter.toPayload('ünïcødé ✓'),
    { metadata: { encoding: new TextEncoder().encode('json/plain'), messageType: new TextEncoder().encode('x.y.Z') }, data: new TextEncoder().encode('{}') },
    { metadata: { encoding: new TextEncoder().encode('binary/null') }, data: new Uint8Array(0) },
  ];
}

function expectSamePayloads(actual: Payload[], expected: Payload[]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((p, i) => {
    const e = expected[i]!;
    expect(Object.keys(p.metadata ?? {}).sort()).toEqual(Object.keys(e.metadata ?? {}).sort());
    for (const [k, v] of Object.entries(e.metadata ?? {})) expect(Buffer.from(p.metadata![k]!).equals(Buffer.from(v!))).toBe(true);
    expect(Buffer.from(p.data ?? []).equals(Buffer.from(e.data ?? []))).toBe(true);
  });
}

/** proto3 JSON of Payloads, as the Temporal UI and CLI send it. */
const toJson = (payloads: Payload[]) => ({
  payloads: payloads.map((p) => ({
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v!).toString('base64')])),
    data: Buffer.from(p.data ?? []).toString('base64'),
  })),
});
const fromJson = (body: { payloads: Array<{ metadata: Record<string, string>; data?: string }> }): Payload[] =>
  body.payloads.map((p) => ({
    metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))])),
    data: new Uint8Array(Buffer.from(p.data ?? '', 'base64')),
  }));

describe('payload keys from the environment', () => {
  it('rejects a key that is not 32 bytes of base64 with an error naming the variable, never its value', () => {
    const short = randomBytes(16).toString('base64');
    for (const [value, reason] of [
      [short, /REELAY_PAYLOAD_KEY decodes to 16 bytes; AES-256-GCM needs exactly 32/],
      ['not base64 at all!', /REELAY_PAYLOAD_KEY is not base64/],
    ] as const) {
      let err: unknown;
      try {
        payloadKeysFromEnv({ REELAY_PAYLOAD_KEY: value });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(PayloadKeyConfigError);
      expect((err as Error).message).toMatch(reason);
      expect((err as Error).message).not.toContain(value);
    }
    const bad = randomBytes(31).toString('base64');
    expect(() => payloadKeysFromEnv({ REELAY_PAYLOAD_KEY: newKey(), REELAY_PAYLOAD_OLD_KEYS: `old-1:${newKey()}, ${bad}` })).toThrow(
      /^REELAY_PAYLOAD_OLD_KEYS entry 2 decodes to 31 bytes/,
    );
    expect(() => payloadKeysFromEnv({ REELAY_PAYLOAD_KEY: newKey(), REELAY_PAYLOAD_KEY_ID: 'has space' })).toThrow(/REELAY_PAYLOAD_KEY_ID must be 1–64 characters/);
    expect(() => payloadKeysFromEnv({ REELAY_PAYLOAD_KEY_ID: 'k1' })).toThrow(/REELAY_PAYLOAD_KEY_ID is set but REELAY_PAYLOAD_KEY is not/);
    expect(() => payloadKeysFromEnv({ REELAY_PAYLOAD_KEY: newKey(), REELAY_PAYLOAD_KEY_ID: 'k1', REELAY_PAYLOAD_OLD_KEYS: `k1:${newKey()}` })).toThrow(
      /key id "k1" is already used by another key/,
    );
  });

  it('reads the current key, its id (given or derived) and the retired keys', () => {
    const current = newKey();
    const old1 = newKey();
    const old2 = newKey();
    expect(payloadKeysFromEnv({})).toBeUndefined();
    const keys = payloadKeysFromEnv({ REELAY_PAYLOAD_KEY: current, REELAY_PAYLOAD_OLD_KEYS: `2024-q1:${old1},${old2}` })!;
    expect(keys.current!.id).toBe(deriveKeyId(Buffer.from(current, 'base64')));
    expect(keys.current!.id).toMatch(/^k-[0-9a-f]{12}$/);
    expect([...keys.all.keys()].sort()).toEqual([keys.current!.id, '2024-q1', deriveKeyId(Buffer.from(old2, 'base64'))].sort());
    expect(payloadKeysFromEnv({ REELAY_PAYLOAD_KEY: current, REELAY_PAYLOAD_KEY_ID: '2025-06' })!.current!.id).toBe('2025-06');
    // Decrypt-only: encryption turned off, old histories still readable.
    const decryptOnly = payloadKeysFromEnv({ REELAY_PAYLOAD_OLD_KEYS: old1 })!;
    expect(decryptOnly.current).toBeUndefined();
    expect(decryptOnly.all.size).toBe(1);
  });
});

describe('AesGcmPayloadCodec', () => {
  it('round-trips every payload shape, encrypted under the current key id with a fresh IV each time', async () => {
    const codec = payloadCodecFromEnv({ REELAY_PAYLOAD_KEY: newKey(), REELAY_PAYLOAD_KEY_ID: 'test-1' });
    const payloads = samplePayloads();
    const encoded = await codec.encode(payloads);
    for (const p of encoded) {
      expect(text(p.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);
      expect(text(p.metadata![KEY_ID_METADATA])).toBe('test-1');
      expect(text(p.data)).not.toContain('lighthouse');
      expect(text(p.data)).not.toContain('json/plain');
    }
    expectSamePayloads(await codec.decode(encoded), payloads);
    const again = await codec.encode(payloads);
    expect(Buffer.from(again[0]!.data!).equals(Buffer.from(encoded[0]!.data!))).toBe(false);
    expect(defaultPayloadConverter.fromPayload((await codec.decode([again[0]!]))[0]!)).toEqual({
      prompt: 'A lighthouse keeper finds a bottle',
      video: '/home/ana/talk.mp4',
      n: 3,
    });
  });

  it('after a rotation decrypts payloads of the old key and encrypts with the new one', async () => {
    const oldKey = newKey();
    const newer = newKey();
    const before = payloadCodecFromEnv({ REELAY_PAYLOAD_KEY: oldKey, REELAY_PAYLOAD_KEY_ID: 'old' });
    const after = payloadCodecFromEnv({ REELAY_PAYLOAD_KEY: newer, REELAY_PAYLOAD_KEY_ID: 'new', REELAY_PAYLOAD_OLD_KEYS: `old:${oldKey}` });
    const payloads = samplePayloads();
    const oldEncrypted = await before.encode(payloads);
    expectSamePayloads(await after.decode(oldEncrypted), payloads);
    const newEncrypted = await after.encode(payloads);
    expect(text(newEncrypted[0]!.metadata![KEY_ID_METADATA])).toBe('new');
    await expect(before.decode(newEncrypted)).rejects.toThrow('cannot decrypt a payload encrypted with key id "new": no such key is configured');
  });

  it('passes unencrypted payloads through decode, and encrypts nothing without a current key', async () => {
    const payloads = samplePayloads();
    const codec = payloadCodecFromEnv({ REELAY_PAYLOAD_KEY: newKey() });
    expectSamePayloads(await codec.decode(payloads), payloads);
    const off = new AesGcmPayloadCodec(undefined);
    expect(off.encrypting).toBe(false);
    expectSamePayloads(await off.encode(payloads), payloads);
  });

  it('refuses a tampered payload or the wrong key with a PayloadDecryptionError naming the key id', async () => {
    const codec = payloadCodecFromEnv({ REELAY_PAYLOAD_KEY: newKey(), REELAY_PAYLOAD_KEY_ID: 'k1' });
    const [sealed] = await codec.encode([defaultPayloadConverter.toPayload({ secret: 'x' })]);
    const flip = (at: number) => {
      const data = Buffer.from(sealed!.data!);
      data[at] = data[at]! ^ 1;
      return { ...sealed!, data: new Uint8Array(data) };
    };
    const n = sealed!.data!.length;
    for (const tampered of [flip(0), flip(14), flip(n - 1)]) {
      const err = await codec.decode([tampered]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PayloadDecryptionError);
      expect((err as Error).message).toMatch(/^cannot decrypt a payload with key id "k1": authentication failed/);
    }
    // The key id is authenticated: relabelling a payload with another configured key's id fails too.
    const twoKeys = payloadCodecFromEnv({ REELAY_PAYLOAD_KEY: newKey(), REELAY_PAYLOAD_KEY_ID: 'k2', REELAY_PAYLOAD_OLD_KEYS: `k1:${newKey()}` });
    await expect(twoKeys.decode([sealed!])).rejects.toThrow(/key id "k1": authentication failed/);
    await expect(payloadCodecFromEnv({}).decode([sealed!])).rejects.toThrow(
      'cannot decrypt a payload encrypted with key id "k1": no payload key is configured (set REELAY_PAYLOAD_KEY',
    );
    await expect(codec.decode([{ ...sealed!, data: new Uint8Array(10) }])).rejects.toThrow(/too short/);
  });
});

describe('codec server over HTTP', () => {
  const key = newKey();
  const codec = payloadCodecFromEnv({ REELAY_PAYLOAD_KEY: key, REELAY_PAYLOAD_KEY_ID: 'ui-1' });
  let server: CodecServer;
  const lines: string[] = [];

  beforeAll(async () => {
    server = await startCodecServer({ codec, port: 0, origins: [UI_ORIGIN], log: (l) => lines.push(l) });
  });
  afterAll(async () => {
    await server?.close();
  });

  const post = async (pathName: string, body: unknown, headers: Record<string, string> = {}, url = server.url) => {
    const res = await request(`${url}${pathName}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.statusCode, headers: res.headers, body: (await res.body.json()) as Record<string, unknown> };
  };

  it("decodes what the codec encoded, in the Temporal UI's request shape (POST <endpoint>/decode, X-Namespace, from the UI origin)", async () => {
    const payloads = samplePayloads();
    const encrypted = await codec.encode(payloads);
    const res = await post('/decode', toJson(encrypted), { origin: UI_ORIGIN });
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe(UI_ORIGIN);
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    expectSamePayloads(fromJson(res.body as never), payloads);
    expect(lines.some((l) => l.startsWith('POST /decode 200 namespace=default payloads=6'))).toBe(true);
    expect(lines.join('\n')).not.toContain('lighthouse');
  });

  it('round-trips decode(encode(x)) = x through HTTP alone, at any mount depth', async () => {
    const payloads = samplePayloads();
    const enc = await post('/ns/default/encode', toJson(payloads));
    expect(enc.status).toBe(200);
    const encrypted = fromJson(enc.body as never);
    expect(encrypted.every((p) => text(p.metadata!.encoding) === ENCRYPTED_ENCODING)).toBe(true);
    expectSamePayloads(await codec.decode(encrypted), payloads);
    const dec = await post('/ns/default/decode', enc.body);
    expectSamePayloads(fromJson(dec.body as never), payloads);
    const empty = await post('/decode', { payloads: [] });
    expect(empty).toMatchObject({ status: 200, body: { payloads: [] } });
  });

  it('answers the CORS preflight for the UI origin only, and refuses other origins', async () => {
    const preflight = (origin: string) =>
      request(`${server.url}/decode`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' },
      });
    const ok = await preflight(UI_ORIGIN);
    await ok.body.dump();
    expect(ok.statusCode).toBe(204);
    expect(ok.headers['access-control-allow-origin']).toBe(UI_ORIGIN);
    expect(String(ok.headers['access-control-allow-methods'])).toContain('POST');
    const allowed = String(ok.headers['access-control-allow-headers']).toLowerCase().split(/,\s*/);
    expect(allowed).toEqual(expect.arrayContaining(['content-type', 'x-namespace', 'authorization']));
    const evil = await preflight('http://evil.example');
    await evil.body.dump();
    expect(evil.statusCode).toBe(403);
    expect(evil.headers['access-control-allow-origin']).toBeUndefined();
    const direct = await post('/decode', toJson(await codec.encode(samplePayloads())), { origin: 'http://evil.example' });
    expect(direct.status).toBe(403);
    expect(direct.body.error).toMatch(/origin http:\/\/evil\.example is not allowed/);
    expect(direct.body).not.toHaveProperty('payloads');
  });

  it('answers the wrong key, tampered ciphertext and malformed bodies with a clear error, and keeps serving', async () => {
    const other = payloadCodecFromEnv({ REELAY_PAYLOAD_KEY: newKey(), REELAY_PAYLOAD_KEY_ID: 'someone-else' });
    const foreign = await post('/decode', toJson(await other.encode(samplePayloads())));
    expect(foreign.status).toBe(422);
    expect(foreign.body.error).toMatch(/^cannot decode: cannot decrypt a payload encrypted with key id "someone-else": no such key is configured/);

    const sameIdWrongKey = await startCodecServer({ codec: payloadCodecFromEnv({ REELAY_PAYLOAD_KEY: newKey(), REELAY_PAYLOAD_KEY_ID: 'ui-1' }), port: 0 });
    try {
      const wrong = await post('/decode', toJson(await codec.encode(samplePayloads())), {}, sameIdWrongKey.url);
      expect(wrong.status).toBe(422);
      expect(wrong.body.error).toMatch(/key id "ui-1": authentication failed/);
    } finally {
      await sameIdWrongKey.close();
    }

    const json = toJson(await codec.encode([defaultPayloadConverter.toPayload('x')]));
    const data = Buffer.from(json.payloads[0]!.data, 'base64');
    data[20] = data[20]! ^ 0xff;
    json.payloads[0]!.data = data.toString('base64');
    const tampered = await post('/decode', json);
    expect(tampered.status).toBe(422);
    expect(tampered.body.error).toMatch(/authentication failed/);

    expect(await post('/decode', '{not json')).toMatchObject({ status: 400, body: { error: 'body is not JSON: expected {"payloads":[…]}' } });
    expect(await post('/decode', { payloads: [{ data: 42 }] })).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^body is not Payloads JSON: payloads\.0\.data/) } });
    const wrongPath = await request(`${server.url}/other`, { method: 'POST', body: '{}' });
    expect(wrongPath.statusCode).toBe(404);
    await wrongPath.body.dump();

    const still = await post('/decode', toJson(await codec.encode(samplePayloads())));
    expect(still.status).toBe(200);
  });

  it('with a token, requires Authorization: Bearer; with namespaces, serves only those (X-Namespace)', async () => {
    const token = randomUUID();
    const guarded = await startCodecServer({ codec, port: 0, token, namespaces: ['default'] });
    try {
      const body = toJson(await codec.encode(samplePayloads()));
      expect((await post('/decode', body, {}, guarded.url)).status).toBe(401);
      expect((await post('/decode', body, { authorization: 'Bearer nope' }, guarded.url)).status).toBe(401);
      expect((await post('/decode', body, { authorization: `Bearer ${token}` }, guarded.url)).status).toBe(200);
      const otherNs = await post('/decode', body, { authorization: `Bearer ${token}`, 'x-namespace': 'prod' }, guarded.url);
      expect(otherNs.status).toBe(403);
      expect(otherNs.body.error).toMatch(/namespace "prod" is not served here/);
    } finally {
      await guarded.close();
    }
  });

  it("lets Temporal's own codec client (temporal workflow show --codec-endpoint --codec-auth) read an encrypted history", async () => {
    const cli = process.env.REELAY_TEST_TEMPORAL_CLI!;
    const token = randomUUID();
    const guarded = await startCodecServer({ codec, port: 0, token });
    const client = await testClient({ REELAY_PAYLOAD_KEY: key, REELAY_PAYLOAD_KEY_ID: 'ui-1' });
    const workflowId = `codec-cli-${randomUUID()}`;
    const prompt = `A paper crane unfolds itself ${randomUUID()}`;
    try {
      // No worker polls this queue: the start event alone holds the encrypted input.
      await client.workflow.start('text2videoPipeline', { workflowId, taskQueue: `codec-nobody-${randomUUID()}`, args: [{ text: prompt }] });
      const show = (extra: string[]) =>
        new Promise<{ code: number | null; out: string }>((resolve, reject) => {
          const child = spawn(cli, ['workflow', 'show', '--workflow-id', workflowId, '--address', temporalAddress(), '--namespace', 'default', '--output', 'json', ...extra], {
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          let out = '';
          child.stdout.on('data', (d: Buffer) => (out += d.toString()));
          child.stderr.on('data', (d: Buffer) => (out += d.toString()));
          child.once('error', reject);
          child.once('close', (code) => resolve({ code, out }));
        });
      // The start event's input, as the CLI prints it (proto3 JSON: metadata and data in base64).
      const input = (out: string) => {
        const events = (JSON.parse(out) as { events: Array<Record<string, { input?: { payloads: Array<{ metadata: Record<string, string>; data: string }> } }>> }).events;
        const p = events[0]!.workflowExecutionStartedEventAttributes!.input!.payloads[0]!;
        return { encoding: Buffer.from(p.metadata.encoding!, 'base64').toString(), data: Buffer.from(p.data, 'base64').toString() };
      };
      const raw = await show([]);
      expect(raw.code).toBe(0);
      expect(input(raw.out).encoding).toBe(ENCRYPTED_ENCODING);
      expect(input(raw.out).data).not.toContain(prompt);
      const decoded = await show(['--codec-endpoint', guarded.url, '--codec-auth', `Bearer ${token}`]);
      expect(decoded.code).toBe(0);
      expect(input(decoded.out)).toEqual({ encoding: 'json/plain', data: JSON.stringify({ text: prompt }) });
    } finally {
      await client.workflow.getHandle(workflowId).terminate('test done').catch(() => undefined);
      await client.connection.close();
      await guarded.close();
    }
  });
});

describe('the dev server UI and the codec endpoint', () => {
  it('starts `temporal server start-dev` with --ui-codec-endpoint, so its UI decodes through the codec server', async () => {
    const dir = tempDir('codec-devserver');
    const [port, uiPort] = [await freePort(), await freePort()];
    const endpoint = 'http://127.0.0.1:8089';
    const server = await startDevServer({
      cliPath: process.env.REELAY_TEST_TEMPORAL_CLI!,
      dbFile: path.join(dir, 'temporal.db'),
      port,
      uiPort,
      uiCodecEndpoint: endpoint,
    });
    try {
      let settings: { Codec?: { Endpoint?: string } } | undefined;
      const deadline = Date.now() + 30_000;
      while (!settings) {
        try {
          const res = await request(`http://127.0.0.1:${uiPort}/api/v1/settings`);
          if (res.statusCode === 200) settings = (await res.body.json()) as typeof settings;
          else await res.body.dump();
        } catch {
          // the UI server starts a moment after the frontend
        }
        if (!settings) {
          if (Date.now() > deadline) throw new Error('the dev server UI never answered /api/v1/settings');
          await new Promise((r) => setTimeout(r, 300));
        }
      }
      expect(settings!.Codec?.Endpoint).toBe(endpoint);
    } finally {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
