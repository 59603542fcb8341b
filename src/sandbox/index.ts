import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { applyConfigPatch, defaultConfig, type DeepPartial, type GenerateIdVariant, type SandboxConfig, type SandboxProfile, type SandboxTimings } from './config';
import { createAistudio, type AistudioStats } from './aistudio';
import { createDublab } from './dublab';
import { FaultProfileError, createFaultEngine, type FaultProfile, type FaultProfileInput, type FaultStats, type LedgerEntry } from './faults';
import { Counters, HttpError, Router, createRequestListener, isLoopbackHost, readJsonBody, sendJson, type Interceptor, type ServiceName } from './http';
import { createLipdub } from './lipdub';
import { createText2video } from './text2video';
import { createVividflow, type VividflowStats } from './vividflow';
import type { ProviderDeps, ProviderService, RunningJob } from './provider';
import { ObjectStore, xmlError, type ServedObject } from './store';

export type { DeepPartial, SandboxConfig, SandboxProfile, SandboxTimings } from './config';
export { SANDBOX_PROFILES } from './config';
export type { Interceptor, RequestContext } from './http';
export type { ServedObject } from './store';
export type { FaultCounts, FaultKind, FaultProfile, FaultProfileInput, FaultRule, FaultSettings, FaultStats, LedgerEntry } from './faults';
export { FAULT_KINDS, FaultProfileError, FaultProfileSchema, parseFaultProfile } from './faults';
export type { AistudioStats } from './aistudio';
export type { VividflowStats } from './vividflow';
export type { RunningJob } from './provider';

export interface SandboxOptions {
  /** Loopback only; anything else is refused. */
  host?: string;
  ports?: { store?: number; lipdub?: number; dublab?: number; text2video?: number; vividflow?: number; aistudio?: number };
  /** Object store directory; by default a fresh temp directory removed on close(). */
  dataDir?: string;
  keys?: { lipdub?: string; dublab?: string; vividflow?: string; aistudio?: string };
  /** How the providers answer (config.ts): `faithful` (default) or `docs-minimal`. */
  profile?: SandboxProfile;
  timings?: DeepPartial<SandboxTimings>;
  urlTtlSeconds?: number;
  lipdub?: {
    generateIdVariant?: GenerateIdVariant;
    numericGenerateIds?: boolean | 'rotate';
    failShot?: boolean;
    failTraining?: boolean;
    failGenerateLanguages?: string[];
  };
  dublab?: { credits?: number; failLanguages?: string[]; supportedLanguages?: string[] };
  text2video?: { failTexts?: string[] };
  vividflow?: { hourlyLimit?: number; dailyLimit?: number; failPrompts?: string[]; extraKeys?: string[] };
  aistudio?: { tokens?: number; maxConcurrent?: number; failPrompts?: string[]; extraTokens?: string[] };
  /**
   * Skews the clocks the simulated services hand out timestamps by (created/updated times, the expiry of
   * signed URLs the store issues and checks): one offset for all, or one per service (`store` is the
   * object store). Durations (job timings) are unaffected. A worker and a provider never share a clock.
   */
  clockOffsetMs?: number | Partial<Record<RunningJob['provider'] | 'store', number>>;
  /** A fault profile for the run (see faults.ts and docs/fault-injection.md); none by default. */
  faults?: FaultProfileInput;
  log?: (line: string) => void;
}

/** Gauges for tests: what the simulated providers are running now and the most they ever ran at once. */
export interface SandboxStats {
  aistudio: AistudioStats;
  vividflow: VividflowStats;
  text2video: { jobs: number };
}

