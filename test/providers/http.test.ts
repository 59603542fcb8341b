import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { z } from 'zod';
import {
  APIConnectionError,
  APITimeoutError,
  AuthenticationError,
  BadRequestError,
  ConflictError,
  InsufficientCreditsError,
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
  PreconditionFailedError,
  ProviderError,
  RateLimitError,
  RequestValidationError,
  ResponseValidationError,
  UnexpectedStatusError,
  errorFromResponse,
  isProviderError,
} from '../../src/providers/errors';
import { MAX_RESPONSE_BYTES, createHttpClient, parseRetryAfter, pathSegment, redactUrl } from '../../src/providers/http';

const API_KEY = 'sk-test-SECRET-0123456789';
const SIGNED_URL = 'https://storage.googleapis.com/bucket/video.mp4?X-Goog-Signature=deadbeefcafe&X-Goog-Expires=3600';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

let handler: Handler = (_req, res) => res.end('{}');
let server: http.Server;
let baseUrl: string;
let dispatcher: Agent;
const seen: Array<{ method?: string; url?: string; headers: http.IncomingHttpHeaders; body: string }> = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  dispatcher = new Agent();
});

afterAll(async () => {
  await dispatcher.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  seen.length = 0;
});

function client(opts: { timeoutMs?: number; url?: string; dispatcher?: Agent } = {}) {
  return createHttpClient({
    provider: 'lipdub',
    baseUrl: opts.url ?? baseUrl,
    headers: { 'x-api-key': API_KEY },
    dispatcher: opts.dispatcher ?? dispatcher,
    timeoutMs: opts.timeoutMs,
  });
}

function reply(status: number, body: unknown, headers: Record<string, string> = {}): Handler {
  return (_req, res) => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/html' : 'application/json', ...headers });
    res.end(text);
  };
}

const anything = z.unknown();
const get = (path = '/shots/1/status', endpoint = 'GET /shots/{shot_id}/status') =>
  client().call({ method: 'GET', path, endpoint, schema: anything });

async function failure(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (e) {
    if (isProviderError(e)) return e;
    throw e;
  }
  throw new Error('expected the call to fail');
}

describe('HTTP status → error class', () => {
  it.each([
    [400, BadRequestError, 'BadRequest', false, false],
    [401, AuthenticationError, 'Unauthorized', false, false],
    [402, InsufficientCreditsError, 'PaymentRequired', false, false],
    [403, PermissionDeniedError, 'Forbidden', false, false],
    [404, NotFoundError, 'NotFound', false, false],
    [409, ConflictError, 'Conflict', false, false],
    [412, PreconditionFailedError, 'PreconditionFailed', false, false],
    [429, RateLimitError, 'RateLimited', true, false],
    [500, InternalServerError, 'ProviderServerError', true, true],
    [502, InternalServerError, 'ProviderServerError', true, true],
    [503, InternalServerError, 'ProviderServerError', true, false],
    [504, InternalServerError, 'ProviderServerError', true, true],
    [405, UnexpectedStatusError, 'ProviderHttpError', false, false],
    [408, UnexpectedStatusError, 'ProviderHttpError', true, false],
    [422, UnexpectedStatusError, 'ProviderHttpError', false, false],
  ])('%i is %p with type %s, retryable %s, ambiguous %s', async (status, cls, type, retryable, ambiguous) => {
    handler = reply(status, { message: 'Shot not found' });
    const err = await failure(get());
    expect(err).toBeInstanceOf(cls);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ type, retryable, ambiguous, status, provider: 'lipdub', endpoint: 'GET /shots/{shot_id}/status' });
    expect(err.providerMessage).toBe('Shot not found');
    expect(err.message).toBe(`LipDub ${status} on GET /shots/{shot_id}/status: Shot not found`);
  });

  it('carries the request id from x-request-id or request-id', async () => {
    handler = reply(500, { message: 'boom' }, { 'x-request-id': 'req_123' });
    expect((await failure(get())).requestId).toBe('req_123');
    handler = reply(500, { message: 'boom' }, { 'request-id': 'req_456' });
    expect((await failure(get())).requestId).toBe('req_456');
  });
});

