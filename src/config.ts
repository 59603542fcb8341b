import fs from 'node:fs';
import path from 'node:path';
import type { LogLevel } from '@temporalio/common';
import { z } from 'zod';
import { payloadKeysFromEnv, type PayloadKeys } from './codec/keys';
import { PROVIDER_ENV, providerSettingsFromEnv, type ProviderSettings } from './providers/config';
import { DEFAULT_RECLAIM_CHECK_MS } from './contract/limiter';
import type { ProviderId } from './providers/errors';
import { PACED_PROVIDERS, providerLimits } from './pipelines/registry';
import { readStorageSettings, type StorageSettings } from './storage/config';
import { loadTemporalSettings, type TemporalSettings } from './temporal-config';
import { parseWebhookSecret, type WebhookKey } from './webhooks/signature';

export type { TemporalSettings } from './temporal-config';
export type { ProviderSettings } from './providers/config';

/**
 * Reelay's configuration, read from the environment once, when a worker or the CLI starts, into one typed
 * object (`loadConfig`). Every bad value is reported at once, each naming its variable and what it
 * accepts, in one ConfigError (the CLI prints it and exits 2), so a typo stops the worker at start rather
 * than failing an activity twenty times. A missing provider API key is not a start-up error: a worker may
 * serve only some providers, and the first call that needs the key fails with a ProviderConfigError.
 */

/** Read `.env` from the working directory once, without overriding what the environment already says. */
let envLoaded = false;
export function loadDotEnv(file = path.resolve(process.cwd(), '.env')): void {
  if (envLoaded) return;
  envLoaded = true;
  if (fs.existsSync(file)) process.loadEnvFile(file);
}

/** Every bad configuration value at once, one line each; the CLI prints the message and exits 2. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration (fix and start again):\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

export const DEFAULT_TASK_QUEUE = 'reelay';
export const DEFAULT_TEMPORAL_UI_URL = 'http://localhost:8233';

/** `REELAY_TASK_QUEUE`, or `reelay`. */
export function taskQueue(env: NodeJS.ProcessEnv = process.env): string {
  return env.REELAY_TASK_QUEUE?.trim() || DEFAULT_TASK_QUEUE;
}

/**
 * `REELAY_OUTPUT_DIR`, or `./output`, absolute. When outputs go to an object store (an `s3://` value
 * here or in REELAY_OUTPUT_URL, see src/storage/config.ts), this is the local default `./output`.
 */
export function outputDir(env: NodeJS.ProcessEnv = process.env): string {
  const raw = env.REELAY_OUTPUT_DIR?.trim();
  return path.resolve(raw && !/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : 'output');
}

/** Project-local state (dev server SQLite file, demo logs): `REELAY_STATE_DIR`, or `./.reelay`. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.REELAY_STATE_DIR?.trim() || '.reelay');
}

/** Base of the Temporal UI links Reelay prints: `REELAY_TEMPORAL_UI_URL`, or the dev server's UI. */
export function temporalUiUrl(env: NodeJS.ProcessEnv = process.env): string {
  return (env.REELAY_TEMPORAL_UI_URL?.trim() || DEFAULT_TEMPORAL_UI_URL).replace(/\/+$/, '');
}

export function workflowUiLink(settings: Pick<TemporalSettings, 'uiUrl' | 'namespace'>, workflowId: string, runId?: string): string {
  const base = `${settings.uiUrl}/namespaces/${encodeURIComponent(settings.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${encodeURIComponent(runId)}/history` : base;
}

const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'] as const satisfies readonly LogLevel[];
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** What the Temporal client side needs: where Temporal is, the task queue starters use, the payload keys. */
export interface ReelayClientConfig {
  temporal: TemporalSettings;
  taskQueue: string;
  /** Keys for payload encryption (REELAY_PAYLOAD_KEY …, see src/codec/keys.ts); undefined = off. */
  payloadKeys: PayloadKeys | undefined;
}

