import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback proxy in front of an S3-compatible server that injects the faults a real store shows under
 * load: 503 SlowDown answers and slow responses on part uploads (UploadPart), at configured rates, from a
 * seeded generator so a run can be repeated. Every request is forwarded byte for byte with its Host
 * header unchanged, so SigV4 signatures made for the proxy's address still verify at the server.
 *
 * It also keeps a ledger a test can check: requests per operation, the faults injected, and every object
 * completed (CompleteMultipartUpload or PutObject answered 2xx) by key, so "no object written twice for
 * the same item" is a count.
 */

export interface StoreFaultOptions {
  /** The real server, e.g. http://127.0.0.1:7070. */
  target: string;
  /** Share of UploadPart requests answered 503 SlowDown without reaching the server (0–1). */
  partServerErrorRate?: number;
  /** Share of UploadPart requests held before they are forwarded (0–1). */
  partSlowRate?: number;
  /** How long a slow part is held, in ms (uniform in [min, max]). */
  partSlowMs?: { min: number; max: number };
  /** Share of CompleteMultipartUpload and PutObject requests answered 503 (0–1; default 0). */
  writeServerErrorRate?: number;
  /**
   * Faults the first part uploads meet, in order, before the rates apply: a short run (the chaos run's ci
   * profile uploads a few dozen parts) then meets each kind for sure instead of by the seed's luck.
   */
  firstPartFaults?: Array<'serverError' | 'slow'>;
  seed?: number;
  port?: number;
}

export type StoreOperation =
  | 'UploadPart'
  | 'CreateMultipartUpload'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'ListMultipartUploads'
  | 'ListParts'
  | 'PutObject'
  | 'GetObject'
  | 'HeadObject'
  | 'DeleteObject'
  | 'ListObjects'
  | 'Other';

export interface StoreFaultLedger {
  requests: Partial<Record<StoreOperation, number>>;
  faults: { partServerError: number; partSlow: number; writeServerError: number };
  /** Keys of objects completed (2xx to CompleteMultipartUpload or PutObject), with how many times each. */
  completed: Record<string, number>;
}

export interface StoreFaultProxy {
  /** Point REELAY_S3_ENDPOINT here. */
  endpoint: string;
  ledger(): StoreFaultLedger;
  /** Change the rates while running (e.g. quiet during set-up). */
  configure(rates: Partial<Pick<StoreFaultOptions, 'partServerErrorRate' | 'partSlowRate' | 'partSlowMs' | 'writeServerErrorRate'>>): void;
  close(): Promise<void>;
}

/** mulberry32: small, seedable, good enough to spread faults (and to pick the chaos run's targets). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The S3 operation of a path-style request. */
export function storeOperation(method: string, url: URL): StoreOperation {
  const q = url.searchParams;
  const segments = url.pathname.split('/').filter(Boolean);
  const onObject = segments.length >= 2;
  if (method === 'PUT' && q.has('partNumber') && q.has('uploadId')) return 'UploadPart';
  if (method === 'POST' && q.has('uploads')) return 'CreateMultipartUpload';
  if (method === 'POST' && q.has('uploadId')) return 'CompleteMultipartUpload';
  if (method === 'DELETE' && q.has('uploadId')) return 'AbortMultipartUpload';
  if (method === 'GET' && q.has('uploads')) return 'ListMultipartUploads';
  if (method === 'GET' && q.has('uploadId')) return 'ListParts';
  if (method === 'PUT' && onObject && !q.has('tagging')) return 'PutObject';
  if (method === 'GET' && onObject) return 'GetObject';
  if (method === 'HEAD' && onObject) return 'HeadObject';
  if (method === 'DELETE' && onObject) return 'DeleteObject';
  if (method === 'GET' && !onObject) return 'ListObjects';
  return 'Other';
}

const SLOW_DOWN = (resource: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate (injected by the store fault proxy).</Message><Resource>${resource}</Resource><RequestId>reelay-fault</RequestId></Error>`;

/** Start the proxy on loopback (a free port unless `port`). */
export async function startStoreFaultProxy(opts: StoreFaultOptions): Promise<StoreFaultProxy> {
  const target = new URL(opts.target);
  const random = mulberry32(opts.seed ?? 1);
  const rates = {
    partServerErrorRate: opts.partServerErrorRate ?? 0,
    partSlowRate: opts.partSlowRate ?? 0,
    partSlowMs: opts.partSlowMs ?? { min: 200, max: 1500 },
    writeServerErrorRate: opts.writeServerErrorRate ?? 0,
  };
  const ledger: StoreFaultLedger = { requests: {}, faults: { partServerError: 0, partSlow: 0, writeServerError: 0 }, completed: {} };
  const opening = [...(opts.firstPartFaults ?? [])];

  const refuse = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => {
    // Read the body before answering, as a server does, so the client sees a clean 503 rather than a reset.
    req.resume();
    req.once('end', () => {
      const body = SLOW_DOWN(url.pathname);
      res.writeHead(503, { 'content-type': 'application/xml', 'content-length': String(Buffer.byteLength(body)), 'x-amz-request-id': 'reelay-fault' });
      res.end(body);
    });
  };

  const forward = (req: http.IncomingMessage, res: http.ServerResponse, url: URL, op: StoreOperation) => {
    const upstream = http.request(
      { host: target.hostname, port: target.port || 80, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        if ((op === 'CompleteMultipartUpload' || op === 'PutObject') && answer.statusCode! >= 200 && answer.statusCode! < 300) {
          // A CompleteMultipartUpload may answer 200 with an error in its body; S3 does for late failures.
          const chunks: Buffer[] = [];
          answer.on('data', (c: Buffer) => chunks.push(c));
          answer.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if (op === 'PutObject' || !/<Error>/.test(text)) {
              const key = decodeURIComponent(url.pathname.slice(1));
              ledger.completed[key] = (ledger.completed[key] ?? 0) + 1;
            }
          });
        }
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`store fault proxy: ${err.message}`);
    });
    req.pipe(upstream);
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const op = storeOperation(req.method ?? 'GET', url);
    ledger.requests[op] = (ledger.requests[op] ?? 0) + 1;
    if (op === 'UploadPart') {
      const scheduled = opening.shift();
      if (scheduled === 'serverError' || (!scheduled && random() < rates.partServerErrorRate)) {
        ledger.faults.partServerError++;
        return refuse(req, res, url);
      }
      if (scheduled === 'slow' || (!scheduled && random() < rates.partSlowRate)) {
        ledger.faults.partSlow++;
        const { min, max } = rates.partSlowMs;
        const hold = min + random() * (max - min);
        // The body waits in the socket while the part is held: what a slow store looks like to the writer.
        req.pause();
        setTimeout(() => forward(req, res, url, op), hold);
        return;
      }
    }
    if ((op === 'CompleteMultipartUpload' || op === 'PutObject') && random() < rates.writeServerErrorRate) {
      ledger.faults.writeServerError++;
      return refuse(req, res, url);
    }
    forward(req, res, url, op);
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    ledger: () => structuredClone(ledger),
    configure: (next) => Object.assign(rates, Object.fromEntries(Object.entries(next).filter(([, v]) => v !== undefined))),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
