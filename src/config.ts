import fs from 'node:fs';
import path from 'node:path';

/** Read `.env` from the working directory once, without overriding what the environment already says. */
let envLoaded = false;
export function loadDotEnv(file = path.resolve(process.cwd(), '.env')): void {
  if (envLoaded) return;
  envLoaded = true;
  if (fs.existsSync(file)) process.loadEnvFile(file);
}

export const DEFAULT_TASK_QUEUE = 'reelay';

export function taskQueue(env: NodeJS.ProcessEnv = process.env): string {
  return env.REELAY_TASK_QUEUE || DEFAULT_TASK_QUEUE;
}

export function outputDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.REELAY_OUTPUT_DIR || 'output');
}

/** Project-local state (dev server SQLite file, demo logs). */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.REELAY_STATE_DIR || '.reelay');
}

export interface TemporalSettings {
  address: string;
  namespace: string;
  apiKey?: string;
  tls?: { serverName?: string; serverRootCACertificate?: Buffer; clientCertPair?: { crt: Buffer; key: Buffer } } | true;
  uiUrl: string;
}

/** Temporal connection settings from the standard variables; the dev server on loopback by default. */
export function temporalSettings(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  const address = env.TEMPORAL_ADDRESS || '127.0.0.1:7233';
  const namespace = env.TEMPORAL_NAMESPACE || 'default';
  const apiKey = env.TEMPORAL_API_KEY || undefined;
  const certPath = env.TEMPORAL_TLS_CLIENT_CERT_PATH;
  const keyPath = env.TEMPORAL_TLS_CLIENT_KEY_PATH;
  const caPath = env.TEMPORAL_TLS_SERVER_CA_CERT_PATH;
  const serverName = env.TEMPORAL_TLS_SERVER_NAME;
  let tls: TemporalSettings['tls'];
  if (certPath || keyPath || caPath || serverName) {
    if (Boolean(certPath) !== Boolean(keyPath)) {
      throw new Error('TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH must be set together');
    }
    tls = {
      serverName,
      serverRootCACertificate: caPath ? fs.readFileSync(caPath) : undefined,
      clientCertPair: certPath && keyPath ? { crt: fs.readFileSync(certPath), key: fs.readFileSync(keyPath) } : undefined,
    };
  } else if (apiKey || env.TEMPORAL_TLS === 'true') {
    tls = true;
  }
  const uiUrl = (env.REELAY_TEMPORAL_UI_URL || 'http://localhost:8233').replace(/\/$/, '');
  return { address, namespace, apiKey, tls, uiUrl };
}

export function workflowUiLink(settings: Pick<TemporalSettings, 'uiUrl' | 'namespace'>, workflowId: string, runId?: string): string {
  const base = `${settings.uiUrl}/namespaces/${encodeURIComponent(settings.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${encodeURIComponent(runId)}/history` : base;
}

/**
 * How many jobs of a provider may be in flight at once on a task queue, across every worker and batch
 * (`REELAY_<PROVIDER>_MAX_CONCURRENT_JOBS`; 0 or unset = no cap). AI Studio allows 3 per user (docs).
 */
export const DEFAULT_MAX_CONCURRENT_JOBS: Record<string, number> = { aistudio: 3 };

export function maxConcurrentJobs(provider: string, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[`REELAY_${provider.toUpperCase()}_MAX_CONCURRENT_JOBS`];
  if (raw === undefined || raw === '') return DEFAULT_MAX_CONCURRENT_JOBS[provider] ?? 0;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    throw new Error(`REELAY_${provider.toUpperCase()}_MAX_CONCURRENT_JOBS must be a whole number ≥ 0, got ${JSON.stringify(raw)}`);
  }
  return n;
}

/**
 * Documented request limits per API key (Vivid Flow: 500 per hour and 2000 per day). Override with
 * `REELAY_<PROVIDER>_REQUESTS_PER_HOUR` / `_PER_DAY` (0 = no limit of that kind) or set the rate directly
 * with `REELAY_<PROVIDER>_REQUESTS_PER_SECOND`.
 */
export const DEFAULT_REQUEST_LIMITS: Record<string, { perHour?: number; perDay?: number }> = {
  vividflow: { perHour: 500, perDay: 2000 },
};

/** Providers whose activities run on a task queue of their own, so the server can pace them. */
export const RATE_LIMITED_PROVIDERS = ['vividflow'] as const;

function nonNegative(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a number ≥ 0, got ${JSON.stringify(raw)}`);
  return n;
}

/**
 * Requests per second a provider's activities may start, across every worker: the server enforces it
 * on the provider's task queue. A daily limit is spread evenly over the day (2000/day = one request every
 * 43 s), which is what keeps a batch that runs for days under it. Undefined = unpaced.
 */
export function providerRequestsPerSecond(provider: string, env: NodeJS.ProcessEnv = process.env): number | undefined {
  const p = provider.toUpperCase();
  const direct = nonNegative(env, `REELAY_${p}_REQUESTS_PER_SECOND`);
  if (direct !== undefined) return direct > 0 ? direct : undefined;
  const defaults = DEFAULT_REQUEST_LIMITS[provider] ?? {};
  const perHour = nonNegative(env, `REELAY_${p}_REQUESTS_PER_HOUR`) ?? defaults.perHour ?? 0;
  const perDay = nonNegative(env, `REELAY_${p}_REQUESTS_PER_DAY`) ?? defaults.perDay ?? 0;
  const rates = [perHour > 0 ? perHour / 3600 : Infinity, perDay > 0 ? perDay / 86_400 : Infinity];
  const rate = Math.min(...rates);
  return Number.isFinite(rate) ? rate : undefined;
}

/**
 * How many workflow runs a worker keeps in memory between their workflow tasks
 * (`REELAY_MAX_CACHED_WORKFLOWS`). A cached waiting pipeline costs about 1.5 MiB of worker memory; one
 * that was evicted is replayed from its history at its next poll (tens of ms of CPU). Unset: the SDK's
 * default, from the heap limit (about 2,300 runs, 4 GiB of RSS, with Node's default heap on a 24 GiB
 * machine): set it lower to bound a worker's memory when thousands of pipelines wait at once
 * (docs/performance.md). 0 turns the cache off.
 */
export function maxCachedWorkflows(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env.REELAY_MAX_CACHED_WORKFLOWS;
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n)) {
    throw new Error(`REELAY_MAX_CACHED_WORKFLOWS must be a whole number ≥ 0, got ${JSON.stringify(raw)}`);
  }
  return n;
}