/** Everything a worker and the CLI use, parsed once. */
export interface ReelayConfig extends ReelayClientConfig {
  outputDir: string;
  /** Where outputs go (REELAY_OUTPUT_URL / REELAY_OUTPUT_DIR) and how the S3 store is reached (REELAY_S3_*). */
  storage: StorageSettings;
  stateDir: string;
  /** REELAY_LOG_LEVEL; undefined = the command's default. */
  logLevel: LogLevel | undefined;
  /** REELAY_LOG_FORMAT: `text` (default) or `json`, one object per line (src/ops/logging.ts). */
  logFormat: LogFormat;
  /**
   * Runs a worker keeps in memory between their workflow tasks (`REELAY_MAX_CACHED_WORKFLOWS`). A cached
   * waiting pipeline costs about 1.5 MiB of worker memory; one that was evicted is replayed from its
   * history at its next poll (tens of ms of CPU). Undefined: the SDK's default, from the heap limit (about
   * 2,300 runs, 4 GiB of RSS, with Node's default heap on a 24 GiB machine): set it lower to bound a
   * worker's memory when thousands of pipelines wait at once (docs/performance.md). 0 turns the cache off.
   */
  maxCachedWorkflows: number | undefined;
  /**
   * REELAY_SHUTDOWN_GRACE: after SIGTERM the worker stops polling and lets running activities finish this
   * long, then cancels them (a download keeps its part for the next attempt to resume).
   */
  shutdownGraceMs: number;
  /**
   * Worker Versioning (REELAY_DEPLOYMENT_NAME and REELAY_BUILD_ID, both or neither): the worker joins that
   * Worker Deployment Version. Pipelines are pinned to the version they started on; the batch, the
   * limiter and webhook deliveries move to the current version (docs/deploying.md).
   */
  deployment: { name: string; buildId: string } | undefined;
  /** A prebuilt workflow bundle (REELAY_WORKFLOW_BUNDLE); otherwise the worker bundles at start. */
  workflowBundlePath: string | undefined;
  /** Bearer token `reelay codec-server` requires (REELAY_CODEC_TOKEN). */
  codecToken: string | undefined;
  /** `host:port` of the worker's /metrics, /healthz and /readyz (REELAY_METRICS_ADDR); undefined = off. */
  metricsAddr: string | undefined;
  providers: { [P in ProviderId]: ProviderSettings & ProviderLimits };
  webhooks: WebhookSettings;
  /**
   * REELAY_LIMITER_RECLAIM_CHECK_SECONDS: while any job slot is held, the provider limiter asks Temporal this
   * often whether each holder's run is still open, and takes back the slots of closed ones (default 60).
   */
  limiterReclaimCheckMs: number;
}

/** The longest reclaim check interval accepted: an hour (a terminated holder's slot comes back within it). */
export const MAX_LIMITER_RECLAIM_CHECK_SECONDS = 3600;

/** How this worker delivers completion webhooks (docs/webhooks.md). */
export interface WebhookSettings {
  /** Signing keys, current first (REELAY_WEBHOOK_SECRET, then REELAY_WEBHOOK_OLD_SECRETS); empty = none configured. */
  keys: WebhookKey[];
  /** REELAY_WEBHOOK_ALLOW_PRIVATE: deliver to loopback and private addresses too (default false; `reelay dev`, the demo and tests turn it on). */
  allowPrivate: boolean;
  /** REELAY_WEBHOOK_RETRY_INITIAL_SECONDS: the first wait after a refused delivery, doubled each time up to an hour (default 5). */
  retryInitialMs: number;
}

export const WEBHOOK_RETRY_INITIAL_MS = 5_000;

export interface ProviderLimits {
  /** Jobs in flight at once across every worker of a task queue; 0 = no cap. */
  maxConcurrentJobs: number;
  /**
   * Requests per second the provider's activities may start, across every worker (the server enforces it
   * on the provider's task queue); only for the registry's PACED_PROVIDERS. A daily limit is spread evenly over the
   * day (2000/day = one request every 43 s), which keeps a batch that runs for days under it. Undefined =
   * unpaced.
   */
  requestsPerSecond: number | undefined;
}

/** Collects problems, one line each, naming the variable and what it accepts. */
class Problems {
  readonly lines: string[] = [];

  /** The variable parsed by `schema`, or `undefined` when unset or empty; a bad value is recorded. */
  read<T>(env: NodeJS.ProcessEnv, name: string, schema: z.ZodType<T>, accepts: string, { secret = false } = {}): T | undefined {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return undefined;
    const parsed = schema.safeParse(raw.trim());
    if (parsed.success) return parsed.data;
    this.add(`${name}${secret ? '' : `=${JSON.stringify(raw)}`}: ${accepts}`);
    return undefined;
  }

  add(line: string): void {
    this.lines.push(line);
  }

  throwIfAny(): void {
    if (this.lines.length) throw new ConfigError(this.lines);
  }
}