export interface Sandbox {
  urls: { store: string; lipdub: string; dublab: string; text2video: string; vividflow: string; aistudio: string };
  keys: { lipdub: string; dublab: string; vividflow: string; aistudio: string };
  env(): Record<string, string>;
  counters(): Record<string, number>;
  resetCounters(): void;
  configure(patch: DeepPartial<SandboxConfig>): void;
  /** The live config (a copy). */
  config(): SandboxConfig;
  served(): ServedObject[];
  /**
   * A signed URL of the object store, as a provider would hand it out (benchmarks and tests that talk to
   * the store directly). A PUT URL binds `contentType`; the TTL defaults to the configured `urlTtlSeconds`.
   */
  signedUrl(method: 'GET' | 'PUT', key: string, contentType: string, ttlSeconds?: number): string;
  /** Adds an interceptor every request of every service passes through (fault injection); returns its remover. */
  use(interceptor: Interceptor): () => void;
  /** Validates and installs a fault profile (a FaultProfileError names the bad field); resets the fault dice and stats. */
  setFaults(profile: FaultProfileInput): FaultProfile;
  /** The fault profile in force, defaults filled in. */
  faults(): FaultProfile;
  /** Faults injected since the profile was set, per kind, in total and per counter key. */
  faultStats(): FaultStats;
  /** Every billable create the providers performed, whether or not the answer reached the client. */
  ledger(): LedgerEntry[];
  /**
   * Jobs still running at each provider now: Vivid Flow queued/processing, AI Studio PENDING/RUNNING,
   * text2video queued/processing, LipDub shots being processed or trained and generations not finished,
   * DubLab dubs in queue or processing. `provider` narrows it to one.
   */
  running(provider?: RunningJob['provider']): RunningJob[];
  /** Simulates a text2video server restart: every job is forgotten (its id answers 404). */
  restartText2video(): void;
  stats(): SandboxStats;
  close(): Promise<void>;
}

const DEFAULT_KEYS = {
  lipdub: 'sandbox-lipdub-key',
  dublab: 'sandbox-dublab-key',
  vividflow: 'sandbox-vividflow-key',
  aistudio: 'sandbox-aistudio-token',
};

