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
