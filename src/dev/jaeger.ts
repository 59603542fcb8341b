import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureGoTool, goToolCacheDir, type EnsuredGoTool } from './go-tool';
import { serverProcess } from './server-process';
import { freePort, portOpen } from './temporal';

/**
 * A real trace backend for the tests: Jaeger v2 (Apache-2.0; an OpenTelemetry Collector distribution
 * that receives OTLP and serves Jaeger's query API) with in-memory storage, built once from its Go module
 * into the cache directory, or any `jaeger` binary the user points at (`REELAY_JAEGER`, then PATH).
 * Nothing is downloaded at run time. The Go module is still versioned v1.x: v1.76.0 is Jaeger v2.13.
 */
export const JAEGER_VERSION = 'v1.76.0';

const JAEGER = {
  binary: 'jaeger',
  title: 'Jaeger',
  module: 'github.com/jaegertracing/jaeger/cmd/jaeger',
  // Its go.mod replaces github.com/Shopify/sarama, which `go install …@v1.76.0` refuses.
  moduleRoot: 'github.com/jaegertracing/jaeger',
  version: JAEGER_VERSION,
  cacheName: 'jaeger',
  envVar: 'REELAY_JAEGER',
} as const;

export function jaegerCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return goToolCacheDir(JAEGER, env);
}

export type EnsureJaegerResult = EnsuredGoTool<'REELAY_JAEGER'>;

/**
 * Find or build Jaeger: `REELAY_JAEGER`, then `jaeger` on PATH, then the cache, else a build from its Go
 * module (fetched through the Go module proxy) into the cache. A 121 MB binary; about 12.5 minutes once
 * on a busy 2-core machine (5 CPU-minutes), module download included.
 */
export function ensureJaeger(opts: { env?: NodeJS.ProcessEnv; log?: (line: string) => void } = {}): EnsureJaegerResult {
  return ensureGoTool(JAEGER, opts);
}

export interface JaegerServer {
  /** OTLP/HTTP receiver base: what OTEL_EXPORTER_OTLP_ENDPOINT is set to (spans go to `/v1/traces`). */
  otlpHttpEndpoint: string;
  /** The query service: `/api/services`, `/api/traces?service=…`, `/api/traces/<id>`. */
  queryUrl: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Jaeger's configuration (an OpenTelemetry Collector file): OTLP/HTTP in, memory store, query API; nothing else listens. */
function config(ports: { otlpHttp: number; queryHttp: number; queryGrpc: number }): string {
  return `service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:${ports.queryHttp}
    grpc:
      endpoint: 127.0.0.1:${ports.queryGrpc}
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${ports.otlpHttp}
processors:
  batch:
    timeout: 200ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`;
}

/** Start Jaeger on free loopback ports with in-memory storage; resolves once OTLP and the query API answer. */
export async function startJaeger(opts: { binary: string; logFile?: string }): Promise<JaegerServer> {
  const ports = { otlpHttp: await freePort(), queryHttp: await freePort(), queryGrpc: await freePort() };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reelay-jaeger-'));
  const configFile = path.join(dir, 'config.yaml');
  fs.writeFileSync(configFile, config(ports));
  const out = opts.logFile ? fs.openSync(opts.logFile, 'a') : 'ignore';
  const child = spawn(opts.binary, ['--config', configFile], { stdio: ['ignore', out, out], cwd: dir });
  if (typeof out === 'number') fs.closeSync(out);
  const server = serverProcess(child, () => fs.rmSync(dir, { recursive: true, force: true }));
  const stop = server.stop;

  const deadline = Date.now() + 30_000;
  while (!((await portOpen('127.0.0.1', ports.otlpHttp)) && (await portOpen('127.0.0.1', ports.queryHttp)))) {
    if (server.exitCode() !== null) {
      await stop();
      throw new Error(`jaeger exited with code ${server.exitCode()}${opts.logFile ? `; see ${opts.logFile}` : ''}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error('jaeger did not open its ports within 30s');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    otlpHttpEndpoint: `http://127.0.0.1:${ports.otlpHttp}`,
    queryUrl: `http://127.0.0.1:${ports.queryHttp}`,
    process: child,
    stop,
  };
}