describe('429 retry delay', () => {
  it('reads Retry-After in seconds', async () => {
    handler = reply(429, { message: 'slow down' }, { 'retry-after': '7' });
    const err = await failure(get());
    expect(err).toBeInstanceOf(RateLimitError);
    expect(err.retryAfterMs).toBe(7000);
  });

  it('reads Retry-After as an HTTP date', async () => {
    handler = reply(429, { message: 'slow down' }, { 'retry-after': new Date(Date.now() + 20_000).toUTCString() });
    const err = await failure(get());
    expect(err.retryAfterMs).toBeGreaterThan(15_000);
    expect(err.retryAfterMs).toBeLessThanOrEqual(20_000);
  });

  it('reads a body retry_after in seconds when there is no header', async () => {
    handler = reply(429, { error: 'Rate limit exceeded', details: '429 Too Many Requests', retry_after: 3600 });
    const err = await failure(get());
    expect(err.retryAfterMs).toBe(3_600_000);
    expect(err.providerMessage).toBe('Rate limit exceeded');
  });

  it('parseRetryAfter prefers the header and ignores garbage', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('2', 99, now)).toBe(2000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', undefined, now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', undefined, now)).toBe(0);
    expect(parseRetryAfter(undefined, 1.5, now)).toBe(1500);
    expect(parseRetryAfter(undefined, '12', now)).toBe(12_000);
    expect(parseRetryAfter('soon', 'later', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, -1, now)).toBeUndefined();
  });
});

describe('provider message extraction', () => {
  it.each([
    ['error (string)', { error: 'File has not been uploaded' }, 'File has not been uploaded'],
    ['error.message', { error: { message: 'nested error' } }, 'nested error'],
    ['message', { message: 'Shot not found' }, 'Shot not found'],
    ['detail (string)', { detail: "Resolution must be '720p' or '1080p'" }, "Resolution must be '720p' or '1080p'"],
    ['detail.message', { detail: { message: 'Insufficient tokens', cost: 50 } }, 'Insufficient tokens'],
    ['details (string)', { details: 'only details' }, 'only details'],
  ])('reads %s', async (_label, body, expected) => {
    handler = reply(400, body);
    expect((await failure(get())).providerMessage).toBe(expected);
  });

  it('keeps a 400 details[] as details', async () => {
    handler = reply(400, { error: 'Invalid parameters', details: ['duration_seconds must be 4, 6, or 8'] });
    const err = await failure(get());
    expect(err.providerMessage).toBe('Invalid parameters');
    expect(err.details).toEqual(['duration_seconds must be 4, 6, or 8']);
  });

  it('reads an HTML page as its text without markup, cut to 500 characters', async () => {
    const html = `<html><body><h1>502 Bad Gateway</h1><p>${'x'.repeat(2000)}</p></body></html>`;
    handler = reply(502, html);
    const err = await failure(get());
    expect(err).toBeInstanceOf(InternalServerError);
    expect(err.providerMessage.startsWith('502 Bad Gateway xxx')).toBe(true);
    expect(err.providerMessage.length).toBeLessThanOrEqual(501);
  });

  it("reads an HTML page with a title as that title", async () => {
    handler = reply(502, '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body><center><h1>502 Bad Gateway</h1></center></body></html>');
    const err = await failure(get());
    expect(err.message).toBe('LipDub 502 on GET /shots/{shot_id}/status: 502 Bad Gateway');
  });

  it('copes with an empty error body', async () => {
    handler = (_req, res) => {
      res.statusCode = 503;
      res.end();
    };
    const err = await failure(get());
    expect(err.providerMessage).toBe('');
    expect(err.message).toBe('LipDub 503 on GET /shots/{shot_id}/status');
  });

  it('errorFromResponse works on a parsed body and on garbage', () => {
    const a = errorFromResponse({ provider: 'dublab', endpoint: 'POST /start-dub', status: 409, body: { error: 'Already started' } });
    expect(a).toBeInstanceOf(ConflictError);
    expect(a.message).toBe('DubLab 409 on POST /start-dub: Already started');
    const b = errorFromResponse({ provider: 'aistudio', endpoint: 'GET /video-jobs/{id}', status: 500, body: '{not json' });
    expect(b.providerMessage).toBe('{not json');
  });
});

