import path from 'node:path';
import type { ReelayWorker } from '../workers/worker';
import { DEFAULT_CODEC_PORT } from '../codec/defaults';
import { loadConfig, type ReelayConfig } from '../config';
import type { DeepPartial, Sandbox, SandboxProfile, SandboxTimings } from '../sandbox';
import { CliError } from './args';

/**
 * The local stack `reelay dev` and the demo run in one process: a Temporal dev server (started, or
 * reused when one already answers on TEMPORAL_ADDRESS), the sandbox providers on fixed ports, and a
 * worker pointed at the sandbox. `stop()` takes them down in the reverse order.
 */

export const SPEEDS = ['realistic', 'fast', 'instant'] as const;
export type Speed = (typeof SPEEDS)[number];

/** Sandbox timings per speed. `realistic` is still far quicker than the real providers (minutes). */
export const SPEED_TIMINGS: Record<Speed, DeepPartial<SandboxTimings>> = {
  realistic: {
    lipdub: { shotMs: 20_000, trainingMs: 30_000, generateQueueMs: 5_000, generateMs: 40_000 },
    dublab: { queueMs: 5_000, processMs: 45_000 },
    text2video: { queueMs: 5_000, stageMs: 8_000 },
    vividflow: { processMs: 45_000, workers: 1 },
    aistudio: { pendingMs: 5_000, runMs: 40_000 },
  },
  fast: {
    lipdub: { shotMs: 2_000, trainingMs: 2_000, generateQueueMs: 1_000, generateMs: 3_000 },
    dublab: { queueMs: 1_000, processMs: 3_000 },
    text2video: { queueMs: 500, stageMs: 500 },
    vividflow: { processMs: 3_000, workers: 2 },
    aistudio: { pendingMs: 1_000, runMs: 3_000 },
  },
  instant: {
    lipdub: { shotMs: 50, trainingMs: 50, generateQueueMs: 20, generateMs: 50 },
    dublab: { queueMs: 20, processMs: 50 },
    text2video: { queueMs: 20, stageMs: 10 },
    vividflow: { processMs: 50, workers: 4 },
    aistudio: { pendingMs: 20, runMs: 50 },
  },
};

export const DEFAULT_PORT_BASE = 7300;
const DEV_UI_PORT = 8233;

export interface TemporalEndpoint {
  address: string;
  uiUrl: string;
  namespace: string;
  /** True when a server was already listening and we only connected to it. */
  reused: boolean;
  cli?: { path: string; source: string; buildSeconds?: number };
  stop(): Promise<void>;
}

function splitAddress(address: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address);
  if (!m) throw new CliError(`TEMPORAL_ADDRESS must be host:port, got "${address}"`, 2);
  return { host: m[1]!, port: Number(m[2]) };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/**
 * A Temporal server to talk to: reuse whatever answers on TEMPORAL_ADDRESS (registering our search
 * attributes if they are missing), otherwise build/find the CLI and start a dev server persisted to
 * `<stateDir>/temporal.db` with its UI on :8233.
 */
