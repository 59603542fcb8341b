import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * One HTTP server per worker process, on REELAY_METRICS_ADDR:
 * - `/metrics`: the Prometheus text of the SDK runtime's exporter, which carries the SDK's own metrics and
 *   Reelay's (recorded through the SDK's metric meter), fetched from its loopback port at each scrape;
 * - `/healthz`: 200 while the process is up;
 * - `/readyz`: 200 when every readiness check passes, else 503 with a JSON body naming the failed check.
 */

/** A readiness check: resolves to undefined when ready, else to why not (one line). */
export interface ReadinessCheck {
  name: string;
  check(signal: AbortSignal): Promise<string | undefined>;
}

export interface OpsServer {
  /** `host:port` it listens on (the port the OS chose when asked for 0). */
  address: string;
  close(): Promise<void>;
}

export const READINESS_TIMEOUT_MS = 2_000;

export interface Readiness {
  ready: boolean;
  /** The first failed check and its reason. */
  failed?: { check: string; reason: string };
  checks: Record<string, string>;
}

/** Run every check at once, each within READINESS_TIMEOUT_MS. */
export async function readiness(checks: readonly ReadinessCheck[]): Promise<Readiness> {
  const results = await Promise.all(
    checks.map(async (c) => {
      const signal = AbortSignal.timeout(READINESS_TIMEOUT_MS);
      const timedOut = new Promise<string>((resolve) => signal.addEventListener('abort', () => resolve(`no answer within ${READINESS_TIMEOUT_MS} ms`), { once: true }));
      const reason = await Promise.race([c.check(signal).catch((err: unknown) => (err instanceof Error ? err.message : String(err)) || 'failed'), timedOut]);
      return [c.name, reason] as const;
    }),
  );
  const failed = results.find(([, reason]) => reason !== undefined);
  return {
    ready: failed === undefined,
    ...(failed ? { failed: { check: failed[0], reason: failed[1]! } } : {}),
    checks: Object.fromEntries(results.map(([name, reason]) => [name, reason ?? 'ok'])),
  };
}

/** `host` and `port` of a `host:port` / `[v6]:port` address. */
export function splitAddress(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  return { host: addr.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(addr.slice(i + 1)) };
}

export async function startOpsServer(opts: {
  listen: string;
  /** `host:port` of the SDK runtime's Prometheus exporter; /metrics says so when there is none. */
  sdkExporter: string | undefined;
  checks: readonly ReadinessCheck[];
}): Promise<OpsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'method not allowed\n');
    if (path === '/healthz') return send(200, 'application/json', '{"status":"ok"}\n');
    if (path === '/readyz') {
      void readiness(opts.checks).then(
        (r) => send(r.ready ? 200 : 503, 'application/json', JSON.stringify({ status: r.ready ? 'ready' : 'not ready', ...r }) + '\n'),
        (err: unknown) => send(503, 'application/json', JSON.stringify({ status: 'not ready', failed: { check: 'readyz', reason: String(err) } }) + '\n'),
      );
      return;
    }
    if (path === '/metrics') {
      if (!opts.sdkExporter) return send(200, 'text/plain; version=0.0.4', '# The Temporal runtime of this process has no Prometheus exporter: no metrics.\n');
      void fetch(`http://${opts.sdkExporter}/metrics`, { signal: AbortSignal.timeout(5_000) })
        .then(async (r) => {
          if (!r.ok) throw new Error(`the SDK exporter answered ${r.status}`);
          send(200, r.headers.get('content-type') ?? 'text/plain; version=0.0.4', await r.text());
        })
        .catch((err: unknown) => send(503, 'text/plain', `metrics unavailable: ${(err as Error).message}\n`));
      return;
    }
    send(404, 'text/plain', 'not found: /metrics, /healthz, /readyz\n');
  });
  const { host, port } = splitAddress(opts.listen);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    address: `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

/**
 * `reelay worker --check`: GET /readyz of `addr` (a wildcard host is asked on loopback). Ready: undefined;
 * else the one-line reason.
 */
export async function checkReady(addr: string, timeoutMs = 5_000): Promise<string | undefined> {
  const { host, port } = splitAddress(addr);
  const target = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  const url = `http://${target}:${port}/readyz`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return `no answer from ${url}: ${cause ?? (err as Error).message}`;
  }
  if (res.status === 200) return undefined;
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as Partial<Readiness>;
    if (body.failed) return `not ready: ${body.failed.check}: ${body.failed.reason}`;
  } catch {
    // not ours
  }
  return `${url} answered ${res.status}`;
}