export { isLoopbackHost };

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const host = opts.host ?? '127.0.0.1';
  if (!isLoopbackHost(host)) throw new Error(`sandbox host must be a loopback address, got ${host}`);
  const log = opts.log ?? (() => undefined);
  // Validated first: a bad profile fails before any port is opened.
  const config = defaultConfig();
  const faults = createFaultEngine(opts.faults ?? {}, log, { htmlGatewayErrors: () => config.profile === 'docs-minimal' });

  applyConfigPatch(config, {
    ...(opts.profile !== undefined ? { profile: opts.profile } : {}),
    ...(opts.timings ? { timings: opts.timings } : {}),
    ...(opts.urlTtlSeconds !== undefined ? { urlTtlSeconds: opts.urlTtlSeconds } : {}),
    ...(opts.lipdub ? { lipdub: opts.lipdub } : {}),
    ...(opts.dublab ? { dublab: opts.dublab } : {}),
    ...(opts.text2video ? { text2video: opts.text2video } : {}),
    ...(opts.vividflow ? { vividflow: opts.vividflow } : {}),
    ...(opts.aistudio ? { aistudio: opts.aistudio } : {}),
  });

  const ownsDataDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? (await fsp.mkdtemp(path.join(os.tmpdir(), 'reelay-sandbox-')));
  await fsp.mkdir(dataDir, { recursive: true });
  const store = new ObjectStore(dataDir);
  await store.init();
  store.faultHooks = faults.store;
  const offsetOf = (service: RunningJob['provider'] | 'store'): number =>
    typeof opts.clockOffsetMs === 'number' ? opts.clockOffsetMs : (opts.clockOffsetMs?.[service] ?? 0);
  const clock = (service: RunningJob['provider'] | 'store'): (() => number) => {
    const offset = offsetOf(service);
    return offset ? () => Date.now() + offset : Date.now;
  };
  store.now = clock('store');

  const keys = {
    lipdub: opts.keys?.lipdub ?? DEFAULT_KEYS.lipdub,
    dublab: opts.keys?.dublab ?? DEFAULT_KEYS.dublab,
    vividflow: opts.keys?.vividflow ?? DEFAULT_KEYS.vividflow,
    aistudio: opts.keys?.aistudio ?? DEFAULT_KEYS.aistudio,
  };
  const counters = new Counters();
  // Fault injection comes first, so interceptors added with use() see what it lets through.
  const interceptors: Interceptor[] = [faults.interceptor];
  const inFlight = new Set<Promise<unknown>>();
  const track = <T>(work: Promise<T>): Promise<T> => {
    inFlight.add(work);
    const forget = () => inFlight.delete(work);
    work.then(forget, forget);
    return work;
  };
  const deps = (provider: RunningJob['provider'], apiKey: string): ProviderDeps => ({ store, config, apiKey, track, faults: faults.provider, now: clock(provider) });
  const text2video = createText2video(deps('text2video', ''));
  const vividflow = createVividflow(deps('vividflow', keys.vividflow));
  const aistudio = createAistudio(deps('aistudio', keys.aistudio));
  const lipdub = createLipdub(deps('lipdub', keys.lipdub));
  const dublab = createDublab(deps('dublab', keys.dublab));
  const running = (provider?: RunningJob['provider']): RunningJob[] =>
    [lipdub, dublab, text2video, vividflow, aistudio].flatMap((svc) => svc.running()).filter((j) => provider === undefined || j.provider === provider);
  const stats = (): SandboxStats => ({ aistudio: aistudio.stats(), vividflow: vividflow.stats(), text2video: text2video.stats() });

  const listener = (service: ServiceName, svc: Pick<ProviderService, 'router' | 'formatError'>, fallback?: Parameters<typeof createRequestListener>[0]['fallback']) =>
    createRequestListener({ service, router: svc.router, formatError: svc.formatError, fallback, counters, interceptors, log });

  const storeListener = listener(
    'store',
    {
      router: new Router(),
      formatError: (ctx, err) => {
        if (!ctx.path.startsWith('/o/')) return sendJson(ctx.res, err.status, { error: err.message });
        const body = xmlError(err.code ?? 'Error', err.message);
        ctx.res.writeHead(err.status, { 'content-type': 'application/xml', 'content-length': String(Buffer.byteLength(body)) });
        ctx.res.end(body);
      },
    },
    { counterKey: (method, p) => (p.startsWith('/o/') ? `store ${method}` : null), handler: (ctx) => store.handle(ctx) },
  );

  const adminRouter = new Router()
    .get('/_sandbox/health', (ctx) => sendJson(ctx.res, 200, { ok: true, urls: sandbox.urls }))
    .get('/_sandbox/counters', (ctx) => sendJson(ctx.res, 200, counters.snapshot()))
    .post('/_sandbox/reset-counters', (ctx) => {
      counters.reset();
      sendJson(ctx.res, 200, { ok: true });
    })
    .get('/_sandbox/config', (ctx) => sendJson(ctx.res, 200, config))
    .post('/_sandbox/config', async (ctx) => {
      const patch = await readJsonBody(ctx.req);
      try {
        applyConfigPatch(config, patch);
      } catch (err) {
        throw new HttpError(400, (err as Error).message);
      }
      sendJson(ctx.res, 200, config);
    })
    .get('/_sandbox/served', (ctx) => sendJson(ctx.res, 200, store.served()))
    .get('/_sandbox/stats', (ctx) => sendJson(ctx.res, 200, stats()))
    .get('/_sandbox/faults', (ctx) => sendJson(ctx.res, 200, faults.profile()))
    .post('/_sandbox/faults', async (ctx) => {
      const profile = await readAnyJson(ctx.req);
      try {
        sendJson(ctx.res, 200, faults.set(profile));
      } catch (err) {
        if (err instanceof FaultProfileError) throw new HttpError(400, err.message);
        throw err;
      }
    })
    .get('/_sandbox/fault-stats', (ctx) => sendJson(ctx.res, 200, faults.stats()))
    .get('/_sandbox/ledger', (ctx) => sendJson(ctx.res, 200, faults.ledger()))
    .get('/_sandbox/running', (ctx) => sendJson(ctx.res, 200, running()))
    .post('/_sandbox/text2video/restart', (ctx) => {
      text2video.restart();
      sendJson(ctx.res, 200, { ok: true });
    });
  // Admin calls are not counted: counters describe what clients did to the providers.
  const adminListener = createRequestListener({
    service: 'admin',
    router: adminRouter,
    formatError: (ctx, err) => sendJson(ctx.res, err.status, { error: err.message }),
    counters: null,
    interceptors: [],
    log,
  });

  const servers: Server[] = [];
  const serve = async (handler: (req: IncomingMessage, res: ServerResponse) => void, port: number): Promise<string> => {
    const server = createServer(handler);
    // Multi-gigabyte uploads may take longer than Node's default 5-minute request timeout.
    server.requestTimeout = 0;
    servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('sandbox server has no TCP address');
    const h = addr.family === 'IPv6' || addr.address.includes(':') ? `[${addr.address}]` : addr.address;
    return `http://${h}:${addr.port}`;
  };

  let sandbox!: Sandbox;
  try {
    const storeUrl = await serve((req, res) => {
      if ((req.url ?? '').startsWith('/_sandbox/')) adminListener(req, res);
      else storeListener(req, res);
    }, opts.ports?.store ?? 0);
    store.baseUrl = storeUrl;
    const lipdubUrl = await serve(listener('lipdub', lipdub), opts.ports?.lipdub ?? 0);
    const dublabUrl = await serve(listener('dublab', dublab), opts.ports?.dublab ?? 0);
    const text2videoUrl = await serve(listener('text2video', text2video), opts.ports?.text2video ?? 0);
    const vividflowUrl = await serve(listener('vividflow', vividflow), opts.ports?.vividflow ?? 0);
    const aistudioUrl = await serve(listener('aistudio', aistudio), opts.ports?.aistudio ?? 0);
    const urls = {
      store: storeUrl,
      lipdub: `${lipdubUrl}/v1`,
      dublab: `${dublabUrl}/api/v1`,
      text2video: `${text2videoUrl}/api/v1`,
      vividflow: `${vividflowUrl}/api/v1`,
      aistudio: `${aistudioUrl}/api/v1`,
    };

    let closed: Promise<void> | null = null;
    sandbox = {
      urls,
      keys,
      env: () => ({
        LIPDUB_BASE_URL: urls.lipdub,
        LIPDUB_API_KEY: keys.lipdub,
        DUBLAB_BASE_URL: urls.dublab,
        DUBLAB_API_KEY: keys.dublab,
        TEXT2VIDEO_BASE_URL: urls.text2video,
        VIVIDFLOW_BASE_URL: urls.vividflow,
        VIVIDFLOW_API_KEY: keys.vividflow,
        AISTUDIO_BASE_URL: urls.aistudio,
        AISTUDIO_TOKEN: keys.aistudio,
      }),
      counters: () => counters.snapshot(),
      resetCounters: () => counters.reset(),
      configure: (patch) => applyConfigPatch(config, patch),
      config: () => structuredClone(config),
      served: () => store.served(),
      signedUrl: (method, key, contentType, ttlSeconds) => store.signedUrl(method, key, contentType, ttlSeconds ?? config.urlTtlSeconds),
      use: (interceptor) => {
        interceptors.push(interceptor);
        return () => {
          const i = interceptors.indexOf(interceptor);
          if (i >= 0) interceptors.splice(i, 1);
        };
      },
      setFaults: (profile) => faults.set(profile),
      faults: () => faults.profile(),
      faultStats: () => faults.stats(),
      ledger: () => faults.ledger(),
      running,
      restartText2video: () => text2video.restart(),
      stats,
      close: () => (closed ??= shutdown()),
    };
  } catch (err) {
    await shutdown();
    throw err;
  }
  return sandbox;

  async function shutdown(): Promise<void> {
    await Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
          }),
      ),
    );
    await Promise.allSettled([...inFlight]);
    if (ownsDataDir) await fsp.rm(dataDir, { recursive: true, force: true });
  }
}

/** A JSON body whatever its Content-Type (an admin POST without the header must not read as `{}`). */
async function readAnyJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new HttpError(400, 'a JSON body is required');
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'Malformed JSON body');
  }
}

export function formatSandboxBanner(sb: Sandbox): string {
  const env = sb.env();
  return [
    'Reelay sandbox (loopback only)',
    `  object store  ${sb.urls.store}`,
    `  lipdub        ${sb.urls.lipdub}   x-api-key: ${sb.keys.lipdub}`,
    `  dublab        ${sb.urls.dublab}   apikey: ${sb.keys.dublab}`,
    `  text2video    ${sb.urls.text2video}   (no auth)`,
    `  vividflow     ${sb.urls.vividflow}   X-API-Key: ${sb.keys.vividflow}`,
    `  aistudio      ${sb.urls.aistudio}   Authorization: Bearer ${sb.keys.aistudio}`,
    `  admin         ${sb.urls.store}/_sandbox/{health,counters,reset-counters,config,served,stats,faults,fault-stats,ledger,running,text2video/restart}`,
    '',
    'Point Reelay at it:',
    ...Object.entries(env).map(([k, v]) => `  export ${k}=${v}`),
    '',
  ].join('\n');
}