export async function ensureTemporalServer(
  log: (line: string) => void,
  config: ReelayConfig,
  opts: { uiCodecEndpoint?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<TemporalEndpoint> {
  const { ensureTemporalCli, portOpen, startDevServer } = await import('../dev/temporal');
  const env = opts.env ?? process.env;
  const settings = config.temporal;
  const { host, port } = splitAddress(settings.address);
  if (await portOpen(host, port)) {
    log(`Temporal: reusing the server already listening on ${settings.address} (UI assumed at ${settings.uiUrl}).`);
    if (opts.uiCodecEndpoint) log(`Temporal UI: we did not start it, so point it at the codec server yourself (UI → Codec Server: ${opts.uiCodecEndpoint}).`);
    await ensureSearchAttributes(log, config);
    return { address: settings.address, uiUrl: settings.uiUrl, namespace: settings.namespace, reused: true, stop: async () => undefined };
  }
  if (!isLoopback(host)) throw new CliError(`cannot reach Temporal at ${settings.address}, and it is not a local address to start a dev server on`);

  const started = Date.now();
  const cli = ensureTemporalCli({ env, log });
  const how =
    cli.source === 'built'
      ? `built from its Go module in ${cli.buildSeconds}s (cached for next time)`
      : cli.source === 'cache'
        ? 'found in the cache (built earlier)'
        : `from ${cli.source}`;
  log(`Temporal CLI: ${cli.path} — ${how}.`);
  const dbFile = path.join(config.stateDir, 'temporal.db');
  const logFile = path.join(config.stateDir, 'temporal.log');
  const server = await startDevServer({
    cliPath: cli.path,
    dbFile,
    ip: host,
    port,
    uiPort: DEV_UI_PORT,
    namespace: settings.namespace,
    logFile,
    uiCodecEndpoint: opts.uiCodecEndpoint,
  });
  log(`Temporal: dev server on ${server.address} (persisted to ${path.relative(process.cwd(), dbFile) || dbFile}), UI ${server.uiUrl}, ready in ${((Date.now() - started) / 1000).toFixed(1)}s.`);
  return { address: server.address, uiUrl: server.uiUrl, namespace: settings.namespace, reused: false, cli, stop: () => server.stop() };
}

/** A server we did not start may not know our search attributes; the pipelines set them on start. */
async function ensureSearchAttributes(log: (line: string) => void, config: ReelayConfig): Promise<void> {
  const { connectClient } = await import('../client');
  const { REELAY_SEARCH_ATTRIBUTES } = await import('../contract/search-attributes');
  // temporal.api.enums.v1.IndexedValueType
  const INDEXED: Record<string, number> = { TEXT: 1, KEYWORD: 2, INT: 3, DOUBLE: 4, BOOL: 5, DATETIME: 6, KEYWORD_LIST: 7 };
  let client: Awaited<ReturnType<typeof connectClient>> | undefined;
  try {
    client = await connectClient(config);
    const namespace = client.options.namespace;
    const existing = await client.connection.operatorService.listSearchAttributes({ namespace });
    const have = { ...(existing.customAttributes ?? {}), ...(existing.systemAttributes ?? {}) };
    const missing = REELAY_SEARCH_ATTRIBUTES.filter((k) => !(k.name in have));
    if (missing.length) {
      await client.connection.operatorService.addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(missing.map((k) => [k.name, INDEXED[k.type]!])),
      });
      log(`Temporal: registered search attributes ${missing.map((k) => k.name).join(', ')}.`);
    }
  } catch (err) {
    log(`Temporal: could not check the Reelay search attributes (${(err as Error).message}); starting pipelines may fail.`);
  } finally {
    await client?.connection.close().catch(() => undefined);
  }
}

/** Port offsets from the port base: object store, LipDub, DubLab, text2video, Vivid Flow, AI Studio. */
export const SANDBOX_PORT_OFFSETS = { store: 0, lipdub: 1, dublab: 2, text2video: 3, vividflow: 4, aistudio: 5 } as const;
export const SANDBOX_PORT_COUNT = Object.keys(SANDBOX_PORT_OFFSETS).length;

export function sandboxPorts(portBase: number): Record<keyof typeof SANDBOX_PORT_OFFSETS, number> {
  return Object.fromEntries(Object.entries(SANDBOX_PORT_OFFSETS).map(([k, off]) => [k, portBase + off])) as Record<keyof typeof SANDBOX_PORT_OFFSETS, number>;
}

/** The sandbox on `portBase` … `portBase`+5 (see SANDBOX_PORT_OFFSETS), with a clear message when a port is taken. */
export async function startSandboxOnPorts(
  portBase: number,
  timings: DeepPartial<SandboxTimings>,
  opts: { fallbackToFreePorts?: boolean; log?: (line: string) => void; profile?: SandboxProfile } = {},
): Promise<Sandbox> {
  const { startSandbox } = await import('../sandbox');
  const profile = opts.profile ?? 'faithful';
  const last = portBase + SANDBOX_PORT_COUNT - 1;
  if (last > 65_535) throw new CliError(`--port-base: the sandbox needs ${SANDBOX_PORT_COUNT} ports from ${portBase}, past 65535`, 2);
  try {
    return await startSandbox({ ports: sandboxPorts(portBase), timings, profile });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    if (opts.fallbackToFreePorts) {
      opts.log?.(`Sandbox: ports ${portBase}–${last} are taken; using free ports instead.`);
      return startSandbox({ timings, profile });
    }
    throw new CliError(`sandbox port ${(err as { port?: number }).port ?? `${portBase}–${last}`} is in use (another \`reelay dev\` or sandbox?); pick others with --port-base`);
  }
}

