import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { REELAY_SEARCH_ATTRIBUTES } from '../contract/search-attributes';
import { ensureGoTool, goToolCacheDir, type EnsuredGoTool } from './go-tool';

/**
 * The Temporal CLI version we build when no `temporal` binary is at hand. Later tags carry a `replace`
 * directive in their go.mod that `go install pkg@version` refuses, so this one is pinned on purpose.
 */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';

const TEMPORAL_CLI = {
  binary: 'temporal',
  title: 'the Temporal CLI',
  module: TEMPORAL_CLI_MODULE,
  version: TEMPORAL_CLI_VERSION,
  cacheName: 'temporal-cli',
  envVar: 'TEMPORAL_CLI',
} as const;

export function temporalCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return goToolCacheDir(TEMPORAL_CLI, env);
}

export type EnsureResult = EnsuredGoTool<'TEMPORAL_CLI'>;

/**
 * Find or build the `temporal` CLI without downloading anything at run time: `TEMPORAL_CLI`, then a
 * `temporal` on PATH, then our cache, else `go install` from the Go module proxy into the cache.
 */
export function ensureTemporalCli(opts: { env?: NodeJS.ProcessEnv; log?: (line: string) => void } = {}): EnsureResult {
  return ensureGoTool(TEMPORAL_CLI, opts);
}

/** `ReelayProvider=Keyword`-style flags for `temporal server start-dev`. */
export function searchAttributeFlags(): string[] {
  const typeName: Record<string, string> = { KEYWORD: 'Keyword', KEYWORD_LIST: 'KeywordList', TEXT: 'Text', INT: 'Int', BOOL: 'Bool', DOUBLE: 'Double', DATETIME: 'Datetime' };
  return REELAY_SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=${typeName[key.type]}`]);
}

/**
 * The dev server's SQLite file in WAL mode, synced at checkpoints rather than at every commit. SQLite's
 * default (a rollback journal, fsync on every commit) made the disk the bottleneck: 3.5–5 no-op
 * workflows/s and ~140 ms of server CPU each on a 2-core machine, against 11–12/s and ~65 ms with these
 * (scripts/bench 'throughput'). A commit still survives the server being killed (SIGKILL, a restart);
 * only an OS crash or power loss may lose the last ones, which a local dev server can afford.
 */
export const DEV_SERVER_SQLITE_PRAGMAS = ['journal_mode=wal', 'synchronous=normal'];

/**
 * Dynamic config for the dev server. `system.enableActivityEagerExecution` lets the server hand an
 * activity scheduled by a workflow task straight back to the worker that completed that task (the
 * SDK asks for it when it has a free slot), instead of through a task queue: on this dev server a
 * task-queue dispatch costs ~35 ms, which was most of a pipeline's overhead over a plain script
 * (scripts/bench 'overhead'; docs/performance.md). Only activities on the workflow's own task queue
 * are eager, so the rate-limited provider queues still go through the server's limiter. A production
 * server needs the same setting to get the same latency (it is off by default in Temporal's server).
 */
export const DEV_SERVER_DYNAMIC_CONFIG: Record<string, string | number | boolean> = {
  'system.enableActivityEagerExecution': true,
  // Worker Deployments (REELAY_DEPLOYMENT_NAME / REELAY_BUILD_ID): set explicitly, as a production server needs them.
  'system.enableDeploymentVersions': true,
  'frontend.workerVersioningWorkflowAPIs': true,
};

/** `--dynamic-config-value key=value` flags for `temporal server start-dev`. */
export function dynamicConfigFlags(config: Record<string, string | number | boolean> = DEV_SERVER_DYNAMIC_CONFIG): string[] {
  return Object.entries(config).flatMap(([key, value]) => ['--dynamic-config-value', `${key}=${JSON.stringify(value)}`]);
}

export interface DevServerOptions {
  cliPath: string;
  dbFile: string;
  ip?: string;
  port?: number;
  uiPort?: number;
  namespace?: string;
  logFile?: string;
  /** A remote codec endpoint the UI decodes payloads through (`--ui-codec-endpoint`). */
  uiCodecEndpoint?: string;
}

export interface DevServer {
  address: string;
  uiUrl: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A port on 127.0.0.1 that nothing listens on right now (the OS picks it). */
export { freePort } from '../ops/ports';

/** Start `temporal server start-dev` persisted to a SQLite file; resolves once its frontend port answers. */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const ip = opts.ip ?? '127.0.0.1';
  const port = opts.port ?? 7233;
  const uiPort = opts.uiPort ?? 8233;
  if (await portOpen(ip, port)) {
    throw new Error(`Something already listens on ${ip}:${port}; set TEMPORAL_ADDRESS to use it, or stop it`);
  }
  fs.mkdirSync(path.dirname(opts.dbFile), { recursive: true });
  const args = [
    'server', 'start-dev',
    '--db-filename', opts.dbFile,
    '--ip', ip,
    '--port', String(port),
    '--ui-port', String(uiPort),
    '--namespace', opts.namespace ?? 'default',
    '--log-level', 'warn',
    ...DEV_SERVER_SQLITE_PRAGMAS.flatMap((p) => ['--sqlite-pragma', p]),
    ...dynamicConfigFlags(),
    ...(opts.uiCodecEndpoint ? ['--ui-codec-endpoint', opts.uiCodecEndpoint] : []),
    ...searchAttributeFlags(),
  ];
  const out = opts.logFile ? fs.openSync(opts.logFile, 'a') : 'ignore';
  const child = spawn(opts.cliPath, args, { stdio: ['ignore', out, out] });
  let exited: number | null = null;
  child.once('exit', (code) => {
    exited = code ?? -1;
  });
  const deadline = Date.now() + 60_000;
  while (!(await portOpen(ip, port))) {
    if (exited !== null) throw new Error(`temporal server start-dev exited with code ${exited}${opts.logFile ? `; see ${opts.logFile}` : ''}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('temporal server start-dev did not open its port within 60s');
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    address: `${ip}:${port}`,
    uiUrl: `http://localhost:${uiPort}`,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      }),
  };
}