describe('successful answers', () => {
  it('sends the JSON body, content type and auth header', async () => {
    handler = reply(200, { data: { ok: true } });
    const res = await client().call({
      method: 'POST',
      path: '/video',
      endpoint: 'POST /video',
      body: { file_name: 'a.mp4' },
      schema: z.object({ data: z.object({ ok: z.boolean() }) }),
    });
    expect(res).toEqual({ data: { ok: true } });
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/v1/video', body: '{"file_name":"a.mp4"}' });
    expect(seen[0]!.headers['x-api-key']).toBe(API_KEY);
    expect(seen[0]!.headers['content-type']).toBe('application/json');
  });

  it('parses an empty 2xx body as {}', async () => {
    handler = (_req, res) => {
      res.statusCode = 200;
      res.end();
    };
    await expect(client().call({ method: 'POST', path: '/x', endpoint: 'POST /x', schema: z.object({}) })).resolves.toEqual({});
    handler = (_req, res) => {
      res.statusCode = 204;
      res.end();
    };
    await expect(client().call({ method: 'DELETE', path: '/x', endpoint: 'DELETE /x', schema: anything })).resolves.toEqual({});
  });

  it('refuses a non-JSON 2xx to a GET as ProviderResponseInvalid (retried: a read changed nothing)', async () => {
    handler = reply(200, '<html>maintenance</html>');
    const err = await failure(get());
    expect(err).toBeInstanceOf(ResponseValidationError);
    expect(err).toMatchObject({ type: 'ProviderResponseInvalid', retryable: true, ambiguous: false, status: 200 });
    expect(err.message).toContain('not JSON');
  });

  it('refuses a non-JSON 2xx to a POST as ProviderResponseInvalid (ambiguous: it applied; not retried)', async () => {
    handler = reply(202, '{"job_id": "j-1", "sta');
    const err = await failure(client().call({ method: 'POST', path: '/x', endpoint: 'POST /x', body: {}, schema: anything }));
    expect(err).toMatchObject({ type: 'ProviderResponseInvalid', retryable: false, ambiguous: true, status: 202 });
  });

  it('names the field path and the bad value when the schema is violated', async () => {
    handler = reply(200, { data: { shot_id: 1, state: 'weird' } });
    const err = await failure(
      client().call({
        method: 'GET',
        path: '/video/status/v1',
        endpoint: 'GET /video/status/{video_id}',
        schema: z.object({ data: z.object({ shot_id: z.number(), state: z.enum(['running', 'finished']) }) }),
      }),
    );
    expect(err).toBeInstanceOf(ResponseValidationError);
    expect(err.message).toBe(
      `LipDub GET /video/status/{video_id}: data.state: expected one of running|finished, got "weird" (a read: retried, the answer may be a proxy's page or a passing state)`,
    );
    expect(err.details).toEqual([expect.objectContaining({ path: 'data.state', code: 'invalid_value' })]);
  });

  it('refuses a body over 5 MiB', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      for (let i = 0; i < 6; i++) res.write(chunk);
      res.end('{}');
    };
    const err = await failure(get());
    expect(err).toBeInstanceOf(ResponseValidationError);
    expect(err.message).toContain(`exceeds ${MAX_RESPONSE_BYTES} bytes`);
  });

  it('refuses a declared Content-Length over 5 MiB without reading it', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(MAX_RESPONSE_BYTES + 10) });
      res.write('{');
    };
    const err = await failure(get());
    expect(err).toBeInstanceOf(ResponseValidationError);
  });

  it('validates the request body before sending anything', async () => {
    const err = await failure(
      client().call({
        method: 'POST',
        path: '/audio',
        endpoint: 'POST /audio',
        body: { file_name: '' },
        bodySchema: z.object({ file_name: z.string().min(1), size_bytes: z.number() }),
        schema: anything,
      }),
    );
    expect(err).toBeInstanceOf(RequestValidationError);
    expect(err).toMatchObject({ type: 'ProviderRequestInvalid', retryable: false, ambiguous: false });
    expect(err.message).toContain('size_bytes: expected number, got missing');
    expect(seen).toHaveLength(0);
  });
});