/**
 * The largest job-slot cap accepted: far beyond any provider's plan, and a limiter workflow holding more
 * slots than this would outgrow the history budget it continues-as-new within.
 */
export const MAX_CONCURRENT_JOBS_CAP = 10_000;
/** The fastest request pace accepted (the server paces a task queue; beyond this it is a typo, not a plan). */
export const MAX_REQUESTS_PER_SECOND = 1000;
const RATE_UNIT_SECONDS = { SECOND: 1, HOUR: 3600, DAY: 86_400 } as const;

const WHOLE_NUMBER = z
  .string()
  .regex(/^\d+$/)
  .transform(Number)
  .pipe(z.number().int().max(Number.MAX_SAFE_INTEGER));
const NON_NEGATIVE_NUMBER = z
  .string()
  .regex(/^(\d+\.?\d*|\.\d+)$/)
  .transform(Number)
  .pipe(z.number().finite().nonnegative());
export const HTTP_URL = z.string().refine((v) => {
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
});
/** `90s`, `3m`, `1h`, `500ms`, or plain seconds (`120`): a duration in milliseconds. */
const DURATION = z
  .string()
  .trim()
  .regex(/^(\d+\.?\d*|\.\d+)(ms|s|m|h)?$/)
  .transform((v) => {
    const [, n, unit] = /^([\d.]+)(ms|s|m|h)?$/.exec(v)!;
    return Math.round(Number(n) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(unit ?? 's') as 'ms' | 's' | 'm' | 'h']);
  });
/** A Worker Deployment name or build id: no '/' (the CLI joins them as `name.buildId`), nothing invisible. */
const DEPLOYMENT_PART = z.string().trim().regex(/^[A-Za-z0-9._-]{1,200}$/);
/** A REELAY_SHUTDOWN_GRACE-style duration in milliseconds, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const parsed = DURATION.safeParse(text);
  return parsed.success ? parsed.data : undefined;
}
/** How long a stopping worker lets running activities finish before it cancels them. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 3 * 60_000;
const LOG_LEVEL = z
  .string()
  .transform((v) => v.toUpperCase())
  .pipe(z.enum(LOG_LEVELS));
const NON_BLANK = z.string().min(1);
/** `host:port` or `[v6]:port`, port 1–65535 (or 0: any free port). */
export const LISTEN_ADDRESS = z.string().refine((v) => {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(v);
  return m !== null && Number(m[2]) <= 65535;
});
const BOOLEAN = z
  .string()
  .transform((v) => v.toLowerCase())
  .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off']))
  .transform((v) => ['true', '1', 'yes', 'on'].includes(v));

/** The webhook settings; a bad secret is reported naming its variable, never echoing the value. */
function readWebhooks(env: NodeJS.ProcessEnv, problems: Problems): WebhookSettings {
  const keys: WebhookKey[] = [];
  const secret = env.REELAY_WEBHOOK_SECRET?.trim();
  if (secret) {
    try {
      keys.push(parseWebhookSecret(secret));
    } catch (err) {
      problems.add(`REELAY_WEBHOOK_SECRET: ${(err as Error).message}`);
    }
  }
  const old = env.REELAY_WEBHOOK_OLD_SECRETS?.trim();
  if (old) {
    if (!secret) problems.add('REELAY_WEBHOOK_OLD_SECRETS: is set without REELAY_WEBHOOK_SECRET (the current secret signs first; old ones only while receivers rotate)');
    old.split(/[\s,]+/).filter(Boolean).forEach((one, i) => {
      try {
        keys.push(parseWebhookSecret(one));
      } catch (err) {
        problems.add(`REELAY_WEBHOOK_OLD_SECRETS (secret #${i + 1}): ${(err as Error).message}`);
      }
    });
  }
  const allowPrivate = problems.read(env, 'REELAY_WEBHOOK_ALLOW_PRIVATE', BOOLEAN, 'must be true or false (deliver webhooks to loopback and private addresses)') ?? false;
  const initialSeconds = problems.read(
    env,
    'REELAY_WEBHOOK_RETRY_INITIAL_SECONDS',
    NON_NEGATIVE_NUMBER.pipe(z.number().min(0.01).max(3600)),
    'must be a number of seconds from 0.01 to 3600 (the first wait after a refused webhook delivery)',
  );
  return { keys, allowPrivate, retryInitialMs: initialSeconds === undefined ? WEBHOOK_RETRY_INITIAL_MS : Math.round(initialSeconds * 1000) };
}

