import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { z } from 'zod';
import { DEFAULT_CODEC_PORT } from './defaults';

/**
 * Temporal's remote codec protocol over HTTP, for the Temporal UI and `temporal … --codec-endpoint`:
 * `POST …/encode` and `POST …/decode` take and return `{"payloads":[{"metadata":{k: base64}, "data": base64}]}`
 * (Payloads in proto3 JSON); only the last path segment picks the operation. Browsers get CORS for the
 * allowed origins (preflight included); `X-Namespace` may be restricted; a bearer token may be required.
 * Whoever can reach /decode can read every payload: it listens on loopback unless told otherwise.
 */

export { DEFAULT_CODEC_PORT };
const MAX_BODY_BYTES = 16 * 1024 * 1024;

const Base64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'must be base64');
const PayloadJson = z.object({
  metadata: z.record(z.string(), Base64).nullish(),
  data: Base64.nullish(),
});
const PayloadsJson = z.object({ payloads: z.array(PayloadJson).nullish() });
type PayloadJson = z.infer<typeof PayloadJson>;

export interface CodecServerOptions {
  codec: PayloadCodec;
  host?: string;
  /** 0 = any free port. */
  port?: number;
  /** Browser origins allowed to call it (the Temporal UI's), e.g. http://localhost:8233. */
  origins?: string[];
  /** Namespaces served (the `X-Namespace` header); empty = any. */
  namespaces?: string[];
  /** When set, requests must carry `Authorization: Bearer <token>`. */
  token?: string;
  /** One line per request: method, path, namespace, status, payload count. Never payload content. */
  log?: (line: string) => void;
}

export interface CodecServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function toPayload(p: PayloadJson): Payload {
  const metadata: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) metadata[k] = new Uint8Array(Buffer.from(v, 'base64'));
  return { metadata, data: new Uint8Array(Buffer.from(p.data ?? '', 'base64')) };
}

function fromPayload(p: Payload): { metadata: Record<string, string>; data: string } {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) if (v) metadata[k] = Buffer.from(v).toString('base64');
  return { metadata, data: Buffer.from(p.data ?? new Uint8Array(0)).toString('base64') };
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!m) return false;
  const given = Buffer.from(m[1]!.trim());
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpProblem(413, `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** `http://localhost:8233/` → `http://localhost:8233`; a bad origin is a usage error. */
export function normalizeOrigin(origin: string): string {
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    throw new Error(`origin ${JSON.stringify(origin)} is not a URL (e.g. http://localhost:8233)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`origin ${JSON.stringify(origin)} must be http or https`);
  return u.origin;
}

export async function startCodecServer(opts: CodecServerOptions): Promise<CodecServer> {
  const host = opts.host ?? '127.0.0.1';
  const origins = new Set((opts.origins ?? []).map(normalizeOrigin));
  const namespaces = new Set(opts.namespaces ?? []);
  const log = opts.log ?? (() => undefined);

  const corsHeaders = (req: IncomingMessage): Record<string, string> => {
    const origin = req.headers.origin;
    if (!origin || !origins.has(origin)) return { Vary: 'Origin' };
    return {
      'Access-Control-Allow-Origin': origin,
      'Access-Control-Allow-Credentials': 'true',
      'Access-Control-Allow-Methods': 'POST, OPTIONS',
      'Access-Control-Allow-Headers': 'Authorization, Content-Type, X-Namespace',
      'Access-Control-Max-Age': '600',
      Vary: 'Origin',
    };
  };

  const send = (req: IncomingMessage, res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { ...corsHeaders(req), 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)) });
    res.end(text);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<{ status: number; count?: number }> => {
    const path = new URL(req.url ?? '/', 'http://codec').pathname;
    const op = path.split('/').filter(Boolean).pop();
    if (req.method === 'OPTIONS') {
      // A preflight: answer only for the allowed origins, so other sites' pages cannot call /decode.
      const allowed = req.headers.origin !== undefined && origins.has(req.headers.origin);
      res.writeHead(allowed ? 204 : 403, corsHeaders(req));
      res.end();
      return { status: allowed ? 204 : 403 };
    }
    if (req.method === 'GET' && op === 'health') {
      send(req, res, 200, { ok: true });
      return { status: 200 };
    }
    if (op !== 'encode' && op !== 'decode') throw new HttpProblem(404, 'not found: POST …/encode or …/decode');
    if (req.method !== 'POST') throw new HttpProblem(405, `${req.method} not allowed: POST …/${op}`);
    const origin = req.headers.origin;
    if (origin && !origins.has(origin)) throw new HttpProblem(403, `origin ${origin} is not allowed (start the codec server with --origin ${origin})`);
    if (opts.token && !tokenMatches(req.headers.authorization, opts.token)) throw new HttpProblem(401, 'missing or wrong Authorization: Bearer token');
    const namespace = req.headers['x-namespace'];
    if (namespaces.size && (typeof namespace !== 'string' || !namespaces.has(namespace))) {
      throw new HttpProblem(403, `namespace ${JSON.stringify(namespace ?? '')} is not served here (X-Namespace; serving ${[...namespaces].join(', ')})`);
    }
    let json: unknown;
    try {
      json = JSON.parse(await readBody(req));
    } catch (err) {
      if (err instanceof HttpProblem) throw err;
      throw new HttpProblem(400, 'body is not JSON: expected {"payloads":[…]}');
    }
    const parsed = PayloadsJson.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new HttpProblem(400, `body is not Payloads JSON: ${issue.path.join('.') || 'body'} ${issue.message}`);
    }
    const payloads = (parsed.data.payloads ?? []).map(toPayload);
    let out: Payload[];
    try {
      out = op === 'encode' ? await opts.codec.encode(payloads) : await opts.codec.decode(payloads);
    } catch (err) {
      throw new HttpProblem(422, `cannot ${op}: ${(err as Error).message}`);
    }
    send(req, res, 200, { payloads: out.map(fromPayload) });
    return { status: 200, count: payloads.length };
  };

  const server = createServer((req, res) => {
    const namespace = req.headers['x-namespace'];
    handle(req, res).then(
      ({ status, count }) => log(`${req.method} ${req.url} ${status}${namespace ? ` namespace=${namespace}` : ''}${count !== undefined ? ` payloads=${count}` : ''}`),
      (err: unknown) => {
        const status = err instanceof HttpProblem ? err.status : 500;
        const message = err instanceof HttpProblem ? err.message : 'internal error';
        log(`${req.method} ${req.url} ${status}${namespace ? ` namespace=${namespace}` : ''}: ${message}`);
        if (!res.headersSent) send(req, res, status, { error: message });
        else res.destroy();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? DEFAULT_CODEC_PORT, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('codec server has no TCP address');
  const h = addr.family === 'IPv6' || addr.address.includes(':') ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${h}:${addr.port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