describe('network failures', () => {
  it('times out on a slow handler (ambiguous, retryable)', async () => {
    handler = (_req, res) => {
      setTimeout(() => res.end('{}'), 1000).unref();
    };
    const err = await failure(client({ timeoutMs: 100 }).call({ method: 'GET', path: '/slow', endpoint: 'GET /slow', schema: anything }));
    expect(err).toBeInstanceOf(APITimeoutError);
    expect(err).toMatchObject({ type: 'ProviderTimeout', retryable: true, ambiguous: true, status: undefined });
    expect(err.message).toBe('LipDub timed out after 100 ms on GET /slow');
  });

  it("maps undici's headers timeout to ProviderTimeout", async () => {
    handler = (_req, res) => {
      setTimeout(() => res.end('{}'), 1000).unref();
    };
    const fast = new Agent({ headersTimeout: 100 });
    try {
      const err = await failure(client({ dispatcher: fast }).call({ method: 'GET', path: '/slow', endpoint: 'GET /slow', schema: anything }));
      expect(err).toBeInstanceOf(APITimeoutError);
      expect(err.ambiguous).toBe(true);
    } finally {
      await fast.destroy();
    }
  });

  it("rethrows the caller's abort instead of classifying it", async () => {
    handler = (_req, res) => {
      setTimeout(() => res.end('{}'), 1000).unref();
    };
    const ac = new AbortController();
    const reason = new Error('activity cancelled');
    setTimeout(() => ac.abort(reason), 50);
    await expect(client().call({ method: 'GET', path: '/slow', endpoint: 'GET /slow', schema: anything, signal: ac.signal })).rejects.toBe(
      reason,
    );
  });

  it('classifies a refused connection as not ambiguous', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const err = await failure(client({ url: `http://127.0.0.1:${port}/v1` }).call({ method: 'POST', path: '/video', endpoint: 'POST /video', schema: anything }));
    expect(err).toBeInstanceOf(APIConnectionError);
    expect(err).toMatchObject({ type: 'ProviderConnectionError', retryable: true, ambiguous: false, status: undefined });
    expect(err.message).toContain('ECONNREFUSED');
  });

  it('classifies a reset after sending as ambiguous', async () => {
    handler = (req) => req.socket.destroy();
    const err = await failure(client().call({ method: 'POST', path: '/video', endpoint: 'POST /video', body: {}, schema: anything }));
    expect(err).toBeInstanceOf(APIConnectionError);
    expect(err).toMatchObject({ retryable: true, ambiguous: true });
  });

  it('classifies a connection cut mid-body as ambiguous', async () => {
    handler = (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"data":');
      setTimeout(() => req.socket.destroy(), 20);
    };
    const err = await failure(get());
    expect(err).toBeInstanceOf(APIConnectionError);
    expect(err.ambiguous).toBe(true);
  });
});

describe('secrets stay out of errors', () => {
  const leaks = (err: ProviderError) => JSON.stringify({ m: err.message, p: err.providerMessage, d: err.details, j: err.toJSON() });

  it('redacts an echoed API key and a signed URL query from the provider message', async () => {
    handler = reply(403, { error: `key ${API_KEY} may not write ${SIGNED_URL}`, details: [`upload to ${SIGNED_URL}`] });
    const err = await failure(get());
    const text = leaks(err);
    expect(text).not.toContain(API_KEY);
    expect(text).not.toContain('X-Goog-Signature');
    expect(text).not.toContain('deadbeefcafe');
    expect(err.providerMessage).toContain('https://storage.googleapis.com/bucket/video.mp4?…');
  });

  it('redacts them from schema-violation messages', async () => {
    // Both values are refused, so both would be quoted in the message were they not redacted.
    handler = reply(200, { data: { shot_id: SIGNED_URL, upload_status: API_KEY } });
    const strict = z.object({ data: z.object({ shot_id: z.number(), upload_status: z.enum(['uploading', 'completed']) }) });
    const err = await failure(client().call({ method: 'GET', path: '/video/status/v', endpoint: 'GET /video/status/{video_id}', schema: strict }));
    const text = leaks(err);
    expect(text).not.toContain(API_KEY);
    expect(text).not.toContain('deadbeefcafe');
    expect(err.message).toContain('data.shot_id');
    expect(err.message).toContain('data.upload_status');
  });

  it('redacts them from non-JSON 2xx snippets', async () => {
    handler = reply(200, `oops ${API_KEY} ${SIGNED_URL}`);
    const text = leaks(await failure(get()));
    expect(text).not.toContain(API_KEY);
    expect(text).not.toContain('deadbeefcafe');
  });

  it('redactUrl keeps origin and path only', () => {
    expect(redactUrl(SIGNED_URL)).toBe('https://storage.googleapis.com/bucket/video.mp4?…');
    expect(redactUrl('https://user:pw@example.com/a/b')).toBe('https://example.com/a/b');
    expect(redactUrl('/v1/upload/abc?sig=1')).toBe('/v1/upload/abc?…');
  });
});

describe('pathSegment', () => {
  it('encodes values', () => {
    expect(pathSegment('a/b c')).toBe('a%2Fb%20c');
    expect(pathSegment(746176)).toBe('746176');
    expect(pathSegment('..a')).toBe('..a');
  });

  it.each(['', '.', '..'])('refuses %p', (v) => {
    expect(() => pathSegment(v)).toThrow(`Refusing path segment ${JSON.stringify(v)}`);
  });

  it('refuses non-finite numbers', () => {
    expect(() => pathSegment(Number.NaN)).toThrow(/Refusing path segment/);
  });
});