function readPayloadKeys(env: NodeJS.ProcessEnv, problems: Problems): PayloadKeys | undefined {
  try {
    return payloadKeysFromEnv(env);
  } catch (err) {
    // The codec's parser names the variable and never echoes the key.
    problems.add((err as Error).message);
    return undefined;
  }
}

function readClient(env: NodeJS.ProcessEnv, problems: Problems): ReelayClientConfig {
  const uiUrl = problems.read(env, 'REELAY_TEMPORAL_UI_URL', HTTP_URL, 'must be an http(s) URL (the Temporal UI, e.g. http://localhost:8233)');
  const temporal = loadTemporalSettings(env, problems, { uiUrl: uiUrl === undefined ? DEFAULT_TEMPORAL_UI_URL : temporalUiUrl(env) });
  return { temporal, taskQueue: taskQueue(env), payloadKeys: readPayloadKeys(env, problems) };
}

/** Whether a caller passed a configuration already loaded rather than an environment to read. */
export function isLoadedConfig(from: NodeJS.ProcessEnv | ReelayClientConfig): from is ReelayClientConfig {
  return typeof from.temporal === 'object' && from.temporal !== null;
}

/** The client side of the configuration only (what a service starting pipelines needs); throws ConfigError. */
export function loadClientConfig(env: NodeJS.ProcessEnv = process.env): ReelayClientConfig {
  const problems = new Problems();
  const config = readClient(env, problems);
  problems.throwIfAny();
  return config;
}

function readProvider<P extends ProviderId>(env: NodeJS.ProcessEnv, provider: P, problems: Problems): ProviderSettings & ProviderLimits {
  const settings = providerSettingsFromEnv(provider, env);
  const p = `REELAY_${provider.toUpperCase()}`;
  const baseUrl = problems.read(env, settings.baseUrlVar, HTTP_URL, `must be an http(s) URL (default ${settings.defaultBaseUrl})`) ?? settings.defaultBaseUrl;
  const maxConcurrentJobs =
    problems.read(
      env,
      `${p}_MAX_CONCURRENT_JOBS`,
      WHOLE_NUMBER.pipe(z.number().max(MAX_CONCURRENT_JOBS_CAP)),
      `must be a whole number from 0 to ${MAX_CONCURRENT_JOBS_CAP} (jobs in flight across all workers; 0 = no cap)`,
    ) ??
    providerLimits(provider).maxConcurrentJobs ??
    0;
  let requestsPerSecond: number | undefined;
  if ((PACED_PROVIDERS as readonly ProviderId[]).includes(provider)) {
    const rate = (unit: keyof typeof RATE_UNIT_SECONDS) => {
      const max = MAX_REQUESTS_PER_SECOND * RATE_UNIT_SECONDS[unit];
      return problems.read(
        env,
        `${p}_REQUESTS_PER_${unit}`,
        NON_NEGATIVE_NUMBER.pipe(z.number().max(max)),
        `must be a number from 0 to ${max} (requests per ${unit.toLowerCase()}; 0 = no limit of that kind)`,
      );
    };
    const direct = rate('SECOND');
    const defaults = providerLimits(provider);
    const perHour = rate('HOUR') ?? defaults.requestsPerHour ?? 0;
    const perDay = rate('DAY') ?? defaults.requestsPerDay ?? 0;
    if (direct !== undefined) requestsPerSecond = direct > 0 ? direct : undefined;
    else {
      const slowest = Math.min(perHour > 0 ? perHour / 3600 : Infinity, perDay > 0 ? perDay / 86_400 : Infinity);
      requestsPerSecond = Number.isFinite(slowest) ? slowest : undefined;
    }
  }
  return { ...settings, baseUrl, maxConcurrentJobs, requestsPerSecond };
}