/** One line naming every sandbox endpoint. */
export function sandboxSummary(sandbox: Sandbox): string {
  const u = sandbox.urls;
  return `LipDub ${u.lipdub}, DubLab ${u.dublab}, text2video ${u.text2video}, Vivid Flow ${u.vividflow}, AI Studio ${u.aistudio}, object store ${u.store}`;
}

export interface RunningWorker {
  worker: ReelayWorker;
  taskQueue: string;
  outputRoot: string;
  /** Settles when the worker stops; rejects if it fails. */
  done: Promise<void>;
  stop(): Promise<void>;
}

/**
 * A Reelay worker in this process, with the configuration loaded at start, or (with `providerEnv`, the
 * sandbox's URLs and keys) one read from the environment with those on top.
 */
export async function startWorker(opts: {
  taskQueue: string;
  outputRoot: string;
  config?: ReelayConfig;
  providerEnv?: Record<string, string>;
  env?: NodeJS.ProcessEnv;
}): Promise<RunningWorker> {
  const { connectWorkerConnection, createReelayWorker } = await import('../workers/worker');
  // Against the sandbox (providerEnv), pace Vivid Flow at 5 requests/s rather than its documented
  // 2000/day (one every 43 s), unless the caller chose a pace. A real worker keeps the documented pace.
  // Webhooks may go to receivers on this machine, unless the caller says otherwise.
  const sandboxPace = opts.providerEnv ? { REELAY_VIVIDFLOW_REQUESTS_PER_SECOND: '5', REELAY_WEBHOOK_ALLOW_PRIVATE: 'true' } : {};
  const config = opts.config && !opts.providerEnv ? opts.config : loadConfig({ ...sandboxPace, ...(opts.env ?? process.env), ...(opts.providerEnv ?? {}) });
  const connection = await connectWorkerConnection(config);
  const worker = await createReelayWorker({ connection, taskQueue: opts.taskQueue, outputRoot: opts.outputRoot, config });
  const done = worker.run().finally(() => connection.close().catch(() => undefined));
  // A failure surfaces through `done`; keep it from being reported as unhandled before anyone awaits it.
  done.catch(() => undefined);
  let stopping: Promise<void> | undefined;
  return {
    worker,
    taskQueue: opts.taskQueue,
    outputRoot: opts.outputRoot,
    done,
    stop: () =>
      (stopping ??= (async () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await done.catch(() => undefined);
      })()),
  };
}

export interface LocalStack {
  temporal: TemporalEndpoint;
  sandbox: Sandbox;
  worker: RunningWorker;
  /** The codec server the UI decodes payloads through, when payload encryption is on. */
  codec?: { url: string; keyId: string };
  /** The monitor dashboard on loopback (src/dashboard), when asked for. */
  dashboard?: { url: string };
  stop(): Promise<void>;
}

/**
 * The dashboard on loopback for the local stack, on `port` or, when that is taken and the caller allows
 * it, any free port. Its client is the same kind the CLI builds (same data converter).
 */
async function startStackDashboard(config: ReelayConfig, opts: { port: number; fallbackToFreePorts?: boolean; log: (line: string) => void }) {
  const { connectClient } = await import('../client');
  const { startDashboard } = await import('../dashboard/server');
  const client = await connectClient(config);
  const start = (port: number) => startDashboard({ client, storage: config.storage, host: '127.0.0.1', port, taskQueue: config.taskQueue, log: opts.log });
  try {
    let dashboard;
    try {
      dashboard = await start(opts.port);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || !opts.fallbackToFreePorts) throw err;
      opts.log(`Dashboard: port ${opts.port} is taken; using a free one.`);
      dashboard = await start(0);
    }
    const d = dashboard;
    return { url: d.url, close: async () => (await d.close(), await client.connection.close().catch(() => undefined)) };
  } catch (err) {
    await client.connection.close().catch(() => undefined);
    throw err;
  }
}

/**
 * With payload encryption on (REELAY_PAYLOAD_KEY), a codec server on loopback for the dev UI (origin
 * :8233), so the person running the stack, who holds the key, sees decoded payloads.
 */
