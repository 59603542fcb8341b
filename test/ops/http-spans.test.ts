import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { z } from 'zod';
import { uploadToSignedUrl } from '../../src/activities/transfer';
import { RateLimitError } from '../../src/providers/errors';
import { createHttpClient, pathSegment } from '../../src/providers/http';
import { makeFile, tempDir } from '../support/harness';

/**
 * The spans of provider calls and signed-URL transfers, read from an in-memory exporter: route template,
 * status, failures; never the path's ids, the query, the key or the signed URL. (The end-to-end trace
 * through Temporal is test/ops/traces.test.ts.)
 */

const API_KEY = 'sk-test-SECRET-0123456789';
let status = 200;
let server: http.Server;
let baseUrl: string;
const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

beforeAll(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.statusCode = status;
      res.setHeader('content-type', 'application/json');
      if (status === 429) res.setHeader('retry-after', '7');
      res.end(status === 200 ? '{"ok":true}' : `{"error":"slow down, key ${API_KEY}"}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  context.disable();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  status = 200;
  exporter.reset();
});

const client = () => createHttpClient({ provider: 'lipdub', baseUrl, headers: { 'x-api-key': API_KEY } });
const generate = () =>
  client().call({
    method: 'POST',
    path: `/shots/${pathSegment(746176)}/generate?trace=1`,
    endpoint: 'POST /shots/{shot_id}/generate',
    body: { language: 'es' },
    schema: z.object({ ok: z.boolean() }),
  });
const everyValue = (s: ReadableSpan) => [
  s.name,
  s.status.message ?? '',
  ...Object.values(s.attributes).map(String),
  ...s.events.flatMap((e) => Object.values(e.attributes ?? {}).map(String)),
];

describe('provider HTTP calls as spans', () => {
  it('with tracing off, calls work and nothing is recorded (the API no-op)', async () => {
    await expect(generate()).resolves.toEqual({ ok: true });
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  describe('with a tracer provider registered', () => {
    beforeAll(() => provider.register());

    it('a call is a client span named by its route template, with method, template, provider, host and status', async () => {
      await generate();
      const [span] = exporter.getFinishedSpans();
      expect(span!.name).toBe('POST /shots/{shot_id}/generate');
      expect(span!.attributes).toEqual({
        'http.request.method': 'POST',
        'url.template': '/shots/{shot_id}/generate',
        'reelay.provider': 'lipdub',
        'server.address': '127.0.0.1',
        'server.port': Number(new URL(baseUrl).port),
        'http.response.status_code': 200,
      });
      expect(span!.status.code).toBe(0); // unset: success
      for (const v of everyValue(span!)) expect(v).not.toMatch(/746176|\?|SECRET/);
    });

    it('a refused call records its status, error type and the redacted message; the key never', async () => {
      status = 429;
      await expect(generate()).rejects.toBeInstanceOf(RateLimitError);
      const [span] = exporter.getFinishedSpans();
      expect(span!.attributes['http.response.status_code']).toBe(429);
      expect(span!.attributes['error.type']).toBe('429');
      expect(span!.status.code).toBe(2); // error
      expect(span!.events.map((e) => e.name)).toEqual(['exception']);
      expect(span!.events[0]!.attributes!['exception.type']).toBe('RateLimitError');
      for (const v of everyValue(span!)) expect(v).not.toContain(API_KEY);
    });

    it('a call that never connects is an error span typed by the client error, without a status', async () => {
      const closed = createHttpClient({ provider: 'dublab', baseUrl: 'http://127.0.0.1:9/api/v1', headers: { apikey: API_KEY } });
      await expect(closed.call({ method: 'GET', path: '/me', endpoint: 'GET /me', schema: z.object({}) })).rejects.toThrow();
      const [span] = exporter.getFinishedSpans();
      expect(span!.attributes['error.type']).toBe('APIConnectionError');
      expect(span!.attributes['http.response.status_code']).toBeUndefined();
    });

    it('a signed-URL upload is a span with host, status and bytes, never the URL', async () => {
      const dir = tempDir('span-upload');
      const file = makeFile(dir, 'clip.mp4', 4096);
      const url = `${baseUrl.replace('/v1', '')}/bucket/clip.mp4?expires=1&sig=deadbeefcafe`;
      await uploadToSignedUrl({ source: file, url, contentType: 'video/mp4', provider: 'lipdub' }).finally(() => fs.rmSync(dir, { recursive: true, force: true }));
      const [span] = exporter.getFinishedSpans();
      expect(span!.name).toBe('PUT signed upload URL');
      expect(span!.attributes).toMatchObject({ 'http.request.method': 'PUT', 'http.response.status_code': 200, 'reelay.transfer.bytes': 4096 });
      for (const v of everyValue(span!)) expect(v).not.toMatch(/sig=|deadbeef|clip\.mp4|\?/);
    });
  });
});