/** Reads and checks every setting a worker and the CLI use; throws one ConfigError listing every bad value. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ReelayConfig {
  const problems = new Problems();
  const client = readClient(env, problems);
  problems.read(env, 'REELAY_TASK_QUEUE', NON_BLANK, 'must be a task queue name');
  const logLevel = problems.read(env, 'REELAY_LOG_LEVEL', LOG_LEVEL, `must be one of ${LOG_LEVELS.join(', ')}`);
  const logFormat = problems.read(env, 'REELAY_LOG_FORMAT', z.string().transform((v) => v.toLowerCase()).pipe(z.enum(LOG_FORMATS)), `must be ${LOG_FORMATS.join(' or ')}`) ?? 'text';
  const maxCachedWorkflows = problems.read(env, 'REELAY_MAX_CACHED_WORKFLOWS', WHOLE_NUMBER, 'must be a whole number ≥ 0 (workflow runs kept in memory; 0 = no cache)');
  const shutdownGraceMs = problems.read(env, 'REELAY_SHUTDOWN_GRACE', DURATION, 'must be a duration such as 90s, 3m or 500ms (plain numbers are seconds)');
  const deploymentName = problems.read(env, 'REELAY_DEPLOYMENT_NAME', DEPLOYMENT_PART, 'must be a Worker Deployment name: letters, digits, ".", "_" or "-", at most 200 (set REELAY_BUILD_ID with it)');
  const buildId = problems.read(env, 'REELAY_BUILD_ID', DEPLOYMENT_PART, 'must be a build id: letters, digits, ".", "_" or "-", at most 200 (set REELAY_DEPLOYMENT_NAME with it)');
  // One set without the other (a bad value was named above already).
  const given = (name: string) => Boolean(env[name]?.trim());
  if (given('REELAY_DEPLOYMENT_NAME') !== given('REELAY_BUILD_ID')) {
    const missing = given('REELAY_DEPLOYMENT_NAME') ? 'REELAY_BUILD_ID' : 'REELAY_DEPLOYMENT_NAME';
    problems.add(`${missing}: must be set too: Worker Versioning takes REELAY_DEPLOYMENT_NAME and REELAY_BUILD_ID together`);
  }
  const workflowBundlePath = problems.read(
    env,
    'REELAY_WORKFLOW_BUNDLE',
    z.string().refine((f) => fs.existsSync(f) && fs.statSync(f).isFile()),
    'must name an existing workflow bundle file (or be unset: the worker bundles at start)',
  );
  const providers = Object.fromEntries(
    (Object.keys(PROVIDER_ENV) as ProviderId[]).map((id) => [id, readProvider(env, id, problems)]),
  ) as ReelayConfig['providers'];
  const storage = readStorageSettings(env, problems);
  const metricsAddr = problems.read(env, 'REELAY_METRICS_ADDR', LISTEN_ADDRESS, 'must be host:port (e.g. 0.0.0.0:9464) to serve /metrics, /healthz and /readyz, or unset for none');
  const webhooks = readWebhooks(env, problems);
  const reclaimCheckSeconds = problems.read(
    env,
    'REELAY_LIMITER_RECLAIM_CHECK_SECONDS',
    WHOLE_NUMBER.pipe(z.number().min(1).max(MAX_LIMITER_RECLAIM_CHECK_SECONDS)),
    `must be a whole number of seconds from 1 to ${MAX_LIMITER_RECLAIM_CHECK_SECONDS} (how often the limiter looks for slots held by closed runs)`,
  );
  problems.throwIfAny();
  return {
    ...client,
    outputDir: storage.output.kind === 'local' ? storage.output.path : outputDir(env),
    storage,
    stateDir: stateDir(env),
    logLevel,
    logFormat,
    maxCachedWorkflows,
    shutdownGraceMs: shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS,
    deployment: deploymentName !== undefined && buildId !== undefined ? { name: deploymentName, buildId } : undefined,
    workflowBundlePath: workflowBundlePath === undefined ? undefined : path.resolve(workflowBundlePath),
    codecToken: env.REELAY_CODEC_TOKEN?.trim() || undefined,
    metricsAddr,
    providers,
    webhooks,
    limiterReclaimCheckMs: reclaimCheckSeconds !== undefined ? reclaimCheckSeconds * 1000 : DEFAULT_RECLAIM_CHECK_MS,
  };
}

/**
 * Only the storage settings (REELAY_OUTPUT_URL / REELAY_OUTPUT_DIR, REELAY_S3_*), checked like loadConfig
 * checks them: what a service starting batches or minting output links needs. Throws ConfigError.
 */
export function loadStorageConfig(env: NodeJS.ProcessEnv = process.env): StorageSettings {
  const problems = new Problems();
  const storage = readStorageSettings(env, problems);
  problems.throwIfAny();
  return storage;
}

/** The job-slot cap `REELAY_<PROVIDER>_MAX_CONCURRENT_JOBS` sets for a provider (0 = none). */
export function maxConcurrentJobs(config: Pick<ReelayConfig, 'providers'>, provider: string): number {
  return Object.hasOwn(config.providers, provider) ? config.providers[provider as ProviderId].maxConcurrentJobs : 0;
}

export type { Problems };