async function startStackCodecServer(
  config: ReelayConfig,
  opts: { port: number; fallbackToFreePorts?: boolean; log: (line: string) => void },
): Promise<{ url: string; keyId: string; close(): Promise<void> } | undefined> {
  const { AesGcmPayloadCodec } = await import('../codec');
  const codec = new AesGcmPayloadCodec(config.payloadKeys);
  if (!codec.encrypting) return undefined;
  const { startCodecServer } = await import('../codec/server');
  const ui = new URL(config.temporal.uiUrl);
  const uiPort = ui.port || String(DEV_UI_PORT);
  const origins = [...new Set([ui.origin, `http://localhost:${uiPort}`, `http://127.0.0.1:${uiPort}`])];
  const start = (port: number) => startCodecServer({ codec, port, origins, token: config.codecToken });
  let server;
  try {
    server = await start(opts.port);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    if (!opts.fallbackToFreePorts) throw new CliError(`codec server port ${opts.port} is in use (another \`reelay dev\` or codec-server?)`);
    server = await start(0);
  }
  opts.log(`Codec server: ${server.url} (payloads encrypted with key id ${codec.keyId}; the Temporal UI decodes through it).`);
  return { url: server.url, keyId: codec.keyId!, close: () => server.close() };
}

export async function startLocalStack(opts: {
  /** The configuration loaded at start (default: read from the environment now). */
  config?: ReelayConfig;
  portBase: number;
  timings: DeepPartial<SandboxTimings>;
  taskQueue: string;
  outputRoot: string;
  log: (line: string) => void;
  fallbackToFreePorts?: boolean;
  codecPort?: number;
  /** Serve the dashboard on loopback at this port (`reelay dev`, the demo). */
  dashboardPort?: number;
}): Promise<LocalStack> {
  const config = opts.config ?? loadConfig(process.env);
  const codec = await startStackCodecServer(config, { port: opts.codecPort ?? DEFAULT_CODEC_PORT, fallbackToFreePorts: opts.fallbackToFreePorts, log: opts.log });
  let temporal: TemporalEndpoint;
  try {
    temporal = await ensureTemporalServer(opts.log, config, { uiCodecEndpoint: codec?.url });
  } catch (err) {
    await codec?.close();
    throw err;
  }
  // The worker and every client in this process must talk to the server we found or started.
  process.env.TEMPORAL_ADDRESS = temporal.address;
  let sandbox: Sandbox | undefined;
  try {
    sandbox = await startSandboxOnPorts(opts.portBase, opts.timings, { fallbackToFreePorts: opts.fallbackToFreePorts, log: opts.log });
    opts.log(`Sandbox: ${sandboxSummary(sandbox)}.`);
    const t0 = Date.now();
    const worker = await startWorker({ taskQueue: opts.taskQueue, outputRoot: opts.outputRoot, providerEnv: sandbox.env() });
    opts.log(`Worker: task queue "${opts.taskQueue}", outputs to ${opts.outputRoot} (ready in ${((Date.now() - t0) / 1000).toFixed(1)}s).`);
    let dashboard: Awaited<ReturnType<typeof startStackDashboard>> | undefined;
    if (opts.dashboardPort !== undefined) {
      try {
        dashboard = await startStackDashboard({ ...config, taskQueue: opts.taskQueue, storage: { ...config.storage, output: config.storage.output.kind === 'local' ? { kind: 'local', path: opts.outputRoot } : config.storage.output } }, {
          port: opts.dashboardPort,
          // Only a page on loopback: when its port is taken, any free one does (the URL is printed).
          fallbackToFreePorts: true,
          log: opts.log,
        });
      } catch (err) {
        await worker.stop();
        throw err;
      }
    }
    const sb = sandbox;
    let stopping: Promise<void> | undefined;
    return {
      temporal,
      sandbox: sb,
      worker,
      ...(codec ? { codec: { url: codec.url, keyId: codec.keyId } } : {}),
      ...(dashboard ? { dashboard: { url: dashboard.url } } : {}),
      stop: () =>
        (stopping ??= (async () => {
          await dashboard?.close();
          await worker.stop();
          await sb.close();
          await temporal.stop();
          await codec?.close();
        })()),
    };
  } catch (err) {
    await sandbox?.close();
    await temporal.stop();
    await codec?.close();
    throw err;
  }
}
