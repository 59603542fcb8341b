import { spawn, type ChildProcess } from 'node:child_process';
import { ensureDebianTool } from './debian';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { serverProcess } from './server-process';
import { freePort, portOpen } from './temporal';

/**
 * A real Prometheus server for the metrics test: any `prometheus` the user points at (`PROMETHEUS`), then
 * PATH, then /usr/bin/prometheus, else Debian's package installed once with apt-get (we run as root in
 * CI). The package's own service is kept from starting while it is installed (a policy-rc.d that denies
 * every start), so nothing runs that we did not start; the test starts its own server on loopback.
 */
export const PROMETHEUS_ENV = 'PROMETHEUS';

export interface EnsuredPrometheus {
  path: string;
  source: 'PROMETHEUS' | 'PATH' | 'debian' | 'installed';
  installSeconds?: number;
}

/**
 * Find Prometheus (PROMETHEUS, PATH, /usr/bin/prometheus), or install Debian's `prometheus` package
 * (apt-get update + install, without recommends: about 12 s cold here). Needs root and apt-get otherwise.
 */
export function ensurePrometheus(opts: { env?: NodeJS.ProcessEnv; log?: (line: string) => void } = {}): EnsuredPrometheus {
  const env = opts.env ?? process.env;
  const named = env[PROMETHEUS_ENV]?.trim();
  if (named) {
    if (!fs.existsSync(named)) throw new Error(`${PROMETHEUS_ENV}=${named}: no such file`);
    return { path: named, source: 'PROMETHEUS' };
  }
  return ensureDebianTool({ binary: 'prometheus', debianPackage: 'prometheus', env, log: opts.log, hint: `or point ${PROMETHEUS_ENV} at one` });
}

export interface PrometheusServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  process: ChildProcess;
  /** One instant query (`/api/v1/query`): each series' labels and value. */
  query(expr: string): Promise<Array<{ metric: Record<string, string>; value: number }>>;
  stop(): Promise<void>;
}

/**
 * Start Prometheus on loopback with its own config and TSDB in a temporary directory, scraping `targets`
 * (host:port, path /metrics) every `scrapeIntervalSeconds`. Resolves once it is ready (/-/ready).
 */
export async function startPrometheus(opts: { binary: string; targets: string[]; scrapeIntervalSeconds?: number; logFile?: string }): Promise<PrometheusServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reelay-prometheus-'));
  const interval = `${opts.scrapeIntervalSeconds ?? 1}s`;
  const config = [
    'global:',
    `  scrape_interval: ${interval}`,
    `  evaluation_interval: ${interval}`,
    'scrape_configs:',
    '  - job_name: reelay',
    `    scrape_interval: ${interval}`,
    `    scrape_timeout: ${interval}`,
    '    static_configs:',
    `      - targets: [${opts.targets.map((t) => JSON.stringify(t)).join(', ')}]`,
    '',
  ].join('\n');
  const configFile = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(configFile, config);
  const port = await freePort();
  const ip = '127.0.0.1';
  const url = `http://${ip}:${port}`;
  const out = fs.openSync(opts.logFile ?? path.join(dir, 'prometheus.log'), 'a');
  const child = spawn(
    opts.binary,
    [`--config.file=${configFile}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=${ip}:${port}`, '--log.level=warn'],
    { stdio: ['ignore', out, out] },
  );
  fs.closeSync(out);
  const server = serverProcess(child, () => fs.rmSync(dir, { recursive: true, force: true }));
  const stop = server.stop;

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (server.exitCode() !== null) {
      const log = fs.readFileSync(opts.logFile ?? path.join(dir, 'prometheus.log'), 'utf8').trim().split('\n').slice(-5).join('\n');
      await stop();
      throw new Error(`prometheus exited with code ${server.exitCode()}: ${log}`);
    }
    if (await portOpen(ip, port)) {
      const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
      if (ready) break;
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error('prometheus was not ready within 30s');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const query = async (expr: string) => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    if (body.status !== 'success' || !body.data) throw new Error(`prometheus query ${expr}: ${body.error ?? res.status}`);
    return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  };
  return { url, process: child, query, stop };
}
